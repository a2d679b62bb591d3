"""Shared token buckets and rate-limit overrides, on both databases."""

from __future__ import annotations

import asyncio

import pytest

from gateway.identity.rate_limits import MILLI, RateLimit
from gateway.identity.store import IdentityStore
from tests.gateway.identity.conftest import OpenStore

T0 = 1_900_000_000_000_000  # microseconds
SECOND = 1_000_000


async def test_a_new_bucket_is_full_and_gives_what_it_holds(store: IdentityStore) -> None:
    limit = RateLimit(60, 5)  # one token per second, five at most
    lease = await store.rate_limits.take("key:a", limit, 3, T0)
    assert lease.granted == 3
    assert lease.remaining == 2 * MILLI
    lease = await store.rate_limits.take("key:a", limit, 3, T0)
    assert lease.granted == 2
    assert lease.remaining == 0
    assert lease.next_token_at == T0 + SECOND
    assert lease.full_at == T0 + 5 * SECOND
    empty = await store.rate_limits.take("key:a", limit, 1, T0 + SECOND // 2)
    assert empty.granted == 0
    assert empty.next_token_at == T0 + SECOND
    refilled = await store.rate_limits.take("key:a", limit, 10, T0 + 2 * SECOND)
    assert refilled.granted == 2  # two seconds: two tokens (the half-second read kept them)
    later = await store.rate_limits.take("key:a", limit, 10, T0 + 3600 * SECOND)
    assert later.granted == 5  # never more than the burst
    assert await store.rate_limits.take("key:b", limit, 1, T0) != empty  # its own bucket


async def test_refunds_are_capped_at_the_burst(store: IdentityStore) -> None:
    limit = RateLimit(60, 4)
    await store.rate_limits.take("ip:203.0.113.1", limit, 4, T0)
    await store.rate_limits.refund([("ip:203.0.113.1", limit, 3), ("ip:never-taken", limit, 9)])
    assert await store.rate_limits.tokens("ip:203.0.113.1", limit, T0) == 3 * MILLI
    await store.rate_limits.refund([("ip:203.0.113.1", limit, 5)])
    assert await store.rate_limits.tokens("ip:203.0.113.1", limit, T0) == 4 * MILLI
    assert await store.rate_limits.tokens("ip:never-taken", limit, T0) == 4 * MILLI


async def test_workers_and_hosts_never_get_more_than_the_bucket_holds(
    store: IdentityStore, open_store: OpenStore
) -> None:
    """Several stores (workers, hosts) racing on one hot bucket: together they get
    exactly what it holds, no more."""
    limit = RateLimit(1, 50)  # refills too slowly to matter during the test
    others = [await open_store() for _ in range(3)]
    try:
        stores = [store, *others]
        leases = await asyncio.gather(
            *(s.rate_limits.take("key:hot", limit, 3, T0) for s in stores for _ in range(10))
        )
    finally:
        for other in others:
            await other.close()
    assert sum(lease.granted for lease in leases) == 50


async def test_a_host_whose_clock_is_behind_gives_no_extra_tokens(
    store: IdentityStore, open_store: OpenStore
) -> None:
    """Two hosts on one bucket, the second one's clock a second behind. Each lease it took
    moved the bucket's time back a second, and the first host's next lease counted that
    second's refill again: 20 tokens in two seconds from a bucket refilling one a second."""
    limit = RateLimit(60, 10)  # one token a second
    behind = await open_store()
    try:
        assert (await store.rate_limits.take("key:skew", limit, 10, T0)).granted == 10
        granted = 0
        for step in range(1, 21):  # two seconds of real time, leases alternating
            now = T0 + step * SECOND // 10
            granted += (await behind.rate_limits.take("key:skew", limit, 1, now - SECOND)).granted
            granted += (await store.rate_limits.take("key:skew", limit, 1, now)).granted
    finally:
        await behind.close()
    assert granted == 2  # what two seconds refill, however the clocks disagree


async def test_prune_forgets_only_full_buckets(store: IdentityStore) -> None:
    limit = RateLimit(60, 2)
    await store.rate_limits.take("key:full-soon", limit, 1, T0)
    await store.rate_limits.take("key:empty", RateLimit(1, 2), 2, T0)
    assert await store.rate_limits.prune(T0 + 2 * SECOND) == 1
    assert await store.rate_limits.tokens("key:empty", RateLimit(1, 2), T0 + 2 * SECOND) < MILLI
    assert await store.rate_limits.prune(T0 + 3 * 60 * SECOND, batch=1) == 1


async def test_overrides(store: IdentityStore, open_store: OpenStore) -> None:
    limits = store.rate_limits
    assert await limits.override("key:ak_1") is None
    await limits.set_override("key:ak_1", RateLimit(10, 20), T0)
    await limits.set_override("account:acct_1", RateLimit(100, 100), T0)
    other = await open_store()
    try:
        assert await other.rate_limits.override("key:ak_1") == RateLimit(10, 20)
        found = await other.rate_limits.overrides(["key:ak_1", "account:acct_1", "key:none"])
    finally:
        await other.close()
    assert found == {"key:ak_1": RateLimit(10, 20), "account:acct_1": RateLimit(100, 100)}
    await limits.set_override("key:ak_1", RateLimit(5, 5), T0)
    assert await limits.override("key:ak_1") == RateLimit(5, 5)
    await limits.set_override("key:ak_1", None, T0)
    assert await limits.override("key:ak_1") is None


async def test_a_key_and_its_override_are_written_together(store: IdentityStore) -> None:
    key, _ = await store.create_key("limited", ["read:objects"], rate_limit=RateLimit(7, 9))
    assert await store.rate_limits.override(f"key:{key.id}") == RateLimit(7, 9)
    plain, _ = await store.create_key("plain", ["read:objects"])
    assert await store.rate_limits.override(f"key:{plain.id}") is None


def test_limits_are_positive() -> None:
    with pytest.raises(ValueError):
        RateLimit(0, 1)
    with pytest.raises(ValueError):
        RateLimit(1, 0)
    assert RateLimit(60, 1).micros_for(MILLI) == SECOND
