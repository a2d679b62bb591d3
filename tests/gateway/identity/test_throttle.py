"""The login throttle of the identity store: exponential back-off, a window, and state
shared through SQLite by every worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.identity.store import IdentityStore
from gateway.identity.throttle import ThrottlePolicy


async def test_throttle_backs_off_exponentially(store: IdentityStore) -> None:
    policy = ThrottlePolicy(threshold=5, base_delay=1, max_delay=60)
    now = datetime.now(UTC)
    buckets = ["user:alice", "ip:192.0.2.1"]
    for _ in range(4):
        assert await store.throttle.record_failure(buckets, policy, now=now) == 0
    assert store.throttle.retry_after(buckets, now=now) == 0
    assert await store.throttle.record_failure(buckets, policy, now=now) == 1
    assert await store.throttle.record_failure(buckets, policy, now=now) == 2
    assert await store.throttle.record_failure(buckets, policy, now=now) == 4
    assert store.throttle.retry_after(["ip:192.0.2.1"], now=now) == 4
    assert store.throttle.retry_after(["user:bob"], now=now) == 0
    for _ in range(20):
        delay = await store.throttle.record_failure(buckets, policy, now=now)
    assert delay == 60
    await store.throttle.clear("user:alice")
    assert store.throttle.retry_after(["user:alice"], now=now) == 0
    assert store.throttle.retry_after(buckets, now=now) == 60


async def test_failures_older_than_the_window_are_forgotten(store: IdentityStore) -> None:
    policy = ThrottlePolicy(threshold=2, base_delay=1, max_delay=10)
    start = datetime.now(UTC)
    await store.throttle.record_failure(["user:x"], policy, now=start)
    later = start + timedelta(seconds=11)
    assert await store.throttle.record_failure(["user:x"], policy, now=later) == 0


async def test_throttle_state_is_shared_by_store_instances(
    store: IdentityStore, data_dir: Path, master_key: bytes
) -> None:
    """Two store instances on one file stand for two worker processes."""
    other = await IdentityStore.open(data_dir, master_key)
    try:
        policy = ThrottlePolicy()
        for _ in range(5):
            await store.throttle.record_failure(["user:carol"], policy)
        assert other.throttle.retry_after(["user:carol"]) > 0
        await other.throttle.record_failure(["user:carol"], policy)
        assert store.throttle.retry_after(["user:carol"]) > 1
    finally:
        await other.close()
