"""The bootstrap root key (``NFYIO_ROOT_ACCESS_KEY`` / ``NFYIO_ROOT_SECRET_KEY``).

The environment is the source of truth: at every start the key with that id is made an
unrestricted, unexpiring, unrevoked ``admin`` key of the system account whose only secret
is the one given, and a root key left over from an earlier id is revoked (with the keys it
minted).
"""

from __future__ import annotations

from datetime import datetime

from gateway.identity.crypto import Keyring
from gateway.identity.db import Database, IntegrityError, Tx
from gateway.identity.lineage import revoke_minted
from gateway.identity.models import to_micros
from gateway.identity.rows import KEY_COLUMNS, insert_secret, json_list
from gateway.principal import SYSTEM_ACCOUNT_ID
from gateway.scopes import ADMIN

__all__ = ["DuplicateKeyError", "in_sync", "sync"]

ROOT_NAME = "root"
_ADMIN_JSON = json_list([ADMIN])
_KEY_ROW = (
    "SELECT kind, scopes, buckets, owner, expires_at, revoked_at, account_id"
    " FROM access_keys WHERE id = ?"
)
_HASHES = "SELECT lookup_hash FROM access_key_secrets WHERE key_id = ?"
_OTHER_ROOTS = "SELECT id FROM access_keys WHERE kind = 'root' AND id != ? AND revoked_at IS NULL"


class DuplicateKeyError(ValueError):
    """An explicit key id (or secret) is already used by another key."""


async def in_sync(db: Database | Tx, keyring: Keyring, key_id: str, secret: str) -> bool:
    """Whether the database already matches the environment (then nothing is written)."""
    row = await db.fetch_one(_KEY_ROW, (key_id,))
    if row is None or tuple(row) != (
        "root",
        _ADMIN_JSON,
        None,
        None,
        None,
        None,
        SYSTEM_ACCOUNT_ID,
    ):
        return False
    hashes = [bytes(r[0]) for r in await db.fetch_all(_HASHES, (key_id,))]
    if hashes != [keyring.lookup_hash(secret)]:
        return False
    return not await db.fetch_all(_OTHER_ROOTS, (key_id,))


async def sync(tx: Tx, keyring: Keyring, key_id: str, secret: str, now: datetime) -> list[str]:
    """Make the database match the environment inside the caller's write transaction.
    Returns the ids of old root keys it revoked."""
    if await in_sync(tx, keyring, key_id, secret):
        return []
    when = to_micros(now)
    others = [str(row[0]) for row in await tx.fetch_all(_OTHER_ROOTS, (key_id,))]
    for other in others:
        await tx.execute("UPDATE access_keys SET revoked_at = ? WHERE id = ?", (when, other))
        await tx.execute("DELETE FROM access_key_secrets WHERE key_id = ?", (other,))
        await revoke_minted(tx, "key", other, when)
    await tx.execute(
        f"INSERT INTO access_keys ({KEY_COLUMNS})"
        " VALUES (?, ?, 'root', ?, NULL, NULL, ?, NULL, NULL, NULL, ?)"
        " ON CONFLICT (id) DO UPDATE SET kind = 'root', scopes = excluded.scopes,"
        " buckets = NULL, owner = NULL, expires_at = NULL, revoked_at = NULL,"
        " account_id = excluded.account_id",
        (key_id, ROOT_NAME, _ADMIN_JSON, when, SYSTEM_ACCOUNT_ID),
    )
    await tx.execute("DELETE FROM access_key_secrets WHERE key_id = ?", (key_id,))
    try:
        await insert_secret(tx, keyring, key_id, secret, now)
    except IntegrityError:
        raise DuplicateKeyError("the root secret is already the secret of another key") from None
    return others
