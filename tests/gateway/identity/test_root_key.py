"""The bootstrap root key from NFYIO_ROOT_ACCESS_KEY / NFYIO_ROOT_SECRET_KEY."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.identity.store import IdentityStore

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
ROOT_ID = "AKIAIOSFODNN7EXAMPLE"
ROOT_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def data_version(conn: sqlite3.Connection) -> int:
    value: int = conn.execute("PRAGMA data_version").fetchone()[0]
    return value


async def test_root_key_is_created_as_admin(store: IdentityStore) -> None:
    assert not store.has_active_admin_key(T0)
    root = await store.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0)
    assert root.id == ROOT_ID and root.is_root
    assert root.scopes == frozenset({"admin"})
    assert (root.buckets, root.expires_at, root.revoked_at, root.owner) == (None, None, None, None)
    assert store.sigv4_secrets(ROOT_ID, T0) == (root, (ROOT_SECRET,))
    assert store.find_by_secret(ROOT_SECRET, T0) == root
    assert store.has_active_admin_key(T0)


async def test_ensure_root_key_is_idempotent_without_writing(
    store: IdentityStore, data_dir: Path
) -> None:
    first = await store.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0)
    observer = sqlite3.connect(data_dir / "identity.db")
    before = data_version(observer)
    again = await store.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0 + timedelta(days=1))
    assert again == first
    assert data_version(observer) == before  # no commit happened
    observer.close()


async def test_ensure_root_key_resyncs_a_changed_secret(store: IdentityStore) -> None:
    await store.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0)
    root = await store.ensure_root_key(ROOT_ID, "a-brand-new-root-secret", now=T0)
    assert store.sigv4_secrets(ROOT_ID, T0) == (root, ("a-brand-new-root-secret",))
    assert store.find_by_secret(ROOT_SECRET, T0) is None
    assert store.find_by_secret("a-brand-new-root-secret", T0) == root


async def test_ensure_root_key_restores_a_revoked_or_tampered_root(
    store: IdentityStore, data_dir: Path
) -> None:
    await store.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0)
    await store.revoke_key(ROOT_ID, now=T0)
    assert not store.has_active_admin_key(T0)
    conn = sqlite3.connect(data_dir / "identity.db", isolation_level=None)
    conn.execute("UPDATE access_keys SET scopes = '[\"read:objects\"]' WHERE id = ?", (ROOT_ID,))
    conn.close()
    root = await store.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0)
    assert root.revoked_at is None and root.scopes == frozenset({"admin"})
    assert store.find_by_secret(ROOT_SECRET, T0) == root


async def test_changing_the_root_id_revokes_the_old_root(store: IdentityStore) -> None:
    await store.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0)
    new_root = await store.ensure_root_key("NEWROOTKEY", "another-root-secret", now=T0)
    old = store.get_key(ROOT_ID)
    assert old is not None and old.revoked_at is not None
    assert store.sigv4_secrets(ROOT_ID, T0) is None
    assert store.find_by_secret(ROOT_SECRET, T0) is None
    assert store.has_active_admin_key(T0)
    assert new_root.is_root


async def test_root_key_survives_restart(data_dir: Path, master_key: bytes) -> None:
    store = await IdentityStore.open(data_dir, master_key)
    first = await store.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0)
    await store.close()
    store = await IdentityStore.open(data_dir, master_key)
    assert await store.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0 + timedelta(days=1)) == first
    await store.close()


async def test_admin_key_detection_follows_expiry_and_revocation(store: IdentityStore) -> None:
    await store.create_key("reader", ["read:objects"], now=T0)
    assert not store.has_active_admin_key(T0)
    admin, _ = await store.create_key("ops", ["admin"], expires_at=T0 + timedelta(hours=1), now=T0)
    assert store.has_active_admin_key(T0)
    assert not store.has_active_admin_key(T0 + timedelta(hours=1))
    await store.revoke_key(admin.id)
    assert not store.has_active_admin_key(T0)


async def test_workers_starting_together_sync_the_root_key_once(
    data_dir: Path, master_key: bytes
) -> None:
    stores = [await IdentityStore.open(data_dir, master_key) for _ in range(3)]
    try:
        roots = await asyncio.gather(
            *(s.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0) for s in stores)
        )
        assert len({r.id for r in roots}) == 1
        conn = sqlite3.connect(data_dir / "identity.db")
        count = conn.execute("SELECT count(*) FROM access_key_secrets").fetchone()
        conn.close()
        assert count == (1,)
    finally:
        for s in stores:
            await s.close()


async def test_existing_key_with_the_root_id_becomes_the_root(store: IdentityStore) -> None:
    await store.create_key(
        "was a normal key", ["read:objects"], key_id=ROOT_ID, owner="u_1", buckets=["b1"]
    )
    root = await store.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0)
    assert root.is_root and root.owner is None and root.buckets is None
    assert root.scopes == frozenset({"admin"})
