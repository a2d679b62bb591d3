"""The bootstrap root key (``NFYIO_ROOT_ACCESS_KEY`` / ``NFYIO_ROOT_SECRET_KEY``).

The environment is the source of truth: at every start the key with that id is made an
unrestricted, unexpiring, unrevoked ``admin`` key whose only secret is the one given, and
a root key left over from an earlier id is revoked.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from gateway.identity.crypto import Keyring
from gateway.identity.models import to_micros
from gateway.identity.rows import KEY_COLUMNS, insert_secret, json_list
from gateway.scopes import ADMIN

__all__ = ["DuplicateKeyError", "in_sync", "sync"]

ROOT_NAME = "root"
_ADMIN_JSON = json_list([ADMIN])


class DuplicateKeyError(ValueError):
    """An explicit key id (or secret) is already used by another key."""


def in_sync(conn: sqlite3.Connection, keyring: Keyring, key_id: str, secret: str) -> bool:
    """Whether the database already matches the environment (then nothing is written)."""
    row = conn.execute(
        "SELECT k.kind, k.scopes, k.buckets, k.owner, k.expires_at, k.revoked_at,"
        " (SELECT lower(group_concat(hex(lookup_hash))) FROM access_key_secrets"
        "  WHERE key_id = k.id),"
        " (SELECT count(*) FROM access_keys WHERE kind = 'root' AND id != k.id"
        "  AND revoked_at IS NULL)"
        " FROM access_keys AS k WHERE k.id = ?",
        (key_id,),
    ).fetchone()
    expected = ("root", _ADMIN_JSON, None, None, None, None, keyring.lookup_hash(secret).hex(), 0)
    return row is not None and tuple(row) == expected


def sync(
    conn: sqlite3.Connection, keyring: Keyring, key_id: str, secret: str, now: datetime
) -> list[str]:
    """Make the database match the environment inside the caller's write transaction.
    Returns the ids of old root keys it revoked."""
    if in_sync(conn, keyring, key_id, secret):
        return []
    when = to_micros(now)
    others = [
        str(row[0])
        for row in conn.execute(
            "SELECT id FROM access_keys WHERE kind = 'root' AND id != ? AND revoked_at IS NULL",
            (key_id,),
        )
    ]
    for other in others:
        conn.execute("UPDATE access_keys SET revoked_at = ? WHERE id = ?", (when, other))
        conn.execute("DELETE FROM access_key_secrets WHERE key_id = ?", (other,))
    conn.execute(
        f"INSERT INTO access_keys ({KEY_COLUMNS})"
        " VALUES (?, ?, 'root', ?, NULL, NULL, ?, NULL, NULL, NULL)"
        " ON CONFLICT (id) DO UPDATE SET kind = 'root', scopes = excluded.scopes,"
        " buckets = NULL, owner = NULL, expires_at = NULL, revoked_at = NULL",
        (key_id, ROOT_NAME, _ADMIN_JSON, when),
    )
    conn.execute("DELETE FROM access_key_secrets WHERE key_id = ?", (key_id,))
    try:
        insert_secret(conn, keyring, key_id, secret, now)
    except sqlite3.IntegrityError:
        raise DuplicateKeyError("the root secret is already the secret of another key") from None
    return others
