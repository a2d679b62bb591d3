"""The state store behind PgBouncer in transaction pool mode (``identity.prepared_statements
= false``): two hosts' stores, many concurrent requests each, two server connections for
all of them, so consecutive transactions of one client run on different server
connections. Every read, write and serializable retry works; with prepared statements on,
the same load fails, which is why the setting exists."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from gateway.identity.db import PoolOptions
from gateway.identity.store import IdentityStore
from tests.services.pgbouncer import PgBouncer

POOL = PoolOptions(min_size=4, max_size=8, prepared_statements=False)


async def _hosts(tmp_path: Path, url: str, pool: PoolOptions) -> list[IdentityStore]:
    key = os.urandom(32)
    # Both start at once: the migration's advisory lock is transaction-scoped.
    return list(
        await asyncio.gather(
            *(IdentityStore.open(tmp_path / name, key, url=url, pool=pool) for name in "ab")
        )
    )


async def _work(store: IdentityStore, other: IdentityStore, rounds: int) -> int:
    """Lookups, key writes, and sessions whose refresh is a serializable transaction."""
    done = 0
    user = await store.users.create(f"u-{os.urandom(4).hex()}", "password-1", ["read:objects"])
    client, _ = await store.clients.create("c", scopes=["read:objects"])
    for n in range(rounds):
        key, secret = await store.create_key(f"k{n}", ["read:objects"])
        now = datetime.now(UTC)
        assert await other.find_by_secret(secret, now) == key
        assert await other.sigv4_secrets(key.id, now) == (key, (secret,))
        _, token = await store.sessions.start(
            user.id,
            client.id,
            ["read:objects"],
            expires_at=now + timedelta(days=1),
            with_refresh=True,
        )
        assert token is not None
        assert (await other.sessions.rotate(token, client.id)).outcome == "ok"
        assert await other.revoke_key(key.id)
        assert await store.sigv4_secrets(key.id, datetime.now(UTC)) is None
        done += 1
    return done


async def test_two_hosts_share_a_store_through_pgbouncer(
    tmp_path: Path, pgbouncer: PgBouncer
) -> None:
    a, b = await _hosts(tmp_path, await pgbouncer.fresh_url(), POOL)
    try:
        counts = await asyncio.gather(
            *(_work(x, y, 6) for x, y in ((a, b), (b, a)) for _ in range(6))
        )
        assert counts == [6] * 12
    finally:
        await asyncio.gather(a.close(), b.close())


async def test_prepared_statements_break_behind_a_transaction_pooler(
    tmp_path: Path, pgbouncer: PgBouncer
) -> None:
    prepared = PoolOptions(min_size=4, max_size=8, prepared_statements=True)
    a, b = await _hosts(tmp_path, await pgbouncer.fresh_url(), prepared)
    try:
        with pytest.raises(asyncpg.PostgresError, match="prepared statement"):
            await asyncio.gather(*(_work(x, y, 6) for x, y in ((a, b), (b, a)) for _ in range(6)))
    finally:
        await asyncio.gather(a.close(), b.close(), return_exceptions=True)
