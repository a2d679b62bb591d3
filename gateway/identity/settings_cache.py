"""A bounded cache of bucket settings (``identity.bucket_cache_seconds``), so that a request
on a bucket whose settings were read a moment ago needs no database round trip.

What a cached answer may miss, and for how long:

- **a change made by this worker process**: nothing; every write through
  :class:`~gateway.identity.bucket_settings.BucketSettingsStore` (and the object-ACL
  flag of :class:`~gateway.identity.object_acls.ObjectAclStore`) drops the bucket's entry
  before it returns;
- **a change made by another worker on the same host** (same data directory): nothing
  either. Each write also changes a generation number in a memory-mapped file of the data
  directory (``bucket-settings.gen``); every lookup compares it (one 8-byte read) and
  starts afresh when it moved. The number is rewritten after the change committed and
  before the write's response leaves, and a lookup tags what it read with the number
  seen *before* reading, so an answer read before a change is never kept after it;
- **a change made by another host** (PostgreSQL shared by several gateways): at most
  ``bucket_cache_seconds`` (default 1 s), after which the entry expires. 0 turns the
  cache off (every request reads the database, as before the cache existed). One change
  may not wait for that: a bucket deleted and made again by *another* account, whose
  name the old owner's cached settings would still grant it. So on PostgreSQL a deleted
  bucket's name is held for its former owner for ``bucket_cache_seconds`` and a second
  (:meth:`~gateway.identity.bucket_settings.BucketSettingsStore.claim_owner`), as AWS
  holds a deleted bucket's name for a while.

Only answers naming at least one setting are kept: a bucket the state store knows
nothing about (missing, or made before accounts existed) is read every time, so a bucket
created on another host is never taken for an unowned one. Access keys are not cached
here (``identity.cache_seconds`` governs them, off by default: revocation stays
immediate).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from gateway.datadir import allocate

__all__ = [
    "GENERATION_FILE",
    "MAX_CACHED_CHARS",
    "Generation",
    "LocalGeneration",
    "SettingsCache",
    "SharedGeneration",
]

GENERATION_FILE = "bucket-settings.gen"

MAX_CACHED_CHARS = 32 * 1024 * 1024
"""The most document text a worker's cache keeps (every entry's kinds and documents,
counted in characters, plus ``_ENTRY_COST`` each), the oldest answer dropped first. A
bucket's settings reach about 350 KiB (a 256 KiB lifecycle configuration, 64 KiB of
CORS rules, a 20 KiB policy): counted in entries alone, 10,000 such buckets held
gigabytes in every worker."""

_ENTRY_COST = 256
"""What an entry costs besides its text: the tuple, the mapping, the bucket's name."""
_WIDTH = 8


class LocalGeneration:
    """A generation number seen by this process only (tests, stores without a data
    directory)."""

    __slots__ = ("_value",)

    def __init__(self) -> None:
        self._value = 0

    def current(self) -> int:
        return self._value

    def bump(self) -> None:
        self._value += 1

    def close(self) -> None:
        """Nothing to release."""


class SharedGeneration:
    """A generation number shared by every process that maps the same file.

    A change writes 8 random bytes: two processes changing settings at once can never
    leave the number where a reader saw it last (an increment could: both would write
    the same successor).
    """

    __slots__ = ("_map",)

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            allocate(fd, _WIDTH)  # a sparse page written on a full disk is a SIGBUS
            self._map = mmap.mmap(fd, _WIDTH)
        finally:
            os.close(fd)

    def current(self) -> int:
        return int.from_bytes(self._map[:_WIDTH], "little")

    def bump(self) -> None:
        self._map[:_WIDTH] = os.urandom(_WIDTH)

    def close(self) -> None:
        with contextlib.suppress(BufferError):
            self._map.close()


Generation = LocalGeneration | SharedGeneration


class SettingsCache:
    """Bucket -> its settings (kind -> document), see the module docstring."""

    __slots__ = (
        "_chars",
        "_clock",
        "_entries",
        "_generation",
        "_max_chars",
        "_max_entries",
        "_seen",
        "_ttl",
    )

    def __init__(
        self,
        ttl: float,
        generation: Generation | None = None,
        *,
        max_entries: int = 10_000,
        max_chars: int = MAX_CACHED_CHARS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._generation: Generation = generation or LocalGeneration()
        self._max_entries = max_entries
        self._max_chars = max_chars
        self._clock = clock
        self._entries: dict[str, tuple[float, Mapping[str, str], int]] = {}
        self._chars = 0
        self._seen = self._generation.current()

    @property
    def enabled(self) -> bool:
        return self._ttl > 0

    @property
    def ttl(self) -> float:
        """Seconds an answer is kept (what another host may miss for that long)."""
        return self._ttl

    def token(self) -> int:
        """The generation to hand to :meth:`put` with an answer read after this call;
        drops every entry when another process changed settings since the last look."""
        current = self._generation.current()
        if current != self._seen:
            self._entries.clear()
            self._chars = 0
            self._seen = current
        return current

    def get(self, bucket: str) -> Mapping[str, str] | None:
        if not self.enabled:
            return None
        self.token()
        entry = self._entries.get(bucket)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            self._drop(bucket)
            return None
        return entry[1]

    def put(self, bucket: str, settings: Mapping[str, str], token: int) -> None:
        """Keep ``settings`` unless the generation moved since ``token`` was taken (the
        answer may predate a change) or the bucket has none (see the module docstring)."""
        if not self.enabled or not settings or self.token() != token:
            return
        self._drop(bucket)
        cost = _ENTRY_COST + sum(len(kind) + len(text) for kind, text in settings.items())
        if cost > self._max_chars:
            return
        entries = self._entries
        while entries and (
            len(entries) >= self._max_entries or self._chars + cost > self._max_chars
        ):
            self._drop(next(iter(entries)))  # the oldest insertion
        entries[bucket] = (self._clock() + self._ttl, settings, cost)
        self._chars += cost

    def _drop(self, bucket: str) -> None:
        entry = self._entries.pop(bucket, None)
        if entry is not None:
            self._chars -= entry[2]

    def changed(self, bucket: str) -> None:
        """A setting of ``bucket`` changed (committed): forget it here and in every
        process sharing the generation."""
        self._drop(bucket)
        self._generation.bump()

    def close(self) -> None:
        self._entries.clear()
        self._chars = 0
        self._generation.close()
