"""A small time-bounded cache for credential lookups (``identity.cache_seconds``).

Off by default (0 s): every request reads the database, so a revocation by any process
or host applies to the next request. With ``N > 0`` seconds a gateway may keep using a
lookup's answer for up to N seconds after another host revoked or rotated the key; a
write made by this process clears the cache at once. Only positive answers are kept: a
key created elsewhere is usable at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["TtlCache"]

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")


class TtlCache(Generic[_K, _V]):
    __slots__ = ("_clock", "_entries", "_max_entries", "_ttl")

    def __init__(
        self,
        ttl: float,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[_K, tuple[float, _V]] = {}

    @property
    def enabled(self) -> bool:
        return self._ttl > 0

    def get(self, key: _K) -> _V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        return entry[1]

    def put(self, key: _K, value: _V) -> None:
        if not self.enabled:
            return
        if len(self._entries) >= self._max_entries:
            self._entries.pop(next(iter(self._entries)))  # the oldest insertion
        self._entries[key] = (self._clock() + self._ttl, value)

    def clear(self) -> None:
        self._entries.clear()
