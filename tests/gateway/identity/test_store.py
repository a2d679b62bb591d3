from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.identity.crypto import DecryptionError, MasterKeyError
from gateway.identity.db import StoreUnavailable, Tx
from gateway.identity.schema import SCHEMA_VERSION, SchemaError
from gateway.identity.store import DuplicateKeyError, IdentityStore
from tests.gateway.identity.conftest import OpenStore

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def raw(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(data_dir / "identity.db", isolation_level=None)


# --- create / get -----------------------------------------------------------------------------


async def test_create_returns_key_and_secret_once(store: IdentityStore) -> None:
    key, secret = await store.create_key(
        "ci", ["read:objects", "write:objects"], buckets=["logs-*"], owner="ak_OWNER", now=T0
    )
    assert re.fullmatch(r"ak_[A-Z0-9]{20}", key.id)
    assert re.fullmatch(r"sk_[A-Za-z0-9_-]{40}", secret)
    assert key.name == "ci"
    assert key.scopes == frozenset({"read:objects", "write:objects"})
    assert key.buckets == ("logs-*",)
    assert key.owner == "ak_OWNER"
    assert key.created_at == T0
    assert (key.expires_at, key.revoked_at, key.last_used_at) == (None, None, None)
    assert not key.is_root
    assert await store.get_key(key.id) == key


async def test_get_unknown_key_is_none(store: IdentityStore) -> None:
    assert await store.get_key("ak_NOPE") is None
    assert await store.sigv4_secrets("ak_NOPE", T0) is None
    assert await store.find_by_secret("sk_nope", T0) is None


@pytest.mark.parametrize(
    ("scopes", "error"),
    [
        (["read:objects", "launch:rockets"], ValueError),
        ([], ValueError),
        ("admin", TypeError),
    ],
)
async def test_create_rejects_bad_scopes(
    store: IdentityStore, scopes: list[str], error: type[Exception]
) -> None:
    with pytest.raises(error):
        await store.create_key("k", scopes)


async def test_create_rejects_bad_input(store: IdentityStore) -> None:
    with pytest.raises(ValueError, match="name"):
        await store.create_key("  ", ["admin"])
    with pytest.raises(ValueError, match="bucket"):
        await store.create_key("k", ["admin"], buckets=["Bad/Name"])
    with pytest.raises(ValueError, match="future"):
        await store.create_key("k", ["admin"], expires_at=T0 - HOUR, now=T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.create_key("k", ["admin"], expires_at=datetime(2031, 1, 1))
    with pytest.raises(ValueError, match="access key id"):
        await store.create_key("k", ["admin"], key_id="has/slash")
    with pytest.raises(ValueError, match="secret"):
        await store.create_key("k", ["admin"], secret="short")


async def test_explicit_id_and_secret_for_imported_credentials(store: IdentityStore) -> None:
    key, secret = await store.create_key(
        "imported", ["read:objects"], key_id="AKIAIOSFODNN7EXAMPLE", secret="wJalrXUtnFEMI/K7MDENG"
    )
    assert key.id == "AKIAIOSFODNN7EXAMPLE"
    assert secret == "wJalrXUtnFEMI/K7MDENG"
    assert await store.sigv4_secrets(key.id, datetime.now(UTC)) == (key, (secret,))
    with pytest.raises(DuplicateKeyError):
        await store.create_key("again", ["read:objects"], key_id="AKIAIOSFODNN7EXAMPLE")
    with pytest.raises(DuplicateKeyError):
        await store.create_key("same secret", ["read:objects"], secret="wJalrXUtnFEMI/K7MDENG")


# --- lookups --------------------------------------------------------------------------------


async def test_sigv4_and_bearer_lookup_of_active_key(store: IdentityStore) -> None:
    key, secret = await store.create_key("k", ["read:objects"], now=T0)
    assert await store.sigv4_secrets(key.id, T0) == (key, (secret,))
    assert await store.find_by_secret(secret, T0) == key
    assert await store.find_by_secret(secret + "x", T0) is None
    assert await store.find_by_secret(key.id, T0) is None


async def test_expired_key_stops_authenticating_at_expiry(store: IdentityStore) -> None:
    key, secret = await store.create_key("k", ["read:objects"], expires_at=T0 + HOUR, now=T0)
    just_before = T0 + HOUR - timedelta(microseconds=1)
    assert await store.sigv4_secrets(key.id, just_before) is not None
    assert await store.find_by_secret(secret, just_before) == key
    assert await store.sigv4_secrets(key.id, T0 + HOUR) is None
    assert await store.find_by_secret(secret, T0 + HOUR) is None
    assert await store.get_key(key.id) == key  # still listed, with its expiry


async def test_revoke_is_immediate_and_idempotent(store: IdentityStore) -> None:
    key, secret = await store.create_key("k", ["read:objects"], now=T0)
    assert await store.revoke_key(key.id, now=T0 + HOUR)
    assert await store.sigv4_secrets(key.id, T0 + HOUR) is None
    assert await store.find_by_secret(secret, T0 + HOUR) is None
    revoked = await store.get_key(key.id)
    assert revoked is not None and revoked.revoked_at == T0 + HOUR
    assert not await store.revoke_key(key.id)
    assert not await store.revoke_key("ak_UNKNOWN")
    assert await store.rotate_key(key.id) is None


async def test_revoked_key_keeps_no_secret_material(store: IdentityStore) -> None:
    key, _ = await store.create_key("k", ["read:objects"])
    await store.revoke_key(key.id)
    count = await store.db.fetch_one(
        "SELECT count(*) FROM access_key_secrets WHERE key_id = ?", (key.id,)
    )
    assert count == (0,)


# --- rotation ---------------------------------------------------------------------------------


async def test_rotate_without_grace_invalidates_old_secret_at_once(store: IdentityStore) -> None:
    key, old = await store.create_key("k", ["read:objects"], now=T0)
    rotated = await store.rotate_key(key.id, now=T0)
    assert rotated is not None
    same_key, new = rotated
    assert same_key.id == key.id and new != old
    assert await store.sigv4_secrets(key.id, T0) == (same_key, (new,))
    assert await store.find_by_secret(old, T0) is None
    assert await store.find_by_secret(new, T0) == same_key


async def test_rotate_with_grace_keeps_old_secret_until_grace_ends(store: IdentityStore) -> None:
    key, old = await store.create_key("k", ["read:objects"], now=T0)
    rotated = await store.rotate_key(key.id, grace=HOUR, now=T0)
    assert rotated is not None
    _, new = rotated
    during = T0 + HOUR - timedelta(seconds=1)
    result = await store.sigv4_secrets(key.id, during)
    assert result is not None and result[1] == (new, old)  # current first
    assert await store.find_by_secret(old, during) is not None
    assert await store.find_by_secret(new, during) is not None
    result = await store.sigv4_secrets(key.id, T0 + HOUR)
    assert result is not None and result[1] == (new,)
    assert await store.find_by_secret(old, T0 + HOUR) is None
    assert await store.find_by_secret(new, T0 + HOUR) is not None


async def test_second_rotation_drops_the_first_previous_secret(store: IdentityStore) -> None:
    key, first = await store.create_key("k", ["read:objects"], now=T0)
    r1 = await store.rotate_key(key.id, grace=HOUR, now=T0)
    r2 = await store.rotate_key(key.id, grace=HOUR, now=T0 + timedelta(minutes=1))
    assert r1 is not None and r2 is not None
    now = T0 + timedelta(minutes=2)
    result = await store.sigv4_secrets(key.id, now)
    assert result is not None and result[1] == (r2[1], r1[1])
    assert await store.find_by_secret(first, now) is None


async def test_rotate_rejects_negative_grace_and_inactive_keys(store: IdentityStore) -> None:
    key, _ = await store.create_key("k", ["read:objects"], expires_at=T0 + HOUR, now=T0)
    with pytest.raises(ValueError, match="grace"):
        await store.rotate_key(key.id, grace=-HOUR)
    assert await store.rotate_key(key.id, now=T0 + 2 * HOUR) is None
    assert await store.rotate_key("ak_UNKNOWN") is None


# --- listing ----------------------------------------------------------------------------------


async def test_list_paginates_in_id_order(store: IdentityStore) -> None:
    created = [(await store.create_key(f"k{i}", ["read:objects"]))[0] for i in range(7)]
    seen = []
    cursor: str | None = None
    pages = 0
    while True:
        page, cursor = await store.list_keys(limit=3, cursor=cursor)
        seen.extend(page)
        pages += 1
        if cursor is None:
            break
    assert pages == 3
    assert [k.id for k in seen] == sorted(k.id for k in created)


async def test_list_exact_page_has_no_next_cursor(store: IdentityStore) -> None:
    for i in range(3):
        await store.create_key(f"k{i}", ["read:objects"])
    page, cursor = await store.list_keys(limit=3)
    assert len(page) == 3 and cursor is None


async def test_list_filters_by_owner_and_includes_revoked(store: IdentityStore) -> None:
    mine = [(await store.create_key("m", ["read:objects"], owner="u_1"))[0] for _ in range(2)]
    await store.create_key("other", ["read:objects"], owner="u_2")
    await store.revoke_key(mine[0].id)
    page, cursor = await store.list_keys(owner="u_1")
    assert {k.id for k in page} == {k.id for k in mine}
    assert cursor is None
    assert len((await store.list_keys())[0]) == 3


@pytest.mark.parametrize("cursor", ["!!", "Zm9v", ""])
async def test_list_rejects_malformed_cursor(store: IdentityStore, cursor: str) -> None:
    with pytest.raises(ValueError, match="cursor"):
        await store.list_keys(cursor=cursor)


@pytest.mark.parametrize("limit", [0, -1, 1001])
async def test_list_rejects_out_of_range_limit(store: IdentityStore, limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        await store.list_keys(limit=limit)


# --- secrets at rest --------------------------------------------------------------------------


async def test_no_table_holds_a_secret_in_plaintext(store: IdentityStore) -> None:
    _, secret = await store.create_key("k", ["read:objects"])
    root = await store.ensure_root_key("ROOTACCESSKEY", "root-secret-value-1234")
    rotated = await store.rotate_key(root.id, grace=HOUR)
    assert rotated is not None
    plaintexts = [secret, "root-secret-value-1234", rotated[1]]
    for table in ("meta", "access_keys", "access_key_secrets"):
        for row in await store.db.fetch_all(f"SELECT * FROM {table}"):
            for value in row:
                blob = value if isinstance(value, bytes) else str(value).encode()
                assert not any(text.encode() in blob for text in plaintexts), table


async def test_sqlite_files_hold_no_secret_in_plaintext(data_dir: Path, master_key: bytes) -> None:
    store = await IdentityStore.open(data_dir, master_key)
    _, secret = await store.create_key("k", ["read:objects"])
    root = await store.ensure_root_key("ROOTACCESSKEY", "root-secret-value-1234")
    rotated = await store.rotate_key(root.id, grace=HOUR)
    assert rotated is not None
    plaintexts = [secret, "root-secret-value-1234", rotated[1]]
    for path in data_dir.iterdir():  # identity.db, -wal and -shm while open
        blob = path.read_bytes()
        for text in plaintexts:
            assert text.encode() not in blob, path.name
    await store.close()
    blob = (data_dir / "identity.db").read_bytes()
    for text in plaintexts:
        assert text.encode() not in blob


async def test_database_file_is_private(sqlite_store: IdentityStore, data_dir: Path) -> None:
    await sqlite_store.create_key("k", ["read:objects"])
    for path in data_dir.glob("identity.db*"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name


async def test_ciphertext_is_bound_to_its_key_id(open_store: OpenStore) -> None:
    store = await open_store()
    a, _ = await store.create_key("a", ["read:objects"])
    b, _ = await store.create_key("b", ["read:objects"])
    rows = await store.db.fetch_all("SELECT key_id, secret_enc FROM access_key_secrets")
    blobs = {key_id: bytes(blob) for key_id, blob in rows}

    async def swap(tx: Tx) -> None:
        for target, source in ((a.id, b.id), (b.id, a.id)):
            await tx.execute(
                "UPDATE access_key_secrets SET secret_enc = ? WHERE key_id = ?",
                (blobs[source], target),
            )

    await store.db.transaction(swap)
    await store.close()
    store = await open_store()  # a fresh process: nothing the swap could hide behind
    try:
        with pytest.raises(DecryptionError):
            await store.sigv4_secrets(a.id, datetime.now(UTC))
        with pytest.raises(DecryptionError):
            await store.sigv4_secrets(b.id, datetime.now(UTC))
    finally:
        await store.close()


async def test_other_master_key_is_refused(store: IdentityStore, open_store: OpenStore) -> None:
    await store.create_key("k", ["read:objects"])
    with pytest.raises(MasterKeyError, match="different master key"):
        await open_store(master_key=os.urandom(32))


# --- schema -----------------------------------------------------------------------------------


async def test_schema_version_recorded_and_reopen_is_idempotent(open_store: OpenStore) -> None:
    for _ in range(2):
        store = await open_store()
        await store.close()
    store = await open_store()
    versions = await store.db.fetch_all("SELECT version FROM schema_migrations ORDER BY version")
    await store.close()
    assert versions == [(v,) for v in range(1, SCHEMA_VERSION + 1)]


async def test_stores_opening_together_migrate_once(open_store: OpenStore) -> None:
    """Gateways (or workers) starting at the same moment on an empty database."""
    stores = await asyncio.gather(*(open_store() for _ in range(4)))
    try:
        versions = await stores[0].db.fetch_all("SELECT version FROM schema_migrations")
        assert sorted(versions) == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
        key, secret = await stores[1].create_key("k", ["read:objects"])
        assert await stores[3].find_by_secret(secret, datetime.now(UTC)) == key
    finally:
        for s in stores:
            await s.close()


async def test_sqlite_database_is_in_wal_mode(sqlite_store: IdentityStore, data_dir: Path) -> None:
    conn = raw(data_dir)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


async def test_newer_schema_is_refused(open_store: OpenStore) -> None:
    store = await open_store()

    async def from_the_future(tx: Tx) -> None:
        await tx.execute("INSERT INTO schema_migrations VALUES (99, 0)")

    await store.db.transaction(from_the_future)
    await store.close()
    with pytest.raises(SchemaError, match="newer"):
        await open_store()


async def test_closed_store_refuses_use(open_store: OpenStore) -> None:
    store = await open_store()
    await store.close()
    await store.close()
    with pytest.raises(RuntimeError, match="closed"):
        await store.get_key("ak_X")
    with pytest.raises(RuntimeError, match="closed"):
        await store.create_key("k", ["admin"])


# --- reprs ------------------------------------------------------------------------------------


async def test_reprs_never_contain_a_secret(store: IdentityStore, master_key: bytes) -> None:
    key, secret = await store.create_key("k", ["read:objects"])
    rotated = await store.rotate_key(key.id)
    assert rotated is not None
    texts = [repr(key), str(key), repr(rotated[0]), str(rotated[0]), repr(store), str(store)]
    texts.append(repr(key.principal()))
    for text in texts:
        assert secret not in text and rotated[1] not in text
        assert master_key.hex() not in text


async def test_sqlite_write_lock_held_past_the_busy_timeout_is_unavailable(
    sqlite_store: IdentityStore, data_dir: Path
) -> None:
    """Another process holding the write lock for the whole busy timeout makes a write
    ``StoreUnavailable`` (503, retry), not a fault (500)."""
    holder = raw(data_dir)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreUnavailable):
            await sqlite_store.create_key("busy", ["read:objects"])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    key, _secret = await sqlite_store.create_key("busy", ["read:objects"])
    assert key.name == "busy"
