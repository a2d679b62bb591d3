"""The embedded :class:`~gateway.identity.db.Database`: one SQLite file in WAL mode.

``<data_dir>/identity.db``, shared by every worker process of one host.

- **Reads** run on a ``query_only`` reader connection, synchronously, on the event loop:
  in WAL mode readers never wait for writers, so an indexed SELECT takes microseconds and
  a thread hop would cost more than the query. ``fetch_one`` is an ``async def`` only so
  that callers are the same for PostgreSQL; it never suspends.
- **Change marker**: the WAL-index header (``backends.sqlite_wal.CommitWatch``), which
  moves with every commit of any connection, read without a transaction; ``PRAGMA
  data_version`` of the reader connection (the same signal, counted by SQLite, through a
  read transaction) where the header cannot be mapped. The key-lookup cache is exact on
  it (:meth:`SqliteDatabase.change_marker`).
- **Writes** run on one dedicated writer thread with its own connection, each body inside
  ``BEGIN IMMEDIATE`` (the write lock up front: a read-then-write never fails half-way,
  and bodies of all workers run one at a time). Waiting for another worker's lock
  (``busy_timeout``) or for the fsync of a commit never blocks the event loop.
- ``synchronous=FULL``: a key whose secret was shown to the user survives a power cut.
- **Outages**: a write lock another process holds past ``busy_timeout`` is the one
  failure that says "try again soon" (``StoreUnavailable``, 503); it is logged as an
  outage (``backends.outage``: a line as it starts, at most one per 10 s, one at the
  next commit). A full disk is ``gateway.storage_full``'s line; anything else is a bug.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sqlite3
import threading
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import backends.sqlite_binding  # noqa: F401  (bytes and None bound without a probe)
from backends.outage import OutageLog
from backends.sqlite_wal import CommitWatch, journal_mode_wal, lock_busy
from gateway.identity.db import (
    Dialect,
    IntegrityError,
    Isolation,
    Row,
    StoreUnavailable,
    TransactionBody,
)
from gateway.identity.schema import SchemaError, migrate

__all__ = ["BUSY_TIMEOUT_MS", "DB_FILE", "SqliteDatabase", "connect"]

DB_FILE = "identity.db"
BUSY_TIMEOUT_MS = 5000

_T = TypeVar("_T")


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit ``BEGIN``s) with WAL,
    a busy timeout and foreign keys on. The file is created 0600; SQLite gives its
    ``-wal`` and ``-shm`` files the same mode."""
    if not path.exists():
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = journal_mode_wal(conn, BUSY_TIMEOUT_MS / 1000)
        if mode != "wal":
            raise SchemaError(f"{path}: cannot switch to WAL mode (got {mode!r})")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def run_to_completion(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a transaction body whose awaits never suspend (every :class:`SqliteTx` method
    returns at once), without an event loop: on the writer thread."""
    try:
        coro.send(None)
    except StopIteration as done:
        result: _T = done.value
        return result
    coro.close()
    raise RuntimeError("a transaction body awaited something other than its transaction")


class SqliteTx:
    """A transaction on the writer connection (see :class:`gateway.identity.db.Tx`)."""

    __slots__ = ("_conn",)

    dialect: Dialect = "sqlite"
    for_update = ""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        try:
            count = self._conn.execute(sql, params).rowcount
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        if count == -1 and sql.lstrip()[:4].upper() == "WITH":
            # Python's sqlite3 (3.11) counts only statements that begin with INSERT,
            # UPDATE, DELETE or REPLACE: a ``WITH ... UPDATE`` (lineage's cascade) read
            # -1. ``changes()`` is the count of the statement just run.
            row = self._conn.execute("SELECT changes()").fetchone()
            count = int(row[0])
        return count

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        try:
            self._conn.executemany(sql, rows)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc

    async def fetch_one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        row: Row | None = self._conn.execute(sql, params).fetchone()
        return row

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        rows: list[Row] = self._conn.execute(sql, params).fetchall()
        return rows


class SqliteDatabase:
    """Create with :meth:`open`; see the module docstring."""

    dialect: Dialect = "sqlite"

    def __init__(
        self,
        path: Path,
        reader: sqlite3.Connection,
        writer: sqlite3.Connection,
        executor: ThreadPoolExecutor,
    ) -> None:
        self.path = path
        self._reader = reader
        self._read_lock = threading.Lock()
        self._writer = writer
        self._executor = executor
        self._closed = False
        self._outage = OutageLog(logging.getLogger(__name__), "the SQLite state store")
        # opened after both connections (the writer's migration made the WAL index),
        # closed after them (CommitWatch's lifetime rule)
        self._watch = CommitWatch.open(path)

    @property
    def description(self) -> str:
        return f"sqlite:{self.path}"

    def __repr__(self) -> str:
        return f"SqliteDatabase(path={str(self.path)!r})"

    @classmethod
    async def open(cls, path: Path, *, fingerprint: str, now_us: int) -> SqliteDatabase:
        """Create/migrate ``path`` (see :func:`gateway.identity.schema.migrate`)."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="identity-writer")
        loop = asyncio.get_running_loop()
        opener = functools.partial(cls._open_connections, path, fingerprint, now_us)
        try:
            reader, writer = await loop.run_in_executor(executor, opener)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(path, reader, writer, executor)

    @staticmethod
    def _open_connections(
        path: Path, fingerprint: str, now_us: int
    ) -> tuple[sqlite3.Connection, sqlite3.Connection]:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        writer = connect(path)
        try:
            _in_transaction(writer, lambda tx: migrate(tx, fingerprint=fingerprint, now_us=now_us))
            reader = connect(path)
            reader.execute("PRAGMA query_only = ON")
        except BaseException:
            writer.close()
            raise
        return reader, writer

    # --- reads: synchronous, on the caller's thread ---------------------------------------

    async def fetch_one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        self._check_open()
        with self._read_lock:
            row: Row | None = self._reader.execute(sql, params).fetchone()
        return row

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        self._check_open()
        with self._read_lock:
            rows: list[Row] = self._reader.execute(sql, params).fetchall()
        return rows

    def change_marker(self) -> int | None:
        """Changes when any connection (this process's writer included, and every other
        worker's) commits: the WAL-index header (a tenth of a microsecond), else SQLite's
        ``data_version`` on the reader connection (a fifth of an indexed SELECT)."""
        self._check_open()
        watch = self._watch
        if watch is not None and watch.usable:
            return watch.marker()
        with self._read_lock:
            row = self._reader.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    # --- writes: on the writer thread ---------------------------------------------------

    async def transaction(
        self, body: TransactionBody[_T], *, isolation: Isolation = "serializable"
    ) -> _T:
        """``BEGIN IMMEDIATE`` serialises every body, whatever ``isolation`` asks for."""
        self._check_open()
        writer = self._writer
        try:
            result = await asyncio.get_running_loop().run_in_executor(
                self._executor, _in_transaction, writer, body
            )
        except sqlite3.OperationalError as exc:
            # Another process held the write lock for the whole busy timeout: busy, not
            # broken; the same request may succeed in a moment.
            if not lock_busy(exc):
                raise
            self._outage.failed(
                f"another process held its write lock past the busy timeout"
                f" ({BUSY_TIMEOUT_MS / 1000:g} s)"
            )
            raise StoreUnavailable("the state store is busy") from exc
        self._outage.available()
        return result

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._writer.close)
        self._executor.shutdown(wait=True)
        with self._read_lock:
            self._reader.close()
        if self._watch is not None:
            self._watch.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the identity store is closed")


def _in_transaction(conn: sqlite3.Connection, body: TransactionBody[_T]) -> _T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = run_to_completion(body(SqliteTx(conn)))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result
