"""OAuth clients (confidential only): name, scrypt secret hash, grant types, scopes.

The secret (``cs_...``, 240 random bits) is returned once by :meth:`ClientStore.create`.
Deleting a client deletes its sessions, so its refresh and access tokens stop at once, and
revokes the access keys minted with them.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from gateway.identity import key_rules
from gateway.identity.columns import as_str, as_time, json_strs, new_id
from gateway.identity.crypto import Keyring, hash_password, verify_password
from gateway.identity.db import Database, Tx
from gateway.identity.lineage import revoke_minted
from gateway.identity.models import to_micros, utcnow
from gateway.identity.quota import check_room
from gateway.identity.rows import decode_cursor, encode_cursor, json_list
from gateway.principal import SYSTEM_ACCOUNT_ID

__all__ = [
    "CLIENT_ID_PREFIX",
    "CONSOLE_CLIENT_ID",
    "DEFAULT_GRANT_TYPES",
    "GRANT_TYPES",
    "ClientStore",
    "OAuthClient",
    "validate_grant_types",
]

CONSOLE_CLIENT_ID = "cl_console"
"""The gateway's own first-party client (the web console, ``ClientStore.ensure``). It
belongs to the system account but signs in the users of every account: the token's
account is the user's."""

CLIENT_ID_PREFIX = "cl_"
CLIENT_SECRET_PREFIX = "cs_"  # noqa: S105 - a prefix, not a secret
GRANT_TYPES = ("password", "refresh_token", "client_credentials")
DEFAULT_GRANT_TYPES = ("password", "refresh_token")
_COLUMNS = "id, name, grant_types, scopes, created_at, account_id"
_MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class OAuthClient:
    id: str
    name: str
    grant_types: tuple[str, ...]
    scopes: frozenset[str]
    created_at: datetime
    account_id: str = SYSTEM_ACCOUNT_ID

    def allows_grant(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


def _from_row(row: Sequence[object]) -> OAuthClient:
    return OAuthClient(
        id=as_str(row[0]),
        name=as_str(row[1]),
        grant_types=json_strs(row[2]),
        scopes=frozenset(json_strs(row[3])),
        created_at=as_time(row[4]),
        account_id=as_str(row[5]),
    )


def validate_grant_types(grant_types: Iterable[str]) -> tuple[str, ...]:
    if isinstance(grant_types, str):
        raise TypeError("grant_types must be a collection, not one string")
    result = tuple(dict.fromkeys(grant_types))
    if any(g not in GRANT_TYPES for g in result):
        # Never the value: the API answers this message (a pasted secret stays unsaid).
        raise ValueError(f"grant_types must list only: {', '.join(GRANT_TYPES)}")
    if not result:
        raise ValueError("a client needs at least one grant type")
    if result == ("refresh_token",):
        raise ValueError("refresh_token alone is useless: add password")
    return result


@functools.cache
def _dummy_hash() -> str:
    return hash_password("nfyio-gateway dummy client secret for timing equalisation")


class ClientStore:
    """OAuth clients; reached as ``IdentityStore.clients``."""

    def __init__(self, db: Database, keyring: Keyring) -> None:
        self._db = db

    async def get(self, client_id: str) -> OAuthClient | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM oauth_clients WHERE id = ?", (client_id,)
        )
        return None if row is None else _from_row(row)

    async def list_page(
        self, *, account: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[OAuthClient], str | None]:
        """A page of clients in id order; ``account``: only that account's."""
        if not 1 <= limit <= _MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {_MAX_PAGE}")
        after = "" if cursor is None else decode_cursor(cursor)
        if account is None:
            rows = await self._db.fetch_all(
                f"SELECT {_COLUMNS} FROM oauth_clients WHERE id > ? ORDER BY id LIMIT ?",
                (after, limit + 1),
            )
        else:
            rows = await self._db.fetch_all(
                f"SELECT {_COLUMNS} FROM oauth_clients WHERE account_id = ? AND id > ?"
                " ORDER BY id LIMIT ?",
                (account, after, limit + 1),
            )
        page = [_from_row(row) for row in rows]
        if len(page) <= limit:
            return page, None
        return page[:limit], encode_cursor(page[limit - 1].id)

    async def authenticate(self, client_id: str, secret: str) -> OAuthClient | None:
        """The client if ``secret`` is its secret. Unknown ids cost one scrypt too."""
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS}, secret_hash FROM oauth_clients WHERE id = ?", (client_id,)
        )
        encoded = _dummy_hash() if row is None else as_str(row[-1])
        ok = await asyncio.to_thread(verify_password, secret, encoded)
        return _from_row(row) if row is not None and ok else None

    async def create(
        self,
        name: str,
        *,
        grant_types: Iterable[str] = DEFAULT_GRANT_TYPES,
        scopes: Iterable[str],
        account_id: str = SYSTEM_ACCOUNT_ID,
        most: int | None = None,
        now: datetime | None = None,
    ) -> tuple[OAuthClient, str]:
        """Register a client of ``account_id``; return it with its secret, which is never
        shown again. ``most``: the account's limit of clients
        (:mod:`gateway.identity.quota`)."""
        clean_name = key_rules.validate_name(name)
        clean_grants = validate_grant_types(grant_types)
        clean_scopes = key_rules.validate_scopes(scopes)
        secret = CLIENT_SECRET_PREFIX + secrets.token_urlsafe(30)
        secret_hash = await asyncio.to_thread(hash_password, secret)
        client_id = new_id(CLIENT_ID_PREFIX)
        when = to_micros(now or utcnow())

        async def insert(tx: Tx) -> None:
            await check_room(tx, "OAuth clients", most, account_id)
            await tx.execute(
                "INSERT INTO oauth_clients (id, name, secret_hash, grant_types, scopes,"
                " created_at, account_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    client_id,
                    clean_name,
                    secret_hash,
                    json_list(clean_grants),
                    json_list(sorted(clean_scopes)),
                    when,
                    account_id,
                ),
            )

        await self._db.transaction(insert)
        client = await self.get(client_id)
        assert client is not None
        return client, secret

    async def ensure(
        self,
        client_id: str,
        name: str,
        *,
        grant_types: Iterable[str],
        scopes: Iterable[str],
        now: datetime | None = None,
    ) -> OAuthClient:
        """The client ``client_id``, registered first if it does not exist: the gateway's
        own first-party clients (the web console). Its secret is random and told to
        nobody, so it cannot authenticate at the token endpoint; the gateway runs its
        grants in-process. Idempotent, and safe when several workers race."""
        existing = await self.get(client_id)
        if existing is not None:
            return existing
        clean_name = key_rules.validate_name(name)
        clean_grants = validate_grant_types(grant_types)
        clean_scopes = key_rules.validate_scopes(scopes)
        secret_hash = await asyncio.to_thread(
            hash_password, CLIENT_SECRET_PREFIX + secrets.token_urlsafe(30)
        )
        when = to_micros(now or utcnow())

        async def insert(tx: Tx) -> None:
            await tx.execute(
                "INSERT INTO oauth_clients (id, name, secret_hash, grant_types, scopes,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (
                    client_id,
                    clean_name,
                    secret_hash,
                    json_list(clean_grants),
                    json_list(sorted(clean_scopes)),
                    when,
                ),
            )

        await self._db.transaction(insert)
        client = await self.get(client_id)
        assert client is not None
        return client

    async def delete(self, client_id: str, *, now: datetime | None = None) -> bool:
        """Delete a client with its sessions (cascade), and revoke the access keys minted
        with its tokens (users' and its own), transitively."""
        when = to_micros(now or utcnow())

        async def remove(tx: Tx) -> bool:
            if await tx.execute("DELETE FROM oauth_clients WHERE id = ?", (client_id,)) != 1:
                return False
            await revoke_minted(tx, "client", client_id, when)
            return True

        return await self._db.transaction(remove)
