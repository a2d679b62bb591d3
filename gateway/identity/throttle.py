"""Password-grant brute-force throttle, kept in SQLite so every worker process shares it.

A *bucket* is a string such as ``user:alice`` or ``ip:192.0.2.7``. Each failed login
counts against its buckets; from the ``threshold``-th failure on, the bucket is blocked
for ``base_delay * 2 ** (failures - threshold)`` seconds, at most ``max_delay``. A bucket
whose last failure is older than ``max_delay`` starts again from zero. A successful login
clears the username bucket only (clearing the address bucket would let an attacker with
one valid account reset their counter while guessing other accounts' passwords).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from gateway.identity.columns import as_int
from gateway.identity.models import to_micros, utcnow

if TYPE_CHECKING:
    from gateway.identity.store import IdentityStore

__all__ = ["ThrottlePolicy", "ThrottleStore"]

_US = 1_000_000


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    threshold: int = 5
    base_delay: float = 1.0
    max_delay: float = 900.0

    def delay(self, failures: int) -> float:
        """Seconds a bucket is blocked after its ``failures``-th consecutive failure."""
        if failures < self.threshold:
            return 0.0
        return float(min(self.base_delay * 2 ** min(failures - self.threshold, 40), self.max_delay))


class ThrottleStore:
    """Throttle buckets; reached as ``IdentityStore.throttle``."""

    def __init__(self, db: IdentityStore) -> None:
        self._db = db

    def retry_after(self, buckets: Sequence[str], *, now: datetime | None = None) -> float:
        """Seconds until every bucket in ``buckets`` is unblocked (0: go ahead)."""
        if not buckets:
            return 0.0
        when = to_micros(now or utcnow())
        marks = ", ".join("?" for _ in buckets)
        row = self._db.read_one(
            f"SELECT MAX(blocked_until) FROM auth_throttle WHERE bucket IN ({marks})",
            tuple(buckets),
        )
        until = 0 if row is None or row[0] is None else as_int(row[0])
        return max(0.0, (until - when) / _US)

    async def record_failure(
        self, buckets: Sequence[str], policy: ThrottlePolicy, *, now: datetime | None = None
    ) -> float:
        """Count one failure against each bucket; return the longest block now in force."""
        when = to_micros(now or utcnow())
        window = int(policy.max_delay * _US)

        def count(conn: sqlite3.Connection) -> float:
            longest = 0
            for bucket in buckets:
                row = conn.execute(
                    "SELECT failures, last_failure_at FROM auth_throttle WHERE bucket = ?",
                    (bucket,),
                ).fetchone()
                failures = 1
                if row is not None and when - as_int(row[1]) <= window:
                    failures = as_int(row[0]) + 1
                blocked_until = when + int(policy.delay(failures) * _US)
                conn.execute(
                    "INSERT INTO auth_throttle (bucket, failures, last_failure_at, blocked_until)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (bucket) DO UPDATE SET"
                    " failures = excluded.failures, last_failure_at = excluded.last_failure_at,"
                    " blocked_until = excluded.blocked_until",
                    (bucket, failures, when, blocked_until),
                )
                longest = max(longest, blocked_until - when)
            return longest / _US

        return await self._db.write(count)

    async def clear(self, bucket: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM auth_throttle WHERE bucket = ?", (bucket,))

        await self._db.write(delete)

    async def prune(self, policy: ThrottlePolicy, *, now: datetime | None = None) -> None:
        """Forget buckets whose last failure is older than the window and not blocked."""
        when = to_micros(now or utcnow())
        cutoff = when - int(policy.max_delay * _US)

        def delete(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM auth_throttle WHERE last_failure_at < ? AND blocked_until <= ?",
                (cutoff, when),
            )

        await self._db.write(delete)
