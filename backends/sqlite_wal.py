"""Switching a SQLite database to WAL when several processes open it at once, and telling
a lock held elsewhere from a fault.

``PRAGMA journal_mode = WAL`` on a database another connection is creating or switching
can answer "database is locked" at once, without waiting out the busy timeout (seen with
``--workers N`` opening a new data directory together). Every store the project keeps in
SQLite (the filesystem backend's metadata, the identity store) switches through here.

``CommitWatch`` reads SQLite's own sign that a WAL database changed, without a
transaction; ``ExactCache`` keeps answers read from the database while that sign stands.
"""

from __future__ import annotations

import mmap
import os
import sqlite3
import sys
import time
from collections.abc import Hashable
from pathlib import Path
from typing import Generic, TypeVar

__all__ = ["CommitWatch", "ExactCache", "journal_mode_wal", "lock_busy"]

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")

_HEADER = 96
"""The WAL-index header at the start of the ``-shm`` file: two copies of 48 bytes
(sqlite.org/walformat.html, "The WAL-Index Header")."""
_WALINDEX_VERSION = 3007000
"""``iVersion``, the header's first field (native byte order), the only one SQLite has
used; every SQLite sharing a database must agree on it, so it does not change under a
running gateway."""
_IS_INIT = 12
"""Offset of ``isInit``: 1 once the header is valid."""


def lock_busy(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite refused for a lock another connection holds ("database is locked",
    "database table is locked", SQLITE_BUSY): a wait, not a broken database."""
    text = str(exc)
    return "locked" in text or "busy" in text


def journal_mode_wal(conn: sqlite3.Connection, timeout: float) -> str:
    """``PRAGMA journal_mode = WAL`` retried while the lock it needs is held, for at most
    ``timeout`` seconds (the connection's busy timeout, like any other wait for the lock).
    Returns the mode SQLite reports (``"wal"`` unless the file cannot do WAL)."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
        except sqlite3.OperationalError as exc:
            if not lock_busy(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


class CommitWatch:
    """Whether anything was committed to a WAL database since the last look, in about a
    tenth of a microsecond: the WAL-index header, mapped read-only from the ``-shm`` file.

    A commit by any connection of any process rewrites that header before it returns
    (the frame count grows with every commit; restarting the WAL changes its salts), and
    it is exactly what each SQLite reader compares to learn of commits - ``PRAGMA
    data_version`` is the count of such changes a connection saw. Reading it directly
    skips the read transaction that pragma needs (two ``fcntl`` locks each time): per
    authenticated request, 5-9 % of a HEAD's server CPU (docs/performance.md, twelfth
    sitting).

    ``marker`` is the header's 96 bytes as one number. A read that races a commit sees a
    mix of old and new bytes, which matches no marker seen before: a cache only looks
    again, never reuses a stale answer.

    **Lifetime.** Open a watch only while a connection of this process that has run a
    transaction in WAL mode is open, and close it only after every connection of this
    process to the database is closed. POSIX record locks belong to the process, and
    closing *any* descriptor of a file drops all of the process's locks on it: closing
    the ``-shm`` descriptor under open connections would drop the lock by which SQLite
    tells other processes that the shared memory is in use, and the next process to open
    the database would reset it (truncating the file under this mapping: SIGBUS). So the
    watch keeps its descriptor (and the mapping's) for its whole life, even when the
    header turned out unusable (``usable`` False: ask SQLite instead). SQLite itself never
    removes or truncates the file while a connection of this process holds it open.
    """

    __slots__ = ("_fd", "_view", "usable")

    def __init__(self, fd: int, view: mmap.mmap | None) -> None:
        self._fd: int | None = fd
        self._view = view
        self.usable = view is not None and _valid(view)

    @classmethod
    def open(cls, database: Path) -> CommitWatch | None:
        """The watch of ``database`` (see the class's lifetime rule); None without a
        ``-shm`` file. ``usable`` says whether its header is there and in the format
        known here (else ask SQLite: ``PRAGMA data_version``)."""
        try:
            fd = os.open(f"{database}-shm", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return None
        try:
            view = (
                mmap.mmap(fd, _HEADER, mmap.MAP_SHARED, mmap.PROT_READ)
                if os.fstat(fd).st_size >= _HEADER
                else None
            )
        except (OSError, ValueError):
            view = None
        return cls(fd, view)  # the descriptor stays open until close(), whatever happened

    def marker(self) -> int:
        """Differs from every earlier value once anything was committed since (only when
        ``usable``)."""
        view = self._view
        assert view is not None and self.usable
        return int.from_bytes(view[:_HEADER], "little")

    def close(self) -> None:
        """After every connection of this process to the database is closed."""
        self.usable = False
        if self._view is not None:
            self._view.close()
            self._view = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _valid(view: mmap.mmap) -> bool:
    for _ in range(3):  # a commit may be rewriting the header this very moment
        header = view[:_HEADER]
        if (
            header[:48] == header[48:]
            and int.from_bytes(header[:4], sys.byteorder) == _WALINDEX_VERSION
            and header[_IS_INIT] == 1
        ):
            return True
        time.sleep(0.001)
    return False


class ExactCache(Generic[_K, _V]):
    """Answers read from one database, reused only while nothing was committed to it.

    All entries belong to one marker of the database's ``CommitWatch``; the first
    ``get`` that sees another marker drops them all. So a hit returns what a query would
    return at that moment, whoever committed what before (another worker, another
    connection of this process, the CLI): the cache changes the cost of a read, never
    its answer. ``put`` takes the marker its ``get`` returned, read before the query:
    when anything was committed in between, the answer is not kept. At most
    ``max_entries`` answers whose weights (what the caller counts of each: characters)
    add up to at most ``max_weight``; the oldest go first.

    Not for reads inside a write transaction of the same connection: those must see the
    transaction's own changes, which are not committed yet (the caller queries).
    """

    __slots__ = (
        "_entries",
        "_marker",
        "_max_entries",
        "_max_weight",
        "_watch",
        "_weight",
        "_weights",
    )

    def __init__(self, watch: CommitWatch, *, max_entries: int, max_weight: int) -> None:
        self._watch = watch
        self._max_entries = max_entries
        self._max_weight = max_weight
        self._entries: dict[_K, _V] = {}
        self._weights: dict[_K, int] = {}
        """Each entry's weight, apart: a hit reads ``_entries`` only."""
        self._weight = 0
        self._marker: int | None = None

    def get(self, key: _K) -> tuple[_V | None, int]:
        """The kept answer (None: query, then ``put``) and the current marker."""
        marker = self._watch.marker()
        if marker != self._marker:
            self._entries.clear()
            self._weights.clear()
            self._weight = 0
            self._marker = marker
            return None, marker
        return self._entries.get(key), marker

    def put(self, key: _K, marker: int, value: _V, weight: int) -> None:
        if marker != self._marker or weight > self._max_weight:
            return  # a commit since the marker was read (the answer may be older); too big
        entries, weights = self._entries, self._weights
        if key in entries:
            del entries[key]
            self._weight -= weights.pop(key)
        while entries and (
            len(entries) >= self._max_entries or self._weight + weight > self._max_weight
        ):
            oldest = next(iter(entries))
            del entries[oldest]
            self._weight -= weights.pop(oldest)
        entries[key] = value
        weights[key] = weight
        self._weight += weight

    def holds(self, key: _K, value: object) -> bool:
        """Whether ``value`` itself (this object) is kept under ``key``."""
        return self._entries.get(key) is value

    def __len__(self) -> int:
        return len(self._entries)
