"""Re-seal the state store under a new master key, in one write transaction.

What depends on the master key in the state store, and what a rotation does with it:

- ``access_key_secrets``: each secret is opened with the old ``SecretBox`` and sealed with
  the new one (same associated data), and its lookup hash is recomputed with the new
  lookup key. Every access key keeps working with the secret its holder has.
- ``signing_keys``: each private key is opened and sealed again; ``kid`` and public key
  stay, so access tokens already issued still verify.
- ``refresh_tokens``: stored only as keyed hashes of the token, which the new key cannot
  recompute. They are deleted, and every session still open is ended with the reason
  ``master_key_rotated`` (the web console's sign-ins are sessions too): their access
  tokens stop at once and the users sign in again.
  Access keys minted with those tokens are *not* revoked: they have their own secrets,
  re-sealed above, and nothing about them was exposed.
- ``meta.master_key_fingerprint`` becomes the new key's: a gateway started with the old
  key afterwards refuses to start instead of failing every request.

Passwords and OAuth client secrets are scrypt hashes, independent of the master key.

The body reads everything it rewrites inside the transaction, so on PostgreSQL a
concurrent write conflicts and the body runs again (serializable isolation); no row can be
left sealed under the old key.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.identity.crypto import Keyring
from gateway.identity.db import Tx
from gateway.identity.rows import access_key_aad, as_bytes
from gateway.identity.schema import FINGERPRINT
from gateway.identity.signing_keys import signing_key_aad

__all__ = ["ROTATED_REASON", "Rekeyed", "rekey"]

ROTATED_REASON = "master_key_rotated"
"""``oauth_sessions.revoked_reason`` of the sessions a rotation ended."""


@dataclass(frozen=True, slots=True)
class Rekeyed:
    """What one rotation rewrote."""

    access_key_secrets: int
    signing_keys: int
    sessions_ended: int
    refresh_tokens_dropped: int


async def rekey(tx: Tx, old: Keyring, new: Keyring, *, now_us: int) -> Rekeyed:
    """Rewrite every value sealed or hashed under ``old`` for ``new`` (see the module)."""
    secrets = await tx.fetch_all(
        "SELECT lookup_hash, key_id, secret_enc FROM access_key_secrets" + tx.for_update
    )
    for lookup, key_id, sealed in secrets:
        aad = access_key_aad(str(key_id))
        secret = old.box.open(as_bytes(sealed), aad=aad)
        await tx.execute(
            "UPDATE access_key_secrets SET lookup_hash = ?, secret_enc = ? WHERE lookup_hash = ?",
            (new.lookup_hash(secret), new.box.seal(secret, aad=aad), as_bytes(lookup)),
        )
    keys = await tx.fetch_all("SELECT kid, private_enc FROM signing_keys" + tx.for_update)
    for kid, sealed in keys:
        aad = signing_key_aad(str(kid))
        pem = old.box.open(as_bytes(sealed), aad=aad)
        await tx.execute(
            "UPDATE signing_keys SET private_enc = ? WHERE kid = ?",
            (new.box.seal(pem, aad=aad), kid),
        )
    ended = await tx.execute(
        "UPDATE oauth_sessions SET revoked_at = ?, revoked_reason = ? WHERE revoked_at IS NULL",
        (now_us, ROTATED_REASON),
    )
    dropped = await tx.execute("DELETE FROM refresh_tokens")
    changed = await tx.execute(
        "UPDATE meta SET value = ? WHERE name = ? AND value = ?",
        (new.fingerprint, FINGERPRINT, old.fingerprint),
    )
    if changed != 1:
        raise RuntimeError("the state store's master-key fingerprint is not the old key's")
    return Rekeyed(len(secrets), len(keys), ended, dropped)
