"""The login throttle of the state store: exponential back-off, a window, reservations
before the password check, and state shared by every worker (and host)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from gateway.identity.store import IdentityStore
from gateway.identity.throttle import ThrottlePolicy
from tests.gateway.identity.conftest import OpenStore


async def test_throttle_backs_off_exponentially(store: IdentityStore) -> None:
    policy = ThrottlePolicy(threshold=5, base_delay=1, max_delay=60)
    now = datetime.now(UTC)
    buckets = ["user:alice", "ip:192.0.2.1"]
    for _ in range(4):
        assert await store.throttle.record_failure(buckets, policy, now=now) == 0
    assert await store.throttle.retry_after(buckets, now=now) == 0
    assert await store.throttle.record_failure(buckets, policy, now=now) == 1
    assert await store.throttle.record_failure(buckets, policy, now=now) == 2
    assert await store.throttle.record_failure(buckets, policy, now=now) == 4
    assert await store.throttle.retry_after(["ip:192.0.2.1"], now=now) == 4
    assert await store.throttle.retry_after(["user:bob"], now=now) == 0
    for _ in range(20):
        delay = await store.throttle.record_failure(buckets, policy, now=now)
    assert delay == 60
    await store.throttle.clear("user:alice")
    assert await store.throttle.retry_after(["user:alice"], now=now) == 0
    assert await store.throttle.retry_after(buckets, now=now) == 60


async def test_failures_older_than_the_window_are_forgotten(store: IdentityStore) -> None:
    policy = ThrottlePolicy(threshold=2, base_delay=1, max_delay=10)
    start = datetime.now(UTC)
    await store.throttle.record_failure(["user:x"], policy, now=start)
    later = start + timedelta(seconds=11)
    assert await store.throttle.record_failure(["user:x"], policy, now=later) == 0


async def test_throttle_state_is_shared_by_store_instances(
    store: IdentityStore, open_store: OpenStore
) -> None:
    """Two store instances on one database stand for two workers (or two hosts)."""
    other = await open_store()
    try:
        policy = ThrottlePolicy()
        for _ in range(5):
            await store.throttle.record_failure(["user:carol"], policy)
        assert await other.throttle.retry_after(["user:carol"]) > 0
        await other.throttle.record_failure(["user:carol"], policy)
        assert await store.throttle.retry_after(["user:carol"]) > 1
    finally:
        await other.close()


async def test_reservation_lets_at_most_threshold_parallel_attempts_through(
    store: IdentityStore, open_store: OpenStore
) -> None:
    """Attempts are counted before the password is checked, atomically: of many parallel
    attempts from two workers, exactly ``threshold`` are let through."""
    other = await open_store()
    try:
        policy = ThrottlePolicy(threshold=5, base_delay=60, max_delay=600)
        buckets = ["user:dave", "ip:198.51.100.9"]
        reservations = await asyncio.gather(
            *(s.throttle.reserve(buckets, policy) for _ in range(20) for s in (store, other))
        )
        waits = [r.wait for r in reservations]
        assert sum(1 for w in waits if w == 0) == 5
        assert all(w > 50 for w in waits if w != 0), waits
        assert await store.throttle.retry_after(buckets) > 50
    finally:
        await other.close()


async def test_success_clears_the_user_and_refunds_the_address(store: IdentityStore) -> None:
    policy = ThrottlePolicy(threshold=3, base_delay=60, max_delay=600)
    now = datetime.now(UTC)
    user, address = "user:erin", "ip:203.0.113.5"
    throttle = store.throttle
    for _ in range(2):
        assert (await throttle.reserve([user, address], policy, now=now)).granted
    # The third reservation reaches the threshold: both buckets blocked from now on ...
    third = await throttle.reserve([user, address], policy, now=now)
    assert third.granted
    assert await throttle.retry_after([address], now=now) == 60
    # ... unless that attempt succeeds: the user bucket is forgotten and the address
    # gets its attempt back, unblocked as it was before (2 failures remain).
    await throttle.succeeded(third, policy, clear=[user])
    assert await throttle.retry_after([user, address], now=now) == 0
    assert (await throttle.reserve([address], policy, now=now)).granted
    assert await throttle.retry_after([address], now=now) == 60


async def test_success_after_a_waited_out_block_does_not_block_again(store: IdentityStore) -> None:
    policy = ThrottlePolicy(threshold=2, base_delay=10, max_delay=600)
    now = datetime.now(UTC)
    user, address = "user:gus", "ip:203.0.113.6"
    for _ in range(2):
        assert (await store.throttle.reserve([user, address], policy, now=now)).granted
    assert await store.throttle.retry_after([address], now=now) == 10
    later = now + timedelta(seconds=10)
    attempt = await store.throttle.reserve([user, address], policy, now=later)
    assert attempt.granted
    await store.throttle.succeeded(attempt, policy, clear=[user])
    assert await store.throttle.retry_after([user, address], now=later) == 0


async def test_a_success_among_parallel_failures_keeps_their_block(store: IdentityStore) -> None:
    policy = ThrottlePolicy(threshold=2, base_delay=10, max_delay=600)
    now = datetime.now(UTC)
    address = "ip:203.0.113.7"
    mine = await store.throttle.reserve([address], policy, now=now)
    other = await store.throttle.reserve([address], policy, now=now + timedelta(seconds=1))
    assert mine.granted and other.granted
    await store.throttle.succeeded(mine, policy, clear=[])
    # one failure left (the other attempt's): below the threshold, not blocked
    assert await store.throttle.retry_after([address], now=now + timedelta(seconds=1)) == 0
    row = await store.db.fetch_one(
        "SELECT failures FROM auth_throttle WHERE bucket = ?", (address,)
    )
    assert row == (1,)


async def test_a_blocked_reservation_counts_nothing(store: IdentityStore) -> None:
    policy = ThrottlePolicy(threshold=1, base_delay=10, max_delay=100)
    now = datetime.now(UTC)
    assert (await store.throttle.reserve(["user:f"], policy, now=now)).granted
    for _ in range(5):
        assert (await store.throttle.reserve(["user:f"], policy, now=now)).wait == 10
    later = now + timedelta(seconds=10)
    assert (await store.throttle.reserve(["user:f"], policy, now=later)).granted
    assert await store.throttle.retry_after(["user:f"], now=later) == 20  # 2nd failure
