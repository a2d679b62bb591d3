"""The bucket-settings cache (``identity.bucket_cache_seconds``): a change made by this
process or another worker of the host is seen by the next lookup, one made by another
host within the configured bound; on both databases, with real stores."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.identity.bucket_settings import BucketNameHeld
from gateway.identity.settings_cache import (
    GENERATION_FILE,
    MAX_CACHED_CHARS,
    LocalGeneration,
    SettingsCache,
    SharedGeneration,
)
from gateway.identity.store import IdentityStore
from tests.gateway.identity.conftest import OpenStore, add_accounts
from tests.services.postgres import PostgresServer

TTL = 30.0
"""Long enough that no entry in these tests expires unless a test moves the clock."""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def cached(open_store: OpenStore) -> AsyncIterator[IdentityStore]:
    s = await open_store(bucket_cache_seconds=TTL)
    yield s
    await s.close()


async def _count_reads(store: IdentityStore) -> list[str]:
    """Record the SQL the store's database reads from now on."""
    seen: list[str] = []
    db = store.bucket_settings._db
    original = db.fetch_all

    async def fetch_all(sql: str, params: object = ()) -> list[tuple[object, ...]]:
        seen.append(sql)
        return await original(sql, params)  # type: ignore[arg-type]

    db.fetch_all = fetch_all  # type: ignore[method-assign]
    return seen


# --- one process ----------------------------------------------------------------------------


async def test_a_cached_bucket_costs_no_round_trip(cached: IdentityStore) -> None:
    await cached.bucket_settings.put("b", "owner", "acct-1")
    reads = await _count_reads(cached)
    assert await cached.bucket_settings.all_for("b") == {"owner": "acct-1"}
    assert await cached.bucket_settings.all_for("b") == {"owner": "acct-1"}
    assert len(reads) == 1


async def test_the_cache_keeps_a_bounded_amount_of_text(cached: IdentityStore) -> None:
    """Buckets with a 250 KiB lifecycle configuration each, all read: the cache keeps at
    most ``MAX_CACHED_CHARS`` of their text, not 300 of them (75 MiB) nor 10,000."""
    buckets = [f"big{n:03d}" for n in range(300)]
    for n, bucket in enumerate(buckets):
        await cached.bucket_settings.put(bucket, "lifecycle", f"{n:03d}" + "x" * (250 * 1024))
    tracemalloc.start()
    try:
        for bucket in buckets:
            assert len((await cached.bucket_settings.all_for(bucket))["lifecycle"]) > 250 * 1024
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept < MAX_CACHED_CHARS + 4 * 1024 * 1024, kept
    # the most recent answers are still kept: a read of one costs no round trip
    reads = await _count_reads(cached)
    await cached.bucket_settings.all_for(buckets[-1])
    assert reads == []


async def test_an_unknown_bucket_is_read_every_time(cached: IdentityStore) -> None:
    reads = await _count_reads(cached)
    assert await cached.bucket_settings.all_for("nobody-knows") == {}
    assert await cached.bucket_settings.all_for("nobody-knows") == {}
    assert len(reads) == 2


async def test_every_write_of_this_process_is_seen_by_its_next_read(
    cached: IdentityStore,
) -> None:
    await add_accounts(cached, "acct-1", "acct-2")
    settings = cached.bucket_settings
    assert await settings.claim_owner("b", "acct-1")
    assert await settings.all_for("b") == {"owner": "acct-1"}
    await settings.put("b", "policy", "{}")
    assert await settings.all_for("b") == {"owner": "acct-1", "policy": "{}"}
    await settings.put("b", "policy", '{"v": 2}')
    assert (await settings.all_for("b"))["policy"] == '{"v": 2}'
    assert await settings.delete("b", "policy")
    assert await settings.all_for("b") == {"owner": "acct-1"}
    assert await settings.forget_bucket("b") == 1
    assert await settings.all_for("b") == {}
    if cached.db.dialect == "postgresql":
        # Other hosts may cache acct-1 as the owner for TTL seconds: the name is held.
        with pytest.raises(BucketNameHeld):
            await settings.claim_owner("b", "acct-2")
    else:  # one host: nothing else caches the old owner, the name is free at once
        assert await settings.claim_owner("b", "acct-2")
        assert await settings.all_for("b") == {"owner": "acct-2"}


async def test_a_name_hold_lasts_its_length_whatever_the_hosts_clocks_say(
    tmp_path: Path, master_key: bytes, postgres_server: PostgresServer
) -> None:
    """Host A, its clock a minute behind, deletes a bucket host C cached the owner of;
    host B, its clock a minute ahead, claims the name for another account: still held
    (the hold was stamped and judged by each host's clock: B saw it two minutes old and
    gave the name away while C could still let the old owner in). Once the hold has
    passed in real time, the name is the other account's. PostgreSQL only: SQLite
    serves one host, whose workers share one clock and hold no name."""
    url = await postgres_server.fresh_url()
    short = 0.2  # a hold of 1.2 s, waited out below
    host_a, host_b = [
        await IdentityStore.open(tmp_path / name, master_key, url=url, bucket_cache_seconds=short)
        for name in ("a", "b")
    ]
    try:
        await add_accounts(host_a, "acct-1", "acct-2")
        assert await host_a.bucket_settings.claim_owner("b", "acct-1")
        real = datetime.now(UTC)
        behind, ahead = real - timedelta(minutes=1), real + timedelta(minutes=1)
        assert await host_a.bucket_settings.forget_bucket("b", now=behind) == 1
        with pytest.raises(BucketNameHeld):
            await host_b.bucket_settings.claim_owner("b", "acct-2", now=ahead)
        await asyncio.sleep(host_b.bucket_settings.name_hold.total_seconds() + 0.1)
        assert await host_b.bucket_settings.claim_owner("b", "acct-2", now=ahead)
        assert await host_a.bucket_settings.all_for("b") == {"owner": "acct-2"}
    finally:
        await host_a.close()
        await host_b.close()


async def test_the_object_acl_flag_is_seen_at_once(cached: IdentityStore) -> None:
    settings = cached.bucket_settings
    await settings.put("b", "owner", "acct-1")
    assert "object_acls" not in await settings.all_for("b")
    when = datetime(2026, 1, 1, tzinfo=UTC)
    await cached.object_acls.record(
        "b", "k", None, owner="acct-1", acl="{}", foreign=False, written_at=when
    )
    assert (await settings.all_for("b"))["object_acls"] == '{"foreign": false}'
    await cached.object_acls.record(
        "b", "k2", None, owner="acct-2", acl="{}", foreign=True, written_at=when
    )
    assert (await settings.all_for("b"))["object_acls"] == '{"foreign": true}'


async def test_rows_that_leave_the_flag_alone_keep_the_cache(cached: IdentityStore) -> None:
    """A PUT in a bucket that has rows must not empty the cache for every worker."""
    when = datetime(2026, 1, 1, tzinfo=UTC)
    await cached.bucket_settings.put("b", "owner", "acct-1")
    await cached.object_acls.record(
        "b", "k", None, owner="acct-1", acl="{}", foreign=False, written_at=when
    )
    await cached.bucket_settings.all_for("b")
    reads = await _count_reads(cached)
    for key in ("k2", "k3"):
        await cached.object_acls.record(
            "b", key, None, owner="acct-1", acl="{}", foreign=False, written_at=when
        )
        await cached.bucket_settings.all_for("b")
    assert reads == []


# --- several workers and hosts --------------------------------------------------------------


async def test_another_worker_of_the_host_is_seen_at_once(
    cached: IdentityStore, open_store: OpenStore
) -> None:
    worker = await open_store(bucket_cache_seconds=TTL)  # same data directory
    try:
        await cached.bucket_settings.put("b", "owner", "acct-1")
        assert await worker.bucket_settings.all_for("b") == {"owner": "acct-1"}
        assert await cached.bucket_settings.all_for("b") == {"owner": "acct-1"}
        await worker.bucket_settings.put("b", "policy", "{}")
        assert await cached.bucket_settings.all_for("b") == {"owner": "acct-1", "policy": "{}"}
        await worker.bucket_settings.forget_bucket("b")
        assert await cached.bucket_settings.all_for("b") == {}
    finally:
        await worker.close()


async def test_another_host_is_seen_within_the_bound(
    cached: IdentityStore,
    data_dir: Path,
    master_key: bytes,
    state_url: str | None,
    tmp_path: Path,
) -> None:
    clock = Clock()
    generation = SharedGeneration(data_dir / GENERATION_FILE)
    cached.bucket_settings.cache = SettingsCache(5.0, generation, clock=clock)
    url = state_url or f"sqlite:{data_dir / 'identity.db'}"
    host = await IdentityStore.open(tmp_path / "other-host", master_key, url=url)
    try:
        await cached.bucket_settings.put("b", "owner", "acct-1")
        assert await cached.bucket_settings.all_for("b") == {"owner": "acct-1"}
        await host.bucket_settings.put("b", "policy", "{}")
        clock.now += 4.9
        assert await cached.bucket_settings.all_for("b") == {"owner": "acct-1"}
        clock.now += 0.2
        assert await cached.bucket_settings.all_for("b") == {"owner": "acct-1", "policy": "{}"}
    finally:
        await host.close()
        generation.close()


async def test_zero_seconds_reads_every_time_and_still_tells_the_others(
    open_store: OpenStore, cached: IdentityStore
) -> None:
    uncached = await open_store()  # bucket_cache_seconds defaults to 0 here
    try:
        await uncached.bucket_settings.put("b", "owner", "acct-1")
        assert await cached.bucket_settings.all_for("b") == {"owner": "acct-1"}
        reads = await _count_reads(uncached)
        await uncached.bucket_settings.all_for("b")
        await uncached.bucket_settings.all_for("b")
        assert len(reads) == 2
        await uncached.bucket_settings.put("b", "acl", "{}")
        assert await cached.bucket_settings.all_for("b") == {"owner": "acct-1", "acl": "{}"}
    finally:
        await uncached.close()


# --- the cache alone ------------------------------------------------------------------------


def test_an_answer_read_across_a_change_is_not_kept() -> None:
    cache = SettingsCache(TTL, LocalGeneration())
    token = cache.token()
    cache.changed("b")  # committed while the answer was being read
    cache.put("b", {"owner": "old"}, token)
    assert cache.get("b") is None
    token = cache.token()
    cache.put("b", {"owner": "new"}, token)
    assert cache.get("b") == {"owner": "new"}


def test_entries_expire_and_the_cache_is_bounded() -> None:
    clock = Clock()
    cache = SettingsCache(1.0, LocalGeneration(), max_entries=2, clock=clock)
    for name in ("a", "b", "c"):
        cache.put(name, {"owner": name}, cache.token())
    assert cache.get("a") is None  # the oldest made room
    assert cache.get("b") == {"owner": "b"} and cache.get("c") == {"owner": "c"}
    clock.now += 1.0
    assert cache.get("b") is None and cache.get("c") is None


def test_a_change_in_one_process_drops_every_entry_of_the_others(tmp_path: Path) -> None:
    path = tmp_path / GENERATION_FILE
    mine, theirs = SharedGeneration(path), SharedGeneration(path)
    try:
        here, there = SettingsCache(TTL, mine), SettingsCache(TTL, theirs)
        there.put("a", {"owner": "x"}, there.token())
        there.put("b", {"owner": "y"}, there.token())
        here.changed("a")
        assert there.get("a") is None and there.get("b") is None
    finally:
        mine.close()
        theirs.close()


def test_a_disabled_cache_keeps_nothing() -> None:
    cache = SettingsCache(0.0)
    cache.put("b", {"owner": "x"}, cache.token())
    assert not cache.enabled and cache.get("b") is None
