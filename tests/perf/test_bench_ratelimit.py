"""Micro-benchmarks of the rate limiter's per-request path (no timed assertions):
spending a leased token, and writing the three headers. The lease transaction every
``lease_seconds`` of a bucket's rate is outside this loop: it happens once per up to 250
requests at the default rate, and ``tests/perf/ratelimit_cost.py`` measures the whole."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.config import RateLimitConfig
from gateway.identity.store import IdentityStore
from gateway.principal import Principal
from gateway.ratelimit import RateLimiter

KEY = Principal(
    kind="key", subject="ak_bench", scopes=frozenset(), key_id="ak_bench", account_id="acct_a"
)


@pytest.fixture
def limiter(tmp_path: Path) -> Iterator[tuple[asyncio.AbstractEventLoop, RateLimiter]]:
    loop = asyncio.new_event_loop()
    store = loop.run_until_complete(IdentityStore.open(tmp_path, b"k" * 32))
    config = RateLimitConfig(requests_per_minute=60_000, burst=10**9, lease_seconds=10)
    made = RateLimiter(store.rate_limits, config)
    loop.run_until_complete(made.admit(KEY, "127.0.0.1"))  # the first lease
    yield loop, made
    loop.run_until_complete(store.close())
    loop.close()


def test_bench_admit_from_a_lease(
    benchmark: Any, limiter: tuple[asyncio.AbstractEventLoop, RateLimiter]
) -> None:
    loop, made = limiter

    async def hundred() -> None:
        for _ in range(100):
            await made.admit(KEY, "127.0.0.1")

    benchmark(lambda: loop.run_until_complete(hundred()))


def test_bench_write_headers(
    benchmark: Any, limiter: tuple[asyncio.AbstractEventLoop, RateLimiter]
) -> None:
    loop, made = limiter
    verdict = loop.run_until_complete(made.admit(KEY, "127.0.0.1"))
    assert verdict is not None

    def hundred() -> None:
        for _ in range(100):
            verdict.write_headers({})

    benchmark(hundred)
