"""The worker's limiter over the real state store: limits hold across workers (several
limiters on one database), leases are given back, accounts cap their keys together, and
a failing store fails open."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from gateway.config import RateLimitConfig
from gateway.identity.rate_limits import MILLI, RateLimit
from gateway.identity.store import IdentityStore
from gateway.principal import ANONYMOUS, Principal
from gateway.ratelimit import RateLimiter
from tests.gateway.identity.conftest import OpenStore


def _key(key_id: str, account: str = "acct_system") -> Principal:
    return Principal(
        kind="key", subject=key_id, scopes=frozenset(), key_id=key_id, account_id=account
    )


def _config(**values: object) -> RateLimitConfig:
    base: dict[str, object] = {
        "requests_per_minute": 1,
        "burst": 20,
        "anonymous_requests_per_minute": 1,
        "anonymous_burst": 5,
        "override_cache_seconds": 0.0,
    }
    base.update(values)
    return RateLimitConfig(**base)  # type: ignore[arg-type]


async def _allowed(limiter: RateLimiter, principal: Principal, count: int) -> int:
    verdicts = await asyncio.gather(
        *(limiter.admit(principal, "203.0.113.5") for _ in range(count))
    )
    return sum(1 for v in verdicts if v is not None and v.allowed)


async def test_a_limit_holds_across_workers(store: IdentityStore, open_store: OpenStore) -> None:
    """Three workers (three limiters, three connections) share one bucket of 20 tokens:
    of 90 concurrent requests exactly 20 pass (the bucket gains one token a minute)."""
    others = [await open_store() for _ in range(2)]
    try:
        limiters = [RateLimiter(s.rate_limits, _config()) for s in (store, *others)]
        counts = await asyncio.gather(*(_allowed(lim, _key("ak_shared"), 30) for lim in limiters))
    finally:
        for other in others:
            await other.close()
    assert sum(counts) == 20


async def test_refusals_say_when_to_retry_and_stay_in_memory(store: IdentityStore) -> None:
    # One token a minute: none comes back between the calls below however slow the
    # machine (a token a second could, refusing nothing or ending the block too soon).
    limiter = RateLimiter(store.rate_limits, _config(requests_per_minute=1, burst=2))
    assert await _allowed(limiter, _key("ak_1"), 2) == 2
    refused = await limiter.admit(_key("ak_1"), "x")
    assert refused is not None and not refused.allowed
    assert 30 <= refused.retry_after() <= 60  # the next token: a minute after the two were taken
    (bucket,) = [b for b in limiter.buckets() if b.name == "key:ak_1"]
    assert bucket.blocked(time.monotonic())  # the next refusals need no transaction
    headers: dict[str, str] = {}
    refused.write_headers(headers)
    assert headers["X-RateLimit-Remaining"] == "0"
    assert headers["X-RateLimit-Limit"] == "1"
    assert int(headers["Retry-After"]) >= 1


async def test_unused_leased_tokens_go_back(store: IdentityStore) -> None:
    limit = RateLimit(600, 1000)
    limiter = RateLimiter(
        store.rate_limits, _config(requests_per_minute=600, burst=1000, lease_seconds=10)
    )
    for _ in range(40):  # sequential use: the lease size grows past one token
        verdict = await limiter.admit(_key("ak_grow"), "x")
        assert verdict is not None and verdict.allowed
    (bucket,) = [b for b in limiter.buckets() if b.name == "key:ak_grow"]
    unused = bucket.tokens
    assert unused > 0  # held by this worker, unused
    now_us = time.time_ns() // 1000
    before = await store.rate_limits.tokens("key:ak_grow", limit, now_us)
    limiter.sweep(time.monotonic() + 11)  # as if the lease had expired
    await limiter.flush()
    after = await store.rate_limits.tokens("key:ak_grow", limit, now_us)
    assert after - before == unused * MILLI
    assert bucket.tokens == 0


async def test_an_account_caps_all_its_keys_together(store: IdentityStore) -> None:
    limiter = RateLimiter(
        store.rate_limits,
        _config(requests_per_minute=1, burst=10, account_requests_per_minute=1, account_burst=12),
    )
    counts = [await _allowed(limiter, _key(f"ak_{i}", "acct_t"), 10) for i in range(4)]
    assert counts[0] == 10  # one key: its own limit
    assert sum(counts) == 12  # four keys: the account's
    other = await _allowed(limiter, _key("ak_elsewhere", "acct_other"), 3)
    assert other == 3


async def test_overrides_of_keys_and_accounts(store: IdentityStore) -> None:
    limiter = RateLimiter(store.rate_limits, _config(requests_per_minute=1, burst=100))
    await store.rate_limits.set_override("key:ak_small", RateLimit(1, 2), 0)
    assert await _allowed(limiter, _key("ak_small"), 5) == 2
    await store.rate_limits.set_override("account:acct_small", RateLimit(1, 3), 0)
    assert await _allowed(limiter, _key("ak_big", "acct_small"), 5) == 3
    assert await limiter.principal_limit(_key("ak_small")) == RateLimit(1, 2)
    assert await limiter.principal_limit(ANONYMOUS) == RateLimit(1, 5)


async def test_anonymous_callers_share_their_address(store: IdentityStore) -> None:
    limiter = RateLimiter(store.rate_limits, _config(anonymous_burst=3))
    results = [await limiter.admit(ANONYMOUS, "198.51.100.4") for _ in range(5)]
    assert [bool(v and v.allowed) for v in results] == [True, True, True, False, False]
    elsewhere = await limiter.admit(ANONYMOUS, "198.51.100.5")
    assert elsewhere is not None and elsewhere.allowed


async def test_off_means_no_verdict(store: IdentityStore) -> None:
    limiter = RateLimiter(
        store.rate_limits, _config(requests_per_minute=0, anonymous_requests_per_minute=0)
    )
    assert await limiter.admit(_key("ak_free"), "x") is None
    assert await limiter.admit(ANONYMOUS, "x") is None


async def test_a_failing_store_fails_open(
    open_store: OpenStore, caplog: pytest.LogCaptureFixture
) -> None:
    broken = await open_store()
    limiter = RateLimiter(broken.rate_limits, _config(burst=1))
    await broken.close()  # every statement now raises
    with caplog.at_level(logging.WARNING, "nfyio.ratelimit"):
        verdicts = [await limiter.admit(_key("ak_1"), "x") for _ in range(3)]
    assert all(v is not None and v.allowed for v in verdicts)
    assert "admitting without limits" in caplog.text
    assert caplog.text.count("admitting without limits") == 1  # not once per request


async def test_an_account_limit_never_holds_back_the_root_key(store: IdentityStore) -> None:
    limiter = RateLimiter(store.rate_limits, _config(requests_per_minute=1, burst=5))
    await store.rate_limits.set_override("account:acct_system", RateLimit(1, 1), 0)
    root = Principal(
        kind="key",
        subject="AKIAROOT",
        scopes=frozenset({"admin"}),
        key_id="AKIAROOT",
        account_id="acct_system",
        root=True,
    )
    assert await _allowed(limiter, root, 5) == 5  # its own limit only
    assert await _allowed(limiter, _key("ak_tenant_admin"), 5) == 1
