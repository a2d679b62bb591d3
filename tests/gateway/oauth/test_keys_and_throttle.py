"""Signing-key rotation overlap and the throttle shared through SQLite."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.identity.store import IdentityStore
from gateway.identity.throttle import ThrottlePolicy


async def test_first_key_is_created_once_and_sealed(store: IdentityStore) -> None:
    kid = await store.signing_keys.ensure_active()
    assert await store.signing_keys.ensure_active() == kid
    conn = sqlite3.connect(store.path)
    blob = conn.execute("SELECT private_enc FROM signing_keys").fetchone()[0]
    conn.close()
    assert b"PRIVATE KEY" not in blob


async def test_rotation_serves_old_key_during_overlap_only(store: IdentityStore) -> None:
    keys = store.signing_keys
    old = await keys.ensure_active()
    now = datetime.now(UTC)
    new = await keys.rotate(overlap=timedelta(hours=1), now=now)
    active = keys.active()
    assert active is not None and active[0] == new
    assert {k["kid"] for k in keys.jwks(now)} == {old, new}
    assert keys.public_key(old, now + timedelta(minutes=59)) is not None
    after = now + timedelta(hours=1, seconds=1)
    assert keys.public_key(old, after) is None
    assert {k["kid"] for k in keys.jwks(after)} == {new}
    assert await keys.prune(now=after) == [old]
    assert [k.kid for k in keys.all()] == [new]


async def test_remove_refuses_the_active_key(store: IdentityStore) -> None:
    keys = store.signing_keys
    old = await keys.ensure_active()
    assert not await keys.remove(old)
    await keys.rotate(overlap=timedelta(hours=1))
    assert await keys.remove(old)
    assert keys.public_key(old, datetime.now(UTC)) is None


async def test_jwks_has_no_private_parts(store: IdentityStore) -> None:
    for jwk in store.signing_keys.jwks(datetime.now(UTC)):
        assert set(jwk) >= {"kty", "n", "e", "kid", "alg", "use"}
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)


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
