"""Shared token buckets and per-key / per-account rate-limit overrides.

Reached as ``IdentityStore.rate_limits``. One row per bucket (``key:ak_...``,
``user:usr_...``, ``client:cl_...``, ``ip:203.0.113.7``, ``account:acct_...``) holds its
tokens in thousandths, as of ``updated_at``; every worker on every host takes tokens
from the same row. Workers take them in *leases* (:meth:`RateLimitStore.take`: up to
``want`` tokens in one transaction) and spend them from memory
(:mod:`gateway.ratelimit`), so a request almost never waits for the database; tokens a
worker did not use are given back in batches (:meth:`RateLimitStore.refund`).

A bucket of ``requests_per_minute`` N and ``burst`` B holds at most B tokens and gains N
per minute. A missing row is a full bucket, so rows that are full again (``full_at``
passed) can be pruned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.identity.columns import as_int
from gateway.identity.db import Database, Dialect, Tx

__all__ = ["MILLI", "Lease", "RateLimit", "RateLimitStore", "refilled", "write_override"]

MILLI = 1000
"""Tokens are stored in thousandths: a slow bucket (1 per minute) still refills a little
on every read, with integers only."""
_MINUTE_US = 60_000_000


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``requests_per_minute`` (> 0) and ``burst`` (the bucket's size, > 0)."""

    requests_per_minute: int
    burst: int

    def __post_init__(self) -> None:
        if self.requests_per_minute <= 0 or self.burst <= 0:
            raise ValueError("requests_per_minute and burst must be positive")

    @property
    def capacity(self) -> int:
        """The bucket's size in thousandths of a token."""
        return self.burst * MILLI

    def micros_for(self, milli: int) -> int:
        """Microseconds the bucket takes to gain ``milli`` thousandths (rounded up)."""
        if milli <= 0:
            return 0
        per_minute = self.requests_per_minute * MILLI
        return -(-milli * _MINUTE_US // per_minute)


@dataclass(frozen=True, slots=True)
class Lease:
    """What one :meth:`RateLimitStore.take` got: ``granted`` tokens (0..want), and the
    shared bucket's state after it: ``remaining`` thousandths, when it is ``full_at``
    and when its next whole token is there (``next_token_at``), in microseconds."""

    granted: int
    remaining: int
    full_at: int
    next_token_at: int


def refilled(limit: RateLimit, tokens: int, updated_at: int, full_at: int, now: int) -> int:
    """The bucket's thousandths at ``now``: what it held, plus what it gained since, at
    most its capacity. ``full_at`` bounds the multiplication (no overflow)."""
    capacity = limit.capacity
    if now >= full_at:
        return capacity
    gained = max(0, now - updated_at) * limit.requests_per_minute * MILLI // _MINUTE_US
    return min(capacity, tokens + gained)


_CAPPED_ADD: dict[Dialect, str] = {
    "sqlite": "UPDATE rate_limit_buckets SET tokens = MIN(?, tokens + ?) WHERE bucket = ?",
    "postgresql": "UPDATE rate_limit_buckets SET tokens = LEAST(?, tokens + ?) WHERE bucket = ?",
}


async def write_override(tx: Tx, subject: str, limit: RateLimit | None, now_us: int) -> None:
    """Set (or with ``None`` remove) the override of ``subject`` inside ``tx``."""
    if limit is None:
        await tx.execute("DELETE FROM rate_limit_overrides WHERE subject = ?", (subject,))
        return
    await tx.execute(
        "INSERT INTO rate_limit_overrides (subject, requests_per_minute, burst, updated_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (subject) DO UPDATE SET"
        " requests_per_minute = excluded.requests_per_minute, burst = excluded.burst,"
        " updated_at = excluded.updated_at",
        (subject, limit.requests_per_minute, limit.burst, now_us),
    )


class RateLimitStore:
    """Token buckets and overrides; reached as ``IdentityStore.rate_limits``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- buckets ------------------------------------------------------------------------

    async def take(self, bucket: str, limit: RateLimit, want: int, now_us: int) -> Lease:
        """Take up to ``want`` whole tokens from ``bucket`` (created full if absent), in
        one transaction that locks its row: whatever every worker and host takes, the
        bucket never gives more than it holds. The row's time only moves forward, so
        hosts whose clocks disagree get no refill twice (a host behind the others reads
        the bucket as of the latest time written, and waits that much longer)."""
        if want < 1:
            raise ValueError("want must be at least 1")

        async def body(tx: Tx) -> Lease:
            await tx.execute(
                "INSERT INTO rate_limit_buckets (bucket, tokens, updated_at, full_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (bucket) DO NOTHING",
                (bucket, limit.capacity, now_us, now_us),
            )
            row = await tx.fetch_one(
                "SELECT tokens, updated_at, full_at FROM rate_limit_buckets WHERE bucket = ?"
                + tx.for_update,
                (bucket,),
            )
            assert row is not None
            stored_at = as_int(row[1])
            # Never back in time: a host whose clock is behind the one that wrote the row
            # would move ``updated_at`` back, and the next lease would count that stretch's
            # refill a second time (each alternation between the hosts, again).
            at = max(now_us, stored_at)
            tokens = refilled(limit, as_int(row[0]), stored_at, as_int(row[2]), at)
            granted = min(want, tokens // MILLI)
            left = tokens - granted * MILLI
            full_at = at + limit.micros_for(limit.capacity - left)
            await tx.execute(
                "UPDATE rate_limit_buckets SET tokens = ?, updated_at = ?, full_at = ?"
                " WHERE bucket = ?",
                (left, at, full_at, bucket),
            )
            return Lease(granted, left, full_at, at + limit.micros_for(MILLI - left))

        # Hot rows (one key used by every worker): row locks in READ COMMITTED, never a
        # serialization failure to retry (see gateway/identity/db.py).
        return await self._db.transaction(body, isolation="read_committed")

    async def refund(self, items: Sequence[tuple[str, RateLimit, int]]) -> None:
        """Give back whole tokens taken but not used: ``(bucket, limit, tokens)`` each, in
        one transaction, rows in sorted order (no deadlock between workers)."""
        rows = sorted(
            (bucket, limit.capacity, count * MILLI) for bucket, limit, count in items if count > 0
        )
        if not rows:
            return
        sql = _CAPPED_ADD[self._db.dialect]

        async def body(tx: Tx) -> None:
            for bucket, capacity, milli in rows:
                await tx.execute(sql, (capacity, milli, bucket))

        await self._db.transaction(body, isolation="read_committed")

    async def tokens(self, bucket: str, limit: RateLimit, now_us: int) -> int:
        """The bucket's thousandths at ``now_us`` (a read; for tests and the CLI)."""
        row = await self._db.fetch_one(
            "SELECT tokens, updated_at, full_at FROM rate_limit_buckets WHERE bucket = ?",
            (bucket,),
        )
        if row is None:
            return limit.capacity
        return refilled(limit, as_int(row[0]), as_int(row[1]), as_int(row[2]), now_us)

    async def prune(self, now_us: int, *, batch: int = 1000) -> int:
        """Delete rows of buckets that are full again (absent = full). Returns the count."""
        deleted = 0
        while True:

            async def remove(tx: Tx) -> int:
                return await tx.execute(
                    "DELETE FROM rate_limit_buckets WHERE bucket IN (SELECT bucket FROM"
                    " rate_limit_buckets WHERE full_at <= ? ORDER BY full_at LIMIT ?)",
                    (now_us, batch),
                )

            count = await self._db.transaction(remove)
            deleted += count
            if count < batch:
                return deleted

    # --- overrides ----------------------------------------------------------------------

    async def override(self, subject: str) -> RateLimit | None:
        """The override of ``key:<id>`` / ``account:<id>``, if one is set."""
        row = await self._db.fetch_one(
            "SELECT requests_per_minute, burst FROM rate_limit_overrides WHERE subject = ?",
            (subject,),
        )
        return None if row is None else RateLimit(as_int(row[0]), as_int(row[1]))

    async def overrides(self, subjects: Sequence[str]) -> dict[str, RateLimit]:
        """The overrides of several subjects at once (a listing of keys)."""
        if not subjects:
            return {}
        marks = ", ".join("?" * len(subjects))
        rows = await self._db.fetch_all(
            "SELECT subject, requests_per_minute, burst FROM rate_limit_overrides"
            f" WHERE subject IN ({marks})",
            tuple(subjects),
        )
        return {str(row[0]): RateLimit(as_int(row[1]), as_int(row[2])) for row in rows}

    async def set_override(self, subject: str, limit: RateLimit | None, now_us: int) -> None:
        await self._db.transaction(lambda tx: write_override(tx, subject, limit, now_us))
