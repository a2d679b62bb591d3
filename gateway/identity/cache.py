"""The caches of credential lookups: exact where the store has a change marker
(:class:`MarkedCache`, SQLite), time-bounded where it has not (:class:`TtlCache`,
``identity.cache_seconds``, PostgreSQL).

**MarkedCache**: an answer is kept with the store's change marker read before the query
that produced it (``Database.change_marker``) and reused only while the marker is still
the same, i.e. while nobody committed anything: a revocation by any worker applies to the
next request, as without a cache. Cost: one ``PRAGMA data_version`` instead of a join.

**TtlCache**:

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

__all__ = ["MarkedCache", "TtlCache"]

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


class MarkedCache(Generic[_K, _V]):
    """Answers tagged with the change marker they were read under (bounded)."""

    __slots__ = ("_entries", "_max_entries")

    def __init__(self, *, max_entries: int = 10_000) -> None:
        self._max_entries = max_entries
        self._entries: dict[_K, tuple[int, _V]] = {}

    def get(self, key: _K, marker: int) -> _V | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != marker:
            return None
        return entry[1]

    def put(self, key: _K, marker: int, value: _V) -> None:
        """``marker``: the one read *before* the query (a commit in between leaves the
        entry stale-marked, so it is read again, never trusted too long)."""
        if key not in self._entries and len(self._entries) >= self._max_entries:
            self._entries.pop(next(iter(self._entries)))  # the oldest insertion
        self._entries[key] = (marker, value)

    def clear(self) -> None:
        self._entries.clear()
