"""What each database adds to the contract: PostgreSQL's pool, timeouts and retries,
the revocation bound of the optional lookup cache, and the SQL rewriting."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from gateway.identity.db import PoolOptions, StoreUnavailable
from gateway.identity.db_postgres import redact_url, to_numbered
from gateway.identity.store import IdentityStore, sqlite_path
from tests.gateway.identity.conftest import OpenStore
from tests.services.postgres import PostgresServer


def test_placeholders_become_numbered() -> None:
    assert to_numbered("SELECT a FROM t WHERE b = ? AND c IN (?, ?)") == (
        "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"
    )
    assert to_numbered("SELECT 1") == "SELECT 1"


def test_logged_url_has_no_password() -> None:
    url = "postgresql://gw:s3cret-pass@db.internal:5432/nfyio?search_path=x"
    assert redact_url(url) == "postgresql://gw@db.internal:5432/nfyio"


def test_sqlite_urls_name_files(tmp_path: Path) -> None:
    data = Path("/srv/data")
    assert sqlite_path(None, data) == data / "identity.db"
    assert sqlite_path("sqlite:", data) == data / "identity.db"
    assert sqlite_path("sqlite:///var/lib/nfyio/state.db", data) == Path("/var/lib/nfyio/state.db")
    with pytest.raises(ValueError, match="sqlite: or postgresql"):
        sqlite_path("mysql://x", data)


async def test_repr_and_description_never_hold_the_password(
    postgres_server: PostgresServer, master_key: bytes, tmp_path: Path
) -> None:
    url = (await postgres_server.fresh_url()).replace("postgres@", "postgres:hunter2-pass@")
    store = await IdentityStore.open(tmp_path, master_key, url=url)
    try:
        assert "hunter2" not in repr(store) and "hunter2" not in store.description
        assert store.description.startswith("postgresql://postgres@127.0.0.1:")
    finally:
        await store.close()


async def test_statement_timeout_cancels_a_slow_statement(
    postgres_server: PostgresServer, master_key: bytes, tmp_path: Path
) -> None:
    url = await postgres_server.fresh_url()
    # Every statement gets the timeout, the store's own schema statements and the SELECT 1
    # below too: 2 s is far above what they take on a loaded machine (0.2 s was not), and
    # the slow statement sleeps far longer still.
    options = PoolOptions(statement_timeout=2.0)
    store = await IdentityStore.open(tmp_path, master_key, url=url, pool=options)
    try:
        with pytest.raises(StoreUnavailable) as slow:  # 503 for the request, retry later
            await store.db.fetch_one("SELECT pg_sleep(30)")
        assert isinstance(slow.value.__cause__, TimeoutError)
        assert await store.db.fetch_one("SELECT 1") == (1,)  # the pool recovered
    finally:
        await store.close()


async def test_pool_never_opens_more_than_its_bound(
    postgres_server: PostgresServer, master_key: bytes, tmp_path: Path
) -> None:
    url = await postgres_server.fresh_url()
    admin = await asyncpg.connect(postgres_server.url())
    try:
        started = await admin.fetchval("SELECT clock_timestamp()")
        options = PoolOptions(min_size=1, max_size=2)
        store = await IdentityStore.open(tmp_path, master_key, url=url, pool=options)
        try:
            await asyncio.gather(*(store.db.fetch_one("SELECT pg_sleep(0.05)") for _ in range(12)))
            count = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = 'nfyio-gateway' AND backend_start >= $1",
                started,
            )
        finally:
            await store.close()
    finally:
        await admin.close()
    assert 1 <= count <= 2


async def test_concurrent_rotations_of_one_key_from_two_hosts(
    store: IdentityStore, open_store: OpenStore
) -> None:
    """Conflicting writes are serialised (PostgreSQL: retried), never half-applied."""
    other = await open_store()
    try:
        key, _ = await store.create_key("k", ["read:objects"])
        results = await asyncio.gather(
            *(s.rotate_key(key.id) for _ in range(5) for s in (store, other))
        )
        assert all(r is not None for r in results)
        rows = await store.db.fetch_all(
            "SELECT valid_until FROM access_key_secrets WHERE key_id = ?", (key.id,)
        )
        assert [r[0] for r in rows] == [None]  # exactly one current secret, no grace
        found = await other.sigv4_secrets(key.id, datetime.now(UTC))
        assert found is not None and len(found[1]) == 1
        assert found[1][0] in {r[1] for r in results if r is not None}
    finally:
        await other.close()


async def test_cached_lookups_see_remote_revocation_within_the_bound(
    store: IdentityStore, open_store: OpenStore
) -> None:
    # Two other hosts: one whose bound no slow machine outlasts between the calls below
    # (a bound of 0.3 s was: the revocation's round trip alone can take longer), and one
    # whose short bound is waited out.
    lasting = await open_store(cache_seconds=3600)
    brief = await open_store(cache_seconds=0.3)
    try:
        key, secret = await store.create_key("k", ["read:objects"])
        now = datetime.now(UTC)
        for cached in (lasting, brief):
            assert await cached.find_by_secret(secret, now) == key
            assert await cached.sigv4_secrets(key.id, now) is not None
        await store.revoke_key(key.id)
        if store.db.change_marker() is None:
            # Within the bound the other host may still answer from its cache ...
            assert await lasting.find_by_secret(secret, now) == key
            await asyncio.sleep(0.35)
            cached_hosts = [brief]
        else:
            cached_hosts = [lasting, brief]
        # ... and never after it (SQLite: at once, whatever the bound: its cache is exact).
        for cached in cached_hosts:
            assert await cached.find_by_secret(secret, now) is None
            assert await cached.sigv4_secrets(key.id, now) is None
    finally:
        await lasting.close()
        await brief.close()


@pytest.mark.parametrize("marker", ["wal-index header", "data_version"])
async def test_sqlite_lookups_are_reused_until_anything_is_committed(
    sqlite_store: IdentityStore, data_dir: Path, master_key: bytes, marker: str
) -> None:
    """SQLite's key-lookup cache is exact whatever ``cache_seconds`` says: an answer is
    reused only while nothing was committed by any connection (another process here: a
    second store on the same file), so a revocation applies to the very next request,
    and a rotation's grace period ends on time even for an answer read before. With
    either change marker: the WAL-index header (what runs) and ``PRAGMA data_version``
    (where the header cannot be mapped)."""
    store = sqlite_store
    assert store.db.change_marker() is not None
    other = await IdentityStore.open(data_dir, master_key)
    assert other.db._watch.usable  # type: ignore[attr-defined]
    if marker == "data_version":
        other.db._watch.usable = False  # type: ignore[attr-defined]
    statements: list[str] = []
    try:
        key, secret = await store.create_key("k", ["read:objects"])
        now = datetime.now(UTC)
        first = await other.sigv4_secrets(key.id, now)
        assert first is not None and first[1] == (secret,)
        reader = other.db._reader  # type: ignore[attr-defined]
        reader.set_trace_callback(statements.append)
        assert await other.sigv4_secrets(key.id, now) == first
        assert await other.find_by_secret(secret, now) == key
        assert await other.find_by_secret(secret, now) == key
        # Repeats read only the marker (and the Bearer lookup its row once).
        assert sum("access_key_secrets" in sql for sql in statements) == 1
        rotated = await store.rotate_key(key.id, grace=timedelta(seconds=60), now=now)
        assert rotated is not None
        both = await other.sigv4_secrets(key.id, now)
        assert both is not None and both[1] == (rotated[1], secret)
        # The previous secret's grace period ends: the cached answer drops it.
        later = now + timedelta(seconds=61)
        assert await other.sigv4_secrets(key.id, later) == (both[0], (rotated[1],))
        await store.revoke_key(key.id)
        assert await other.sigv4_secrets(key.id, now) is None
        assert await other.find_by_secret(rotated[1], now) is None
    finally:
        await other.close()


async def test_cache_never_outlives_a_write_of_the_same_process(open_store: OpenStore) -> None:
    cached = await open_store(cache_seconds=60)
    try:
        key, secret = await cached.create_key("k", ["read:objects"])
        now = datetime.now(UTC)
        assert await cached.find_by_secret(secret, now) == key
        rotated = await cached.rotate_key(key.id)
        assert rotated is not None
        assert await cached.find_by_secret(secret, now) is None
        assert await cached.sigv4_secrets(key.id, now) == (rotated[0], (rotated[1],))
        await cached.revoke_key(key.id)
        assert await cached.sigv4_secrets(key.id, now) is None
    finally:
        await cached.close()
