"""RS256 signing keys for access tokens, private halves sealed under the master key.

- Exactly one key is **active** (``retired_at IS NULL``): it signs new tokens. The first is
  made on first start (:meth:`SigningKeyStore.ensure_active`).
- :meth:`SigningKeyStore.rotate` adds a new active key and retires the old one with
  ``serve_until = now + overlap`` (the longest access-token lifetime plus leeway), so the
  JWKS keeps publishing it and its tokens keep verifying until they have all expired.
- A key past ``serve_until`` is neither published nor accepted; :meth:`prune` deletes such
  rows and :meth:`remove` deletes a key at once (a compromised key).

Validity is read from the database on every call (one indexed SELECT), so a rotation or
removal by the CLI applies to every worker's (and every host's) next request. Only parsed
key objects are cached, by ``kid``: a kid's key material never changes.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.identity.columns import as_int, as_opt_time, as_str, as_time, new_id
from gateway.identity.crypto import Keyring
from gateway.identity.db import Database, IntegrityError, Tx
from gateway.identity.models import to_micros, utcnow
from gateway.identity.rows import as_bytes
from gateway.identity.schema import require_fingerprint

__all__ = ["RSA_KEY_BITS", "SigningKey", "SigningKeyStore", "signing_key_aad"]

RSA_KEY_BITS = 2048
# Like every other id: a prefix, so a kid never begins with "-" (which a command line
# would read as an option: ``nfyio-gateway jwt remove <kid>``).
KID_PREFIX = "kid_"
_ALG = "RS256"


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    created_at: datetime
    retired_at: datetime | None
    serve_until: datetime | None
    public_jwk: dict[str, Any]

    @property
    def is_active(self) -> bool:
        return self.retired_at is None


def signing_key_aad(kid: str) -> bytes:
    """Associated data of a signing key's sealed private key (table, column, kid)."""
    return b"signing_keys.private_enc\x00" + kid.encode("utf-8")


def _generate() -> tuple[str, str, str]:
    """A new RSA key: (kid, PKCS#8 PEM private key, public JWK as JSON)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    kid = new_id(KID_PREFIX)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": _ALG})
    return kid, pem, json.dumps(jwk, sort_keys=True, separators=(",", ":"))


class SigningKeyStore:
    """JWT signing keys; reached as ``IdentityStore.signing_keys``."""

    def __init__(self, db: Database, keyring: Keyring) -> None:
        self._db = db
        self._keyring = keyring
        self._private: dict[str, rsa.RSAPrivateKey] = {}
        self._public: dict[str, rsa.RSAPublicKey] = {}

    # --- reads ------------------------------------------------------------------------

    async def active(self) -> tuple[str, rsa.RSAPrivateKey] | None:
        """The kid and private key that sign new tokens."""
        row = await self._db.fetch_one(
            "SELECT kid, private_enc FROM signing_keys WHERE algorithm = ? AND retired_at IS NULL",
            (_ALG,),
        )
        if row is None:
            return None
        kid = as_str(row[0])
        key = self._private.get(kid)
        if key is None:
            pem = self._keyring.box.open(as_bytes(row[1]), aad=signing_key_aad(kid))
            loaded = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
            if not isinstance(loaded, rsa.RSAPrivateKey):
                raise TypeError("signing key is not RSA")
            key = self._private[kid] = loaded
        return kid, key

    async def public_key(self, kid: str, now: datetime) -> rsa.RSAPublicKey | None:
        """The verification key for ``kid`` if it is ours and still valid at ``now``."""
        row = await self._db.fetch_one(
            "SELECT public_jwk FROM signing_keys WHERE kid = ? AND algorithm = ?"
            " AND (retired_at IS NULL OR serve_until > ?)",
            (kid, _ALG, to_micros(now)),
        )
        if row is None:
            return None
        key = self._public.get(kid)
        if key is None:
            loaded = jwt.algorithms.RSAAlgorithm.from_jwk(as_str(row[0]))
            if not isinstance(loaded, rsa.RSAPublicKey):
                raise TypeError("signing key is not RSA")
            key = self._public[kid] = loaded
        return key

    async def all(self) -> list[SigningKey]:
        rows = await self._db.fetch_all(
            "SELECT kid, created_at, retired_at, serve_until, public_jwk FROM signing_keys"
            " ORDER BY created_at, kid",
            (),
        )
        return [
            SigningKey(
                kid=as_str(r[0]),
                created_at=as_time(r[1]),
                retired_at=as_opt_time(r[2]),
                serve_until=as_opt_time(r[3]),
                public_jwk=json.loads(as_str(r[4])),
            )
            for r in rows
        ]

    async def jwks(self, now: datetime) -> list[dict[str, Any]]:
        """Public JWKs of the active key and of retired keys still in their overlap."""
        return [
            k.public_jwk
            for k in await self.all()
            if k.retired_at is None or (k.serve_until is not None and k.serve_until > now)
        ]

    # --- writes -----------------------------------------------------------------------

    async def ensure_active(self, *, now: datetime | None = None) -> str:
        """The active kid, generating the first key if there is none. Racing workers
        each generate a key, but only one is inserted."""
        current = await self.active()
        if current is not None:
            return current[0]
        kid, pem, jwk = await asyncio.to_thread(_generate)
        when = to_micros(now or utcnow())

        async def insert(tx: Tx) -> str:
            row = await tx.fetch_one(
                "SELECT kid FROM signing_keys WHERE algorithm = ? AND retired_at IS NULL", (_ALG,)
            )
            if row is not None:
                return as_str(row[0])
            await self._insert(tx, kid, pem, jwk, when)
            return kid

        try:
            return await self._db.transaction(insert)
        except IntegrityError:
            # Another host inserted its first key between our read and our write.
            current = await self.active()
            if current is None:
                raise
            return current[0]

    async def rotate(self, *, overlap: timedelta, now: datetime | None = None) -> str:
        """Add a new active key; the previous one is served for ``overlap`` more."""
        if overlap < timedelta(0):
            raise ValueError("overlap must not be negative")
        kid, pem, jwk = await asyncio.to_thread(_generate)
        moment = now or utcnow()
        when = to_micros(moment)

        async def swap(tx: Tx) -> str:
            await tx.execute(
                "UPDATE signing_keys SET retired_at = ?, serve_until = ?"
                " WHERE algorithm = ? AND retired_at IS NULL",
                (when, to_micros(moment + overlap), _ALG),
            )
            await self._insert(tx, kid, pem, jwk, when)
            return kid

        return await self._db.transaction(swap)

    async def prune(self, *, now: datetime | None = None) -> list[str]:
        """Delete retired keys whose overlap has ended; return their kids."""
        when = to_micros(now or utcnow())

        async def delete(tx: Tx) -> list[str]:
            rows = await tx.fetch_all(
                "DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND serve_until <= ?"
                " RETURNING kid",
                (when,),
            )
            return sorted(as_str(r[0]) for r in rows)

        return await self._db.transaction(delete)

    async def remove(self, kid: str) -> bool:
        """Delete a retired key now: tokens it signed stop verifying. The active key
        cannot be removed (rotate first)."""

        async def delete(tx: Tx) -> bool:
            changed = await tx.execute(
                "DELETE FROM signing_keys WHERE kid = ? AND retired_at IS NOT NULL", (kid,)
            )
            return changed == 1

        return await self._db.transaction(delete)

    async def _insert(self, tx: Tx, kid: str, pem: str, jwk: str, when: int) -> None:
        await require_fingerprint(tx, self._keyring.fingerprint)
        await tx.execute(
            "INSERT INTO signing_keys (kid, algorithm, private_enc, public_jwk, created_at,"
            " retired_at, serve_until) VALUES (?, ?, ?, ?, ?, NULL, NULL)",
            (kid, _ALG, self._keyring.box.seal(pem, aad=signing_key_aad(kid)), jwk, as_int(when)),
        )
