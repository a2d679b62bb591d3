"""Conversions between database rows and models, shared SQL, and the opaque list cursor."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from gateway.identity.crypto import Keyring
from gateway.identity.db import Tx
from gateway.identity.models import AccessKey, from_micros, to_micros
from gateway.identity.schema import require_fingerprint

__all__ = [
    "KEY_COLUMNS",
    "access_key_aad",
    "access_key_from_row",
    "as_bytes",
    "decode_cursor",
    "encode_cursor",
    "insert_secret",
    "json_list",
]

KEY_COLUMNS = (
    "id, name, kind, scopes, buckets, owner, created_at, expires_at, revoked_at, last_used_at,"
    " account_id"
)
_CURSOR_PREFIX = "k1:"


def access_key_aad(key_id: str) -> bytes:
    """Associated data of an access key's sealed secret: table, column and row id, so a
    blob moved to another row (or another table) fails to decrypt."""
    return b"access_key_secrets.secret_enc\x00" + key_id.encode("utf-8")


def json_list(items: Iterable[str]) -> str:
    return json.dumps(list(items), separators=(",", ":"))


def _as_int(value: object) -> int:
    if not isinstance(value, int):
        raise TypeError(f"expected an integer column, got {type(value).__name__}")
    return value


def as_bytes(value: object) -> bytes:
    if isinstance(value, memoryview):
        return value.tobytes()
    if not isinstance(value, bytes):
        raise TypeError(f"expected a BLOB column, got {type(value).__name__}")
    return value


def _as_str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a text column, got {type(value).__name__}")
    return value


def access_key_from_row(row: Sequence[object]) -> AccessKey:
    """Build an :class:`AccessKey` from the first columns of ``row`` (``KEY_COLUMNS``)."""
    key_id, name, kind, scopes, buckets, owner, created, expires, revoked, used, account = row[:11]
    return AccessKey(
        id=_as_str(key_id),
        name=_as_str(name),
        scopes=frozenset(json.loads(_as_str(scopes))),
        buckets=None if buckets is None else tuple(json.loads(_as_str(buckets))),
        created_at=from_micros(_as_int(created)),
        expires_at=None if expires is None else from_micros(_as_int(expires)),
        revoked_at=None if revoked is None else from_micros(_as_int(revoked)),
        last_used_at=None if used is None else from_micros(_as_int(used)),
        owner=None if owner is None else _as_str(owner),
        is_root=kind == "root",
        account_id=_as_str(account),
    )


def encode_cursor(last_id: str) -> str:
    raw = (_CURSOR_PREFIX + last_id).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        text = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("invalid cursor") from None
    if not text.startswith(_CURSOR_PREFIX):
        raise ValueError("invalid cursor")
    return text[len(_CURSOR_PREFIX) :]


async def insert_secret(
    tx: Tx, keyring: Keyring, key_id: str, secret: str, created: datetime
) -> None:
    """Store ``secret`` as the current secret of ``key_id``: sealed for SigV4, and its
    keyed hash for Bearer lookups. A secret already used by any key is an IntegrityError."""
    await require_fingerprint(tx, keyring.fingerprint)
    await tx.execute(
        "INSERT INTO access_key_secrets (lookup_hash, key_id, secret_enc, created_at,"
        " valid_until) VALUES (?, ?, ?, ?, NULL)",
        (
            keyring.lookup_hash(secret),
            key_id,
            keyring.box.seal(secret, aad=access_key_aad(key_id)),
            to_micros(created),
        ),
    )
