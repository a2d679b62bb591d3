"""``LogGate``: at most one log line per key and interval, for what a misbehaving store can
repeat on every request (a proxy's error page, a redirect)."""

from __future__ import annotations

import time
from collections.abc import Hashable

__all__ = ["LogGate"]


class LogGate:
    """Whether a line for a key may be logged now: at most once every ``every`` seconds
    per key. The keys must come from a bounded set (an operation's name and a status):
    one entry is kept per key."""

    __slots__ = ("_last", "every")

    def __init__(self, every: float) -> None:
        self.every = every
        self._last: dict[Hashable, float] = {}

    def due(self, key: Hashable) -> bool:
        """True (and the time noted) when ``key`` was not logged in the last ``every``
        seconds."""
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.every:
            return False
        self._last[key] = now
        return True
