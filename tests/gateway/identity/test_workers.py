"""Several worker processes (or gateway hosts, on PostgreSQL) share one state database:
simulated by two stores on the same database."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.identity.store import IdentityStore
from tests.gateway.identity.conftest import OpenStore

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def other(open_store: OpenStore, store: IdentityStore) -> AsyncIterator[IdentityStore]:
    s = await open_store()
    yield s
    await s.close()


async def last_used_on_disk(open_store: OpenStore, key_id: str) -> object:
    """``last_used_at`` as committed, read by a store of its own."""
    observer = await open_store()
    try:
        row = await observer.db.fetch_one(
            "SELECT last_used_at FROM access_keys WHERE id = ?", (key_id,)
        )
    finally:
        await observer.close()
    assert row is not None
    return row[0]


async def test_key_created_by_one_worker_is_seen_by_another(
    store: IdentityStore, other: IdentityStore
) -> None:
    key, secret = await store.create_key("k", ["read:objects"], now=T0)
    assert await other.sigv4_secrets(key.id, T0) == (key, (secret,))
    assert await other.find_by_secret(secret, T0) == key


async def test_revocation_by_one_worker_is_seen_by_another_at_once(
    store: IdentityStore, other: IdentityStore
) -> None:
    key, secret = await store.create_key("k", ["read:objects"], now=T0)
    assert await other.find_by_secret(secret, T0) is not None  # warm whatever could be cached
    assert await other.sigv4_secrets(key.id, T0) is not None
    assert await store.revoke_key(key.id, now=T0)
    assert await other.find_by_secret(secret, T0) is None
    assert await other.sigv4_secrets(key.id, T0) is None


async def test_rotation_by_one_worker_is_seen_by_another_at_once(
    store: IdentityStore, other: IdentityStore
) -> None:
    key, old = await store.create_key("k", ["read:objects"], now=T0)
    rotated = await store.rotate_key(key.id, now=T0)
    assert rotated is not None
    assert await other.find_by_secret(old, T0) is None
    assert await other.sigv4_secrets(key.id, T0) == (rotated[0], (rotated[1],))


async def test_concurrent_writes_from_two_workers_all_land(
    store: IdentityStore, other: IdentityStore
) -> None:
    made = await asyncio.gather(
        *(s.create_key(f"k{i}", ["read:objects"]) for i in range(10) for s in (store, other))
    )
    page, _ = await store.list_keys(limit=100)
    assert {k.id for k in page} == {k.id for k, _ in made}


# --- last_used_at batching -------------------------------------------------------------------


async def test_record_use_writes_nothing_until_flush(
    store: IdentityStore, open_store: OpenStore
) -> None:
    key, _ = await store.create_key("k", ["read:objects"], now=T0)
    store.record_use(key.id, T0 + timedelta(seconds=5))
    store.record_use(key.id, T0 + timedelta(seconds=9))
    store.record_use(key.id, T0 + timedelta(seconds=7))  # out of order: latest wins
    assert await last_used_on_disk(open_store, key.id) is None
    got = await store.get_key(key.id)
    assert got is not None and got.last_used_at is None
    await store.flush()
    got = await store.get_key(key.id)
    assert got is not None and got.last_used_at == T0 + timedelta(seconds=9)


async def test_flush_never_moves_last_used_backwards(
    store: IdentityStore, other: IdentityStore
) -> None:
    key, _ = await store.create_key("k", ["read:objects"], now=T0)
    store.record_use(key.id, T0 + timedelta(minutes=2))
    other.record_use(key.id, T0 + timedelta(minutes=1))
    await store.flush()
    await other.flush()
    got = await store.get_key(key.id)
    assert got is not None and got.last_used_at == T0 + timedelta(minutes=2)


async def test_flush_of_unknown_key_is_harmless(store: IdentityStore) -> None:
    key, _ = await store.create_key("k", ["read:objects"], now=T0)
    store.record_use("ak_GONE", T0)  # e.g. deleted between the request and the flush
    store.record_use(key.id, T0 + timedelta(seconds=1))
    await store.flush()
    got = await store.get_key(key.id)
    assert got is not None and got.last_used_at == T0 + timedelta(seconds=1)
    assert await store.get_key("ak_GONE") is None
    assert len((await store.list_keys(limit=100))[0]) == 1  # the unknown id created no row


async def test_flush_with_nothing_pending_opens_no_transaction(
    sqlite_store: IdentityStore, data_dir: Path
) -> None:
    """Another worker holds the write lock throughout: a flush that began a transaction
    would wait ``busy_timeout`` for it and then raise "database is locked"."""
    store = sqlite_store
    await store.create_key("k", ["read:objects"], now=T0)
    holder = sqlite3.connect(data_dir / "identity.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        await store.flush()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def test_close_flushes_pending_use(open_store: OpenStore) -> None:
    store = await open_store()
    key, _ = await store.create_key("k", ["read:objects"], now=T0)
    store.record_use(key.id, T0 + timedelta(seconds=1))
    await store.close()
    assert await last_used_on_disk(open_store, key.id) is not None


async def test_run_flusher_writes_in_the_background(open_store: OpenStore) -> None:
    store = await open_store(flush_interval=0.01)
    key, _ = await store.create_key("k", ["read:objects"], now=T0)
    task = asyncio.create_task(store.run_flusher())
    try:
        store.record_use(key.id, T0 + timedelta(seconds=1))
        for _ in range(200):
            await asyncio.sleep(0.01)
            if await last_used_on_disk(open_store, key.id) is not None:
                break
        assert await last_used_on_disk(open_store, key.id) is not None
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await store.close()
