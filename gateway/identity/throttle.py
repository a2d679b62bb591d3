"""Password-grant brute-force throttle, in the state store so every worker process (and,
on PostgreSQL, every gateway host) shares it.

A *bucket* is a string such as ``user:alice`` or ``ip:192.0.2.7``. Each failed login
counts against its buckets; from the ``threshold``-th failure on, the bucket is blocked
for ``base_delay * 2 ** (failures - threshold)`` seconds, at most ``max_delay``. A bucket
whose last failure is older than ``max_delay`` starts again from zero.

An attempt is **reserved before the password is checked** (:meth:`ThrottleStore.reserve`,
one transaction that checks the block and counts the attempt as a failure), so parallel
guesses cannot all pass the check before any of them is counted: at most ``threshold``
attempts per bucket are ever being evaluated, however many arrive at once, on however
many workers or hosts. A successful login then settles its reservation
(:meth:`ThrottleStore.succeeded`): the username bucket is cleared, and the attempt is
refunded on the others (the address bucket). Clearing the address bucket would let an
attacker with one valid account reset their counter while guessing other accounts'
passwords; refunding only their own successful attempt does not.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from gateway.identity.columns import as_int
from gateway.identity.crypto import Keyring
from gateway.identity.db import Database, Tx
from gateway.identity.models import to_micros, utcnow

__all__ = ["Reservation", "ThrottlePolicy", "ThrottleStore"]

_US = 1_000_000
_ENSURE_ROW = (
    "INSERT INTO auth_throttle (bucket, failures, last_failure_at, blocked_until)"
    " VALUES (?, 0, 0, 0) ON CONFLICT (bucket) DO NOTHING"
)
_UPSERT = (
    "INSERT INTO auth_throttle (bucket, failures, last_failure_at, blocked_until)"
    " VALUES (?, ?, ?, ?) ON CONFLICT (bucket) DO UPDATE SET"
    " failures = excluded.failures, last_failure_at = excluded.last_failure_at,"
    " blocked_until = excluded.blocked_until"
)


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

    def blocked_until(self, failures: int, at_us: int) -> int:
        """When a bucket whose ``failures``-th failure happened at ``at_us`` unblocks
        (0: it is not blocked at all, whatever the clocks of concurrent callers say)."""
        delay = self.delay(failures)
        return at_us + int(delay * _US) if delay > 0 else 0

    @property
    def window_us(self) -> int:
        return int(self.max_delay * _US)


@dataclass(frozen=True, slots=True)
class Reservation:
    """The outcome of :meth:`ThrottleStore.reserve`. ``wait > 0``: blocked for that many
    seconds, nothing counted. ``wait == 0``: the attempt is counted in every bucket
    (``counts``: the failure count it set, at ``at_us``); settle a success with
    :meth:`ThrottleStore.succeeded`."""

    wait: float
    at_us: int = 0
    counts: tuple[tuple[str, int], ...] = ()

    @property
    def granted(self) -> bool:
        return self.wait == 0


async def _locked(tx: Tx, bucket: str) -> tuple[int, int, int]:
    """(failures, last_failure_at, blocked_until) of ``bucket``, row-locked until commit
    (created empty first, so there is a row to lock)."""
    await tx.execute(_ENSURE_ROW, (bucket,))
    row = await tx.fetch_one(
        "SELECT failures, last_failure_at, blocked_until FROM auth_throttle"
        f" WHERE bucket = ?{tx.for_update}",
        (bucket,),
    )
    if row is None:  # pruned between the two statements: as good as empty
        return 0, 0, 0
    return as_int(row[0]), as_int(row[1]), as_int(row[2])


class ThrottleStore:
    """Throttle buckets; reached as ``IdentityStore.throttle``.

    Writes run ``read_committed`` with row locks taken in bucket order: concurrent
    attempts on one bucket queue for its row instead of failing and retrying.
    """

    def __init__(self, db: Database, keyring: Keyring) -> None:
        self._db = db

    async def retry_after(self, buckets: Sequence[str], *, now: datetime | None = None) -> float:
        """Seconds until every bucket in ``buckets`` is unblocked (0: go ahead)."""
        if not buckets:
            return 0.0
        when = to_micros(now or utcnow())
        marks = ", ".join("?" for _ in buckets)
        row = await self._db.fetch_one(
            f"SELECT MAX(blocked_until) FROM auth_throttle WHERE bucket IN ({marks})",
            tuple(buckets),
        )
        until = 0 if row is None or row[0] is None else as_int(row[0])
        return max(0.0, (until - when) / _US)

    async def reserve(
        self, buckets: Sequence[str], policy: ThrottlePolicy, *, now: datetime | None = None
    ) -> Reservation:
        """Before checking a password: when no bucket is blocked, count the attempt as a
        failure of each bucket (settle a success with :meth:`succeeded`); otherwise
        nothing is counted and ``wait`` says how long the longest block lasts."""
        when = to_micros(now or utcnow())
        ordered = sorted(set(buckets))

        async def take(tx: Tx) -> Reservation:
            state = {bucket: await _locked(tx, bucket) for bucket in ordered}
            blocked_until = max((s[2] for s in state.values()), default=0)
            if blocked_until > when:
                return Reservation((blocked_until - when) / _US)
            counts = []
            for bucket, (failures, last, _until) in state.items():
                count = failures + 1 if when - last <= policy.window_us else 1
                await tx.execute(_UPSERT, (bucket, count, when, policy.blocked_until(count, when)))
                counts.append((bucket, count))
            return Reservation(0.0, when, tuple(counts))

        return await self._db.transaction(take, isolation="read_committed")

    async def succeeded(
        self, reservation: Reservation, policy: ThrottlePolicy, *, clear: Collection[str]
    ) -> None:
        """Settle a granted reservation whose password was right: the buckets in
        ``clear`` (the username's) are forgotten, the others get the attempt back. When
        no other attempt was counted since, a bucket returns exactly to its state before
        (it was not blocked then); otherwise its block follows the failures that remain."""

        async def settle(tx: Tx) -> None:
            for bucket, counted in reservation.counts:
                if bucket in clear:
                    await tx.execute("DELETE FROM auth_throttle WHERE bucket = ?", (bucket,))
                    continue
                failures, last, until = await _locked(tx, bucket)
                if failures == 0:
                    continue
                if (failures, last) == (counted, reservation.at_us):
                    until = 0  # nothing happened since: as unblocked as before the attempt
                else:
                    until = min(until, policy.blocked_until(failures - 1, last))
                await tx.execute(_UPSERT, (bucket, failures - 1, last, until))

        if reservation.granted and reservation.counts:
            await self._db.transaction(settle, isolation="read_committed")

    async def record_failure(
        self, buckets: Sequence[str], policy: ThrottlePolicy, *, now: datetime | None = None
    ) -> float:
        """Count one failure against each bucket (without a reservation); return the
        longest block now in force."""
        when = to_micros(now or utcnow())
        ordered = sorted(set(buckets))

        async def count(tx: Tx) -> float:
            longest = 0
            for bucket in ordered:
                failures, last, _until = await _locked(tx, bucket)
                total = failures + 1 if when - last <= policy.window_us else 1
                blocked_until = policy.blocked_until(total, when)
                await tx.execute(_UPSERT, (bucket, total, when, blocked_until))
                longest = max(longest, blocked_until - when)
            return longest / _US

        return await self._db.transaction(count, isolation="read_committed")

    async def clear(self, bucket: str) -> None:
        async def delete(tx: Tx) -> None:
            await tx.execute("DELETE FROM auth_throttle WHERE bucket = ?", (bucket,))

        await self._db.transaction(delete, isolation="read_committed")

    async def prune(self, policy: ThrottlePolicy, *, now: datetime | None = None) -> None:
        """Forget buckets whose last failure is older than the window and not blocked."""
        when = to_micros(now or utcnow())
        cutoff = when - policy.window_us

        async def delete(tx: Tx) -> None:
            await tx.execute(
                "DELETE FROM auth_throttle WHERE last_failure_at < ? AND blocked_until <= ?",
                (cutoff, when),
            )

        await self._db.transaction(delete, isolation="read_committed")
