"""What the limiter decided for one request, and the headers that say so."""

from __future__ import annotations

import time
from collections.abc import MutableMapping

from gateway.ratelimit.buckets import LocalBucket

__all__ = ["Verdict"]


class Verdict:
    """``allowed`` or not, and the buckets the request spent from (refused: the one that
    was empty)."""

    __slots__ = ("allowed", "buckets")

    def __init__(self, allowed: bool, buckets: tuple[LocalBucket, ...]) -> None:
        self.allowed = allowed
        self.buckets = buckets

    def retry_after(self) -> int:
        """Seconds until the empty bucket has a token again (refused verdicts)."""
        return self.buckets[0].retry_after(time.monotonic())

    def write_headers(self, headers: MutableMapping[str, str], *, retry: bool = True) -> None:
        """``X-RateLimit-Limit`` (requests per minute), ``-Remaining`` (requests that may
        still be made at once) and ``-Reset`` (epoch second by which the bucket is full
        again) of the tightest bucket; ``Retry-After`` when refused (and ``retry``: not on
        an answer that was decided before the limiter was asked)."""
        wall_us = time.time_ns() // 1000
        if self.allowed:
            bucket = self.buckets[0]
            remaining = bucket.remaining(wall_us)
            for other in self.buckets[1:]:
                left = other.remaining(wall_us)
                if left < remaining:
                    bucket, remaining = other, left
        else:
            bucket, remaining = self.buckets[0], 0
            if retry:
                headers["Retry-After"] = str(bucket.retry_after(time.monotonic()))
        headers["X-RateLimit-Limit"] = str(bucket.limit.requests_per_minute)
        headers["X-RateLimit-Remaining"] = str(remaining)
        headers["X-RateLimit-Reset"] = str(bucket.reset_at(wall_us, remaining))
