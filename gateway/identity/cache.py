"""The caches of credential lookups: exact where the store has a change marker
(SQLite), time-bounded where it has not (``identity.cache_seconds``, PostgreSQL); one
:class:`LookupCache` does both, by the marker it is given.

**Exact** (a marker): an answer is kept with the store's change marker read before the query
that produced it (``Database.change_marker``) and reused only while the marker is still
the same, i.e. while nobody committed anything: a revocation by any worker applies to the
next request, as without a cache. Cost: one read of the WAL-index header (SQLite's
``-shm`` file, mapped: ``backends.sqlite_wal.CommitWatch``) instead of a join.

**Time-bounded** (no marker):

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

__all__ = ["LookupCache"]

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")


class LookupCache(Generic[_K, _V]):
    """Lookup answers, each kept with the change marker it was read under (exact) or,
    where the store has no marker (``marker`` None), until ``ttl`` seconds after it was
    read (``ttl`` 0: nothing is kept). Bounded: the oldest insertion goes first."""

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
        # key -> (marker, expiry, value); the expiry only counts without a marker
        self._entries: dict[_K, tuple[int | None, float, _V]] = {}

    def get(self, key: _K, marker: int | None) -> _V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if marker is not None:
            return entry[2] if entry[0] == marker else None
        if entry[0] is not None or entry[1] <= self._clock():
            del self._entries[key]
            return None
        return entry[2]

    def put(self, key: _K, marker: int | None, value: _V) -> None:
        """``marker``: the one read *before* the query (a commit in between leaves the
        entry stale-marked, so it is read again, never trusted too long)."""
        if marker is None and self._ttl <= 0:
            return
        if key not in self._entries and len(self._entries) >= self._max_entries:
            self._entries.pop(next(iter(self._entries)))  # the oldest insertion
        self._entries[key] = (marker, self._clock() + self._ttl, value)

    def clear(self) -> None:
        self._entries.clear()
