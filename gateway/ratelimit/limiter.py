"""The worker's rate limiter: which buckets a request spends from, and the leases behind
them.

A request spends one token from its principal's bucket (access key, user or OAuth
client; anonymous requests: their client address's) and, when accounts are limited, one
from its account's bucket (not the root key: an account limit never locks the operator
out). Tokens come from the shared buckets in the state store
(:class:`~gateway.identity.rate_limits.RateLimitStore`) in leases held in memory
(:class:`~gateway.ratelimit.buckets.LocalBucket`), so the usual request costs a dict
lookup and a subtraction; one request per lease (at most ``lease_seconds`` of the rate)
waits for a transaction, and the other requests of the worker that need the same bucket
meanwhile wait for that one. What every worker and host admits together never exceeds
what the shared bucket gives: the limits hold across ``--workers`` and hosts.

Per-key and per-account overrides are read from the store and reused for
``override_cache_seconds``. If the state store fails, the limiter admits (fails open)
for one lease at a time and logs, rather than refusing every request.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Iterable

from backends.outage import OutageLog
from gateway.config import RateLimitConfig
from gateway.identity.rate_limits import RateLimit, RateLimitStore
from gateway.principal import Principal
from gateway.ratelimit.buckets import LocalBucket
from gateway.ratelimit.verdict import Verdict
from sigv4.memo import remember

__all__ = ["RateLimiter", "address_bucket", "configured"]

log = logging.getLogger("nfyio.ratelimit")

MAX_ROUNDS = 16
"""Leases one request may wait for before it is refused (an overloaded event loop that
lets each lease expire before its tokens are spent): refused, never admitted unpaid."""
MAX_BUCKETS = 100_000
"""Local buckets kept per worker; idle ones are dropped first."""
IDLE_SECONDS = 60.0
STORE_RETRY = 1.0
"""Seconds the limiter admits without the state store after a failed lease."""


def configured(requests_per_minute: int, burst: int) -> RateLimit | None:
    """A configured limit: ``None`` when off (0); a burst of 0 is the rate itself."""
    if requests_per_minute <= 0:
        return None
    return RateLimit(requests_per_minute, burst if burst > 0 else requests_per_minute)


def address_bucket(address: str, ipv6_prefix: int) -> str:
    """The anonymous bucket of a client address: ``ip:<IPv4>`` or ``ip:<IPv6 network>``
    (one attacker holds a whole /64, so per-address IPv6 buckets would be no limit)."""
    if ":" not in address:
        return f"ip:{address}"
    try:
        parsed = ipaddress.IPv6Address(address.split("%", 1)[0])
    except ValueError:
        return f"ip:{address}"
    if parsed.ipv4_mapped is not None:
        return f"ip:{parsed.ipv4_mapped}"
    network = ipaddress.IPv6Network((parsed, ipv6_prefix), strict=False)
    return f"ip:{network}"


class RateLimiter:
    """One per worker process (``gateway.app.Shared``); see the module docstring."""

    def __init__(self, store: RateLimitStore, config: RateLimitConfig) -> None:
        self._store = store
        self._config = config
        self._lease_seconds = config.lease_seconds
        self._cache_seconds = config.override_cache_seconds
        self.principal_default = configured(config.requests_per_minute, config.burst)
        self.anonymous_default = configured(
            config.anonymous_requests_per_minute, config.anonymous_burst
        )
        self.account_default = configured(config.account_requests_per_minute, config.account_burst)
        self._buckets: dict[str, LocalBucket] = {}
        self._overrides: dict[str, tuple[RateLimit | None, float]] = {}
        self._refunds: dict[str, tuple[RateLimit, int]] = {}
        # The store's outages as a line when they start, at most one per 10 s and one when
        # they end (backends.outage), one log per operation: each fails its own way.
        self._lease_outage = OutageLog(log, "rate limiter: the state store's leases")
        self._override_outage = OutageLog(log, "rate limiter: the state store's overrides")
        self._refund_outage = OutageLog(log, "rate limiter: the state store's refunds")
        self._down_until = 0.0
        """After a failed lease, the store is not asked again before this (monotonic)."""

    # --- admission ----------------------------------------------------------------------

    async def admit(self, principal: Principal, address: str) -> Verdict | None:
        """Spend a token of each bucket of this request; ``None`` when no limit applies.
        A refused verdict names the bucket that was empty; the tokens the request took
        from the buckets before it are given back (a request the account's bucket
        refuses does not use up its key's own limit)."""
        spent: list[LocalBucket] = []
        limits = await self._limits(principal, address)
        now = time.monotonic()
        for name, limit in limits:
            bucket = self._bucket(name, limit)
            # a token of the lease in hand is spent here, without the coroutine that
            # waits for the next lease (the usual request: see _spend)
            if not bucket.spend(now) and not await self._spend(bucket):
                for earlier in spent:
                    if not earlier.unspend(time.monotonic()):
                        self._refund(earlier, 1)
                return Verdict(False, (bucket,))
            spent.append(bucket)
        return Verdict(True, tuple(spent)) if spent else None

    async def _limits(self, principal: Principal, address: str) -> list[tuple[str, RateLimit]]:
        found: list[tuple[str, RateLimit]] = []
        kind = principal.kind
        if kind == "anonymous":
            if self.anonymous_default is not None:
                name = address_bucket(address, self._config.ipv6_prefix)
                found.append((name, self.anonymous_default))
            return found
        name = f"{kind}:{principal.subject}"
        limit = self.principal_default
        if kind == "key":
            cached = self._fresh_override(name)
            limit = (cached[0] if cached is not None else await self._override(name)) or limit
        if limit is not None:
            found.append((name, limit))
        account = principal.account_id
        # The root key is never held back by an account's limit (its own still applies):
        # a limit set on the system account must not lock the operator out.
        if account is not None and not principal.root:
            subject = f"account:{account}"
            cached = self._fresh_override(subject)
            override = cached[0] if cached is not None else await self._override(subject)
            limit = override or self.account_default
            if limit is not None:
                found.append((subject, limit))
        return found

    async def principal_limit(self, principal: Principal) -> RateLimit | None:
        """The limit of ``principal``'s own bucket (its override or the default;
        ``None``: unlimited)."""
        if principal.is_anonymous:
            return self.anonymous_default
        if principal.kind == "key":
            override = await self._override(f"key:{principal.subject}")
            if override is not None:
                return override
        return self.principal_default

    async def account_limit(self, account_id: str) -> RateLimit | None:
        """The limit of the account's bucket as the store has it now (its override or the
        default; ``None``: unlimited): what a key's own limit of the account may not
        exceed. Read afresh, not from the override cache: it decides an API answer."""
        override = await self._store.override(f"account:{account_id}")
        return override or self.account_default

    def _bucket(self, name: str, limit: RateLimit) -> LocalBucket:
        bucket = self._buckets.get(name)
        if bucket is not None and (bucket.limit is limit or bucket.limit == limit):
            return bucket
        if bucket is not None:  # the limit changed: give back what the old lease held
            self._refund(bucket, bucket.tokens)
        elif len(self._buckets) >= MAX_BUCKETS:
            self.sweep(time.monotonic(), drop_idle_after=0.0)
        bucket = self._buckets[name] = LocalBucket(name, limit, self._lease_seconds)
        return bucket

    async def _spend(self, bucket: LocalBucket) -> bool:
        for _ in range(MAX_ROUNDS):
            now = time.monotonic()
            if bucket.spend(now):
                return True
            if bucket.blocked(now):
                return False
            bucket.waiting += 1
            try:
                await self._lease(bucket, now)
            finally:
                bucket.waiting -= 1
        return False

    async def _lease(self, bucket: LocalBucket, now: float) -> None:
        """Take the next lease for ``bucket``, or wait for the one being taken."""
        if bucket.leasing is not None:
            await asyncio.shield(bucket.leasing)
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        bucket.leasing = done
        try:
            self._refund(bucket, bucket.expire(now))
            want = bucket.next_size(now, bucket.waiting)
            if now < self._down_until:  # the store just failed: no request waits for it
                bucket.open_up(now, self._lease_seconds, want)
                return
            wall_us = time.time_ns() // 1000
            try:
                lease = await self._store.take(bucket.name, bucket.limit, want, wall_us)
            except Exception as exc:
                self._lease_outage.failed(
                    f"{type(exc).__name__}; admitting without limits, asking it again in"
                    f" {STORE_RETRY:g} s"
                )
                self._down_until = time.monotonic() + STORE_RETRY
                bucket.open_up(time.monotonic(), self._lease_seconds, want)
            else:
                self._lease_outage.available()
                bucket.leased(lease, time.monotonic(), self._lease_seconds, wall_us)
        finally:
            bucket.leasing = None
            done.set_result(None)

    def _fresh_override(self, subject: str) -> tuple[RateLimit | None, float] | None:
        """The cached override of ``subject`` (and its expiry) while it is fresh: the
        usual request reads it without the coroutine that asks the store."""
        cached = self._overrides.get(subject)
        if cached is not None and cached[1] > time.monotonic():
            return cached
        return None

    async def _override(self, subject: str) -> RateLimit | None:
        fresh = self._fresh_override(subject)
        if fresh is not None:
            return fresh[0]
        cached = self._overrides.get(subject)  # stale: still the answer if the store fails
        try:
            value = await self._store.override(subject)
        except Exception as exc:
            self._override_outage.failed(
                f"{type(exc).__name__}; the last value read (else the default) applies"
            )
            value = None if cached is None else cached[0]
        else:
            self._override_outage.available()
        remember(
            self._overrides, subject, (value, time.monotonic() + self._cache_seconds), MAX_BUCKETS
        )
        return value

    def forget_override(self, subject: str) -> None:
        """After this worker changed ``subject``'s override: read it again next time."""
        self._overrides.pop(subject, None)

    # --- giving tokens back, dropping idle buckets ----------------------------------------

    def _refund(self, bucket: LocalBucket, count: int) -> None:
        if count <= 0:
            return
        _, pending = self._refunds.get(bucket.name, (bucket.limit, 0))
        self._refunds[bucket.name] = (bucket.limit, pending + count)

    def sweep(self, now: float, *, drop_idle_after: float = IDLE_SECONDS) -> None:
        """End expired leases (their tokens go back) and forget buckets idle for
        ``drop_idle_after`` seconds."""
        idle: list[str] = []
        for name, bucket in self._buckets.items():
            self._refund(bucket, bucket.expire(now))
            if (
                bucket.leasing is None
                and not bucket.blocked(now)
                and now - bucket.expires >= drop_idle_after
            ):
                idle.append(name)
        for name in idle:
            del self._buckets[name]

    async def flush(self) -> None:
        """Give back the tokens of expired leases, in one transaction."""
        self.sweep(time.monotonic())
        if not self._refunds:
            return
        batch, self._refunds = self._refunds, {}
        try:
            await self._store.refund([(name, limit, n) for name, (limit, n) in batch.items()])
        except Exception as exc:
            # Lost tokens only make the limit stricter for a moment; never retried twice.
            self._refund_outage.failed(
                f"{type(exc).__name__}; leased tokens not given back (the limit is stricter"
                " for a moment)"
            )
        else:
            self._refund_outage.available()

    async def run(self, interval: float = 1.0) -> None:
        """Flush every ``interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(interval)
            await self.flush()

    def buckets(self) -> Iterable[LocalBucket]:
        return self._buckets.values()
