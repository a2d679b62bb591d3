"""One worker's view of one shared token bucket: the tokens it leased, spent from memory.

A :class:`LocalBucket` holds the whole tokens this worker took from the shared bucket in
the state store (a *lease*), valid for ``lease_seconds``; a request spends one with no
I/O (:meth:`LocalBucket.spend`). When none is left the limiter takes the next lease, whose
size adapts to this worker's demand (:meth:`LocalBucket.next_size`): it doubles while
leases run out before they expire, shrinks by what went unused, and never exceeds
``lease_seconds`` of the bucket's rate (nor half its burst). Tokens still held when a
lease expires go back to the shared bucket (:meth:`LocalBucket.expire`), so no worker can
spend, later, tokens the others could not have had.

When the shared bucket had nothing to give, the bucket is *blocked* until its next token
is due: requests meanwhile are refused from memory too. Pure state, clocks passed in
(``now``: ``time.monotonic()`` seconds; ``wall_us``: epoch microseconds).
"""

from __future__ import annotations

import asyncio
import math

from gateway.identity.rate_limits import MILLI, Lease, RateLimit

__all__ = ["LocalBucket", "lease_cap"]


def lease_cap(limit: RateLimit, lease_seconds: float) -> int:
    """The most tokens one lease may take: ``lease_seconds`` of the rate, at most half
    the burst, at least one."""
    per_lease = math.ceil(limit.requests_per_minute * lease_seconds / 60)
    return max(1, min(limit.burst // 2, per_lease))


class LocalBucket:
    """See the module docstring. Event-loop thread only."""

    __slots__ = (
        "blocked_until",
        "cap",
        "expires",
        "full_at_us",
        "granted",
        "leasing",
        "limit",
        "name",
        "seen_us",
        "shared",
        "size",
        "tokens",
        "waiting",
    )

    def __init__(self, name: str, limit: RateLimit, lease_seconds: float) -> None:
        self.name = name
        self.limit = limit
        self.cap = lease_cap(limit, lease_seconds)
        self.tokens = 0
        """Whole tokens of the current lease not spent yet."""
        self.granted = 0
        """Size of the current lease."""
        self.expires = 0.0
        self.size = 1
        """What the next lease asks for (adapted by :meth:`next_size`)."""
        self.blocked_until = 0.0
        self.shared = limit.capacity
        """The shared bucket's thousandths after the last lease (an estimate since)."""
        self.seen_us = 0
        """When ``shared`` was read (epoch microseconds)."""
        self.full_at_us = 0
        self.leasing: asyncio.Future[None] | None = None
        """The lease being taken now, which other requests of this worker await."""
        self.waiting = 0
        """Requests of this worker waiting for a token of this bucket now."""

    def spend(self, now: float) -> bool:
        """Spend one leased token (the hot path: no I/O)."""
        if self.tokens > 0 and now < self.expires:
            self.tokens -= 1
            return True
        return False

    def unspend(self, now: float) -> bool:
        """Put back a token spent from the current lease by a request refused after all;
        ``False`` when the lease has expired (the token goes back to the shared bucket)."""
        if now < self.expires:
            self.tokens += 1
            return True
        return False

    def blocked(self, now: float) -> bool:
        return now < self.blocked_until

    def expire(self, now: float) -> int:
        """End the current lease if it has expired; returns the tokens to give back."""
        if now < self.expires or self.tokens == 0:
            return 0
        unused, self.tokens = self.tokens, 0
        self.size = max(1, self.size - unused)
        return unused

    def next_size(self, now: float, waiting: int) -> int:
        """How many tokens to ask for now: double after a lease that ran out before it
        expired (within :attr:`cap`), and at least one per request already waiting (they
        spend them at once, so these are never hoarded; at most half the burst)."""
        if self.granted and self.tokens == 0 and now < self.expires:
            self.size = min(self.cap, self.size * 2)
        return max(1, self.size, min(waiting, self.limit.burst // 2))

    def leased(self, lease: Lease, now: float, lease_seconds: float, wall_us: int) -> None:
        """Adopt a lease the shared bucket granted (possibly of zero tokens)."""
        self.tokens += lease.granted
        self.granted = lease.granted
        self.expires = now + lease_seconds
        self.shared = lease.remaining
        self.seen_us = wall_us
        self.full_at_us = lease.full_at
        if lease.granted == 0:
            self.blocked_until = now + max(0, lease.next_token_at - wall_us) / 1_000_000
        else:
            self.blocked_until = 0.0

    def open_up(self, now: float, lease_seconds: float, tokens: int) -> None:
        """Admit without the shared bucket for one lease (the state store failed: the
        limiter fails open rather than refusing every request)."""
        self.tokens = tokens
        self.granted = tokens
        self.expires = now + lease_seconds
        self.blocked_until = 0.0

    # --- what the response headers say ---------------------------------------------------

    def remaining(self, wall_us: int) -> int:
        """Whole requests this caller may still make at once: this worker's leased tokens
        plus the shared bucket's, as last read and refilled since (an estimate: other
        workers spend from it too)."""
        limit = self.limit
        shared = self.shared
        if wall_us > self.seen_us:
            elapsed = min(wall_us - self.seen_us, 3_600_000_000)
            shared += elapsed * limit.requests_per_minute * MILLI // 60_000_000
        return min(limit.burst, self.tokens + min(limit.capacity, shared) // MILLI)

    def reset_at(self, wall_us: int, remaining: int) -> int:
        """Epoch second by which the bucket is full again, from ``remaining``."""
        missing = self.limit.capacity - remaining * MILLI
        return -(-(wall_us + self.limit.micros_for(missing)) // 1_000_000)

    def retry_after(self, now: float) -> int:
        """Whole seconds until the next token is due (at least 1)."""
        return max(1, math.ceil(self.blocked_until - now))
