"""SQLite schema and queries for the filesystem backend's metadata.

Keys are stored as BLOBs of their UTF-8 bytes: SQLite compares BLOBs with ``memcmp``, so the
``(bucket, key)`` primary key orders keys exactly as S3 does (by UTF-8 bytes). Times are
integer microseconds since the Unix epoch (UTC).

Each process opens the database twice. :class:`MetaDB`'s connection belongs to the event
loop: every read, and every write other than a PutObject row (buckets, deletes, copies,
multipart), each write one short ``BEGIN IMMEDIATE`` transaction run synchronously (no
``await`` inside), so interleaved coroutines never share a transaction. PutObject rows go
through ``commit.GroupCommitter``, which has its own connection on its own thread and
commits the rows of concurrent PUTs together. Worker processes sharing a data directory
each have both; SQLite's WAL and ``busy_timeout`` serialise their writes.

``SCHEMA`` is the first schema (version 0); ``migrations.py`` brings any database, new or
written by an older release, to the current version. ``objects`` holds the *latest*
version of each key when it is not a delete marker (so listings read it alone); older
versions and delete markers live in ``versions`` (see ``versions.py``).

``bucket_stats`` holds each bucket's object count and byte total, kept by triggers on
``objects``: every write path (the group commit, CompleteMultipartUpload, copies, deletes,
and any written later) updates the counters in the same transaction as the rows, whichever
process or connection writes. It counts what listings show (the latest versions that are
not delete markers). Reading a bucket's statistics is one primary-key lookup. A database
from before the table existed is counted once, in the transaction that creates the table
and its triggers (``MetaDB._create_schema``).
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import backends.sqlite_binding  # noqa: F401  (bytes and None bound without a probe)
from backends.errors import no_such_bucket, storage_full
from backends.filesystem.columns import (
    checksums_from_json,
    from_us,
    lock_from_json,
    meta_from_json,
    tag_count,
)
from backends.filesystem.inline import InlineCache, inline_bytes
from backends.filesystem.listing import Cursor
from backends.filesystem.migrations import SCHEMA_VERSION, migrate
from backends.sqlite_wal import CommitWatch, ExactCache, journal_mode_wal
from backends.types import ObjectInfo, ObjectMeta
from sigv4.memo import WeighedMemo

SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    region TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified INTEGER NOT NULL,
    meta TEXT NOT NULL,
    checksums TEXT NOT NULL,
    parts TEXT,
    data_id TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    initiated INTEGER NOT NULL,
    meta TEXT NOT NULL,
    checksum_algorithm TEXT
);
CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads (bucket, key, upload_id);
CREATE TABLE IF NOT EXISTS bucket_stats (
    bucket TEXT PRIMARY KEY,
    objects INTEGER NOT NULL,
    bytes INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS bucket_stats_insert AFTER INSERT ON objects BEGIN
    INSERT INTO bucket_stats (bucket, objects, bytes) VALUES (NEW.bucket, 1, NEW.size)
    ON CONFLICT (bucket) DO UPDATE SET
        objects = objects + 1, bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER IF NOT EXISTS bucket_stats_delete AFTER DELETE ON objects BEGIN
    UPDATE bucket_stats SET objects = objects - 1, bytes = bytes - OLD.size
    WHERE bucket = OLD.bucket;
END;
CREATE TRIGGER IF NOT EXISTS bucket_stats_update AFTER UPDATE OF bucket, size ON objects BEGIN
    UPDATE bucket_stats SET objects = objects - 1, bytes = bytes - OLD.size
    WHERE bucket = OLD.bucket;
    INSERT INTO bucket_stats (bucket, objects, bytes) VALUES (NEW.bucket, 1, NEW.size)
    ON CONFLICT (bucket) DO UPDATE SET
        objects = objects + 1, bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER IF NOT EXISTS bucket_stats_drop AFTER DELETE ON buckets BEGIN
    DELETE FROM bucket_stats WHERE bucket = OLD.name;
END;
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    etag TEXT NOT NULL,
    size INTEGER NOT NULL,
    last_modified INTEGER NOT NULL,
    checksums TEXT NOT NULL,
    data_id TEXT NOT NULL,
    PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
"""

OBJECT_COLUMNS = (
    "key, size, etag, last_modified, meta, checksums, parts, data_id, version_id, lock, tags"
)
_OBJECT_BY_KEY = f"SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key = ?"
"""Built once: ``sqlite3`` finds its prepared statement by the text's hash, which a
constant string computes once and a string built per call computes every time."""

_T = TypeVar("_T")

log = logging.getLogger("nfyio.filesystem")

ROW_CACHE_ENTRIES = 8192
"""Current-version rows a worker keeps for reads (``MetaDB.object``), and as many decoded
``ObjectInfo``s (``MetaDB.info_of``). A row is typically a few hundred characters (the
variable columns ``_row_chars`` counts), so both bounds hold about 8,192 typical rows:
~1.3 KiB per key across this cache, the infos and the gateway's remembered headers
(``gateway.s3.headers``), ~10 MiB per worker."""

ROW_CACHE_CHARS = 4 * 1024 * 1024
"""The characters (``_row_chars``) the kept rows may hold in all, and the kept infos
likewise: what bounds the cache when rows are large (4 MiB-character budgets instead of
8,192 x ``ROW_CACHE_MAX_CHARS`` = 64 Mi)."""

ROW_CACHE_MAX_CHARS = 8 * 1024
"""The largest row the row cache keeps (its key, metadata, tags and part list, counted in
characters). Up to here: 2 KiB of user metadata, ten tags, a 1 KiB key. System headers
(``Content-Disposition``, ``Cache-Control``, ...) of 8 KiB each or a list of 10,000 parts
(~170 KiB) make rows that are read again from the database instead: kept, 2,048 of them
held hundreds of MiB in every worker."""


class ObjectRow(NamedTuple):
    """One ``objects`` row, decoded (a tuple: listing pages build 1,000 of them)."""

    key: bytes
    size: int
    etag: str
    last_modified: int
    meta: str
    checksums: str
    parts: str | None
    """JSON ``[[part number, size], ...]`` for objects made by CompleteMultipartUpload."""
    data_id: str
    version_id: str | None = None
    """None: the null version of a never-versioned bucket; ``"null"``: the null version
    written while the bucket was versioned or suspended; else an id of ``versions.py``."""
    lock: str | None = None
    """``lock_to_json`` of the version's retention and legal hold (None: neither)."""
    tags: str | None = None
    """``tags_to_json`` of the version's tag set (None: no tags)."""

    @classmethod
    def from_tuple(cls, row: Sequence[Any]) -> ObjectRow:
        return cls._make(row)

    def to_info(self, bucket: str) -> ObjectInfo:
        parts = None if self.parts is None else json.loads(self.parts)
        return ObjectInfo(
            bucket=bucket,
            key=self.key.decode("utf-8"),
            size=self.size,
            etag=self.etag,
            last_modified=from_us(self.last_modified),
            meta=meta_from_json(self.meta),
            checksums=checksums_from_json(self.checksums),
            version_id=self.version_id,
            parts_count=None if parts is None else len(parts),
            lock=lock_from_json(self.lock),
            tag_count=tag_count(self.tags),
        )


def _row_chars(row: ObjectRow) -> int:
    """The length of a row's variable columns, what the row cache's bound counts."""
    return (
        len(row.key)
        + len(row.meta)
        + len(row.checksums)
        + len(row.parts or "")
        + len(row.lock or "")
        + len(row.tags or "")
    )


LIST_COLUMNS = "key, size, etag, last_modified, meta, checksums, json_array_length(parts)"

ListRow = tuple[bytes, int, str, int, str, str, int | None]
"""A listing row: the ``LIST_COLUMNS``, the last being the part count (None unless the
object was made by CompleteMultipartUpload). Tuples straight from SQLite: a page has 1,000."""


def _info_setters() -> Callable[..., ObjectInfo]:
    """A constructor for ``ObjectInfo`` about 2.5x cheaper than the dataclass ``__init__``.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``;
    calling the slot descriptors directly does the same stores for less (a listing page
    builds 1,000). The result is the same value: same slots, same equality and hash.
    """
    names = tuple(f.name for f in dataclasses.fields(ObjectInfo))
    assert names == (
        "bucket", "key", "size", "etag", "last_modified", "meta", "checksums", "version_id",
        "parts_count", "lock", "tag_count",
    ), names  # fmt: skip
    new = object.__new__
    (
        s_bucket, s_key, s_size, s_etag, s_time, s_meta, s_sums, s_version, s_parts, s_lock,
        s_tags,
    ) = (getattr(ObjectInfo, name).__set__ for name in names)  # fmt: skip

    def make(
        bucket: str,
        key: str,
        size: int,
        etag: str,
        last_modified: datetime,
        meta: ObjectMeta,
        checksums: Mapping[str, str],
        parts_count: int | None,
    ) -> ObjectInfo:
        info: ObjectInfo = new(ObjectInfo)
        s_bucket(info, bucket)
        s_key(info, key)
        s_size(info, size)
        s_etag(info, etag)
        s_time(info, last_modified)
        s_meta(info, meta)
        s_sums(info, checksums)
        s_version(info, None)
        s_parts(info, parts_count)
        s_lock(info, None)
        s_tags(info, 0)
        return info

    return make


_make_info = _info_setters()


def version_info(
    bucket: str,
    key: bytes,
    size: int,
    etag: str,
    last_modified: int,
    meta: str,
    checksums: str,
    parts: str | None,
    version_id: str | None,
    lock: str | None,
) -> ObjectInfo:
    """``ObjectInfo`` of one row of a version listing, built like ``list_infos`` builds
    them (ListObjectVersions pages hold 1,000)."""
    info = _make_info(
        bucket,
        key.decode(),
        size,
        etag,
        from_us(last_modified),
        meta_from_json(meta),
        checksums_from_json(checksums),
        None if parts is None else len(json.loads(parts)),
    )
    if version_id is not None:
        object.__setattr__(info, "version_id", version_id)
    if lock is not None:
        object.__setattr__(info, "lock", lock_from_json(lock))
    return info


def list_infos(bucket: str, rows: Sequence[ListRow]) -> tuple[ObjectInfo, ...]:
    """``ObjectInfo`` values for listing rows (the same as ``ObjectRow.to_info`` gives)."""
    make, meta_of, sums_of, when = _make_info, meta_from_json, checksums_from_json, from_us
    return tuple(
        make(bucket, key.decode(), size, etag, when(us), meta_of(meta), sums_of(sums), parts)
        for key, size, etag, us, meta, sums, parts in rows
    )


BUSY_TIMEOUT_MS = 10_000
"""How long a write waits for another connection's write transaction (``busy_timeout``)
before it fails with "database is locked" (``storage.busy_timeout``)."""

SCHEMA_LOCK = "schema.lock"
"""The ``flock`` file, beside the database, that one process at a time holds while it opens
the database: creates the schema and runs the pending migrations."""


@contextmanager
def schema_lock(path: Path, conn: sqlite3.Connection) -> Iterator[None]:
    """Hold ``SCHEMA_LOCK`` exclusively, waiting as long as another process holds it. A
    migration (one transaction) can take longer than the busy timeout - about 1 s per
    million rows for schema 5 - and a sibling worker that waited on SQLite's lock instead
    gave up with "database is locked" and stopped the gateway; here it waits for the
    migration whatever it takes. The lock goes with its holder's process (killed mid-
    migration: SQLite rolls the transaction back and the next holder runs it again)."""
    fd = os.open(path.with_name(SCHEMA_LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if _schema_version(conn) < SCHEMA_VERSION:
                log.warning(
                    "waiting for another process to migrate the metadata database %s to"
                    " schema version %d (about 1 s per million objects)",
                    path,
                    SCHEMA_VERSION,
                )
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _schema_version(conn: sqlite3.Connection) -> int:
    """The committed ``user_version`` (SCHEMA_VERSION when it cannot be read now: a new
    database another process is creating; only the log message depends on it)."""
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error:
        return SCHEMA_VERSION


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A ``BEGIN IMMEDIATE`` transaction on ``conn``: committed on exit, rolled back on
    error (a failed ``COMMIT`` included: no transaction is left open)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        # SQLite rolls back by itself on some errors (SQLITE_FULL): a second ROLLBACK
        # would raise "no transaction is active" over the error that says why
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def freeing(
    conn: sqlite3.Connection,
    change: Callable[[sqlite3.Connection], _T],
    make_room: Callable[[], AbstractContextManager[bool]],
) -> _T:
    """``change(conn)`` in a write transaction that frees room (a delete). On a full
    disk (``SQLITE_FULL``: the journal could not grow) it is tried once more inside
    ``make_room`` (which gives some back and keeps it given until the retry ended;
    False: it had none), so that deleting is how room is made, not one more write
    refused. ``change`` starts afresh each time (the first try rolled back)."""
    try:
        with write_transaction(conn):
            return change(conn)
    except sqlite3.Error as exc:
        if storage_full(exc) is None:
            raise
        # retried in here, not after: a local keeping the failure would hold it and this
        # frame (on its traceback) in a reference cycle
        with make_room() as made:
            if not made:
                raise
            with write_transaction(conn):
                return change(conn)


class MetaDB:
    """The metadata database of one data directory: the event loop's connection (the
    group committer opens its own; see the module docstring)."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
        self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        with schema_lock(path, self.conn):
            wal = journal_mode_wal(self.conn, busy_timeout_ms / 1000) == "wal"
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self.conn.execute("PRAGMA foreign_keys = OFF")
            connect_writer(self.conn)
            with self.write():
                self._create_schema()
                migrate(self.conn)
        # after the write above (the WAL index exists), closed after this connection and
        # the group committer's (CommitWatch's lifetime rule); without a usable one every
        # read queries
        self._watch = CommitWatch.open(path) if wal else None
        self._rows: ExactCache[tuple[str, bytes], ObjectRow] | None = (
            ExactCache(self._watch, max_entries=ROW_CACHE_ENTRIES, max_weight=ROW_CACHE_CHARS)
            if self._watch is not None and self._watch.usable
            else None
        )
        self._inline = InlineCache()
        self._infos: WeighedMemo[int, tuple[ObjectRow, str, ObjectInfo]] = WeighedMemo(
            ROW_CACHE_ENTRIES, ROW_CACHE_CHARS
        )

    def info_of(self, row: ObjectRow, bucket: str) -> ObjectInfo:
        """``row.to_info(bucket)``, remembered while the row cache keeps this very row: a
        GET or HEAD of a key read before gets the same row from the cache, and decoding
        it again (JSON, checksums, dates, an 11-field record) cost ~5 us of every such
        request against ~0.2 us for this look-up. Keyed by the row's identity (the entry
        holds the row, so no other object takes its id while it is there); a row the
        cache does not keep (read afresh, a version's, one too large) is decoded and not
        remembered. Bounded as the row cache is (emptied when full)."""
        found = self._infos.entries.get(id(row))
        if found is not None and found[0] is row and found[1] == bucket:
            return found[2]
        info = row.to_info(bucket)
        rows = self._rows
        if rows is not None and rows.holds((bucket, row.key), row):
            self._infos.put(id(row), (row, bucket, info), _row_chars(row))
        return info

    def _create_schema(self) -> None:
        """Create what is missing, in the caller's write transaction; count existing
        objects into ``bucket_stats`` when the table is new (a database from before it)."""
        new_stats = not self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bucket_stats'"
        ).fetchone()
        for statement in _statements(SCHEMA):
            self.conn.execute(statement)
        if new_stats:
            self.conn.execute(
                "INSERT INTO bucket_stats (bucket, objects, bytes)"
                " SELECT bucket, count(*), coalesce(sum(size), 0) FROM objects GROUP BY bucket"
            )

    def close(self) -> None:
        self.conn.close()
        if self._watch is not None:
            self._watch.close()

    def write(self) -> AbstractContextManager[sqlite3.Connection]:
        """``write_transaction`` on this connection (the loop's)."""
        return write_transaction(self.conn)

    def freeing(
        self,
        change: Callable[[sqlite3.Connection], _T],
        make_room: Callable[[], AbstractContextManager[bool]],
    ) -> _T:
        """``freeing`` on this connection (the loop's)."""
        return freeing(self.conn, change, make_room)

    # -- buckets -------------------------------------------------------------------------

    def bucket(self, name: str) -> tuple[str, int, str] | None:
        row = self.conn.execute(
            "SELECT name, created_at, region FROM buckets WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def require_bucket(self, name: str) -> tuple[str, int, str]:
        """:meth:`bucket`, or ``NoSuchBucket``."""
        row = self.bucket(name)
        if row is None:
            raise no_such_bucket(name)
        return row

    def bucket_stats(self, name: str) -> tuple[int, int]:
        """(object count, total bytes) of a bucket, from the counters (one lookup)."""
        row = self.conn.execute(
            "SELECT objects, bytes FROM bucket_stats WHERE bucket = ?", (name,)
        ).fetchone()
        return (0, 0) if row is None else (int(row[0]), int(row[1]))

    def buckets(self) -> list[tuple[str, int, str]]:
        rows = self.conn.execute("SELECT name, created_at, region FROM buckets ORDER BY name")
        return [(r[0], r[1], r[2]) for r in rows]

    # -- objects -------------------------------------------------------------------------

    def object(self, bucket: str, key: bytes) -> ObjectRow | None:
        """The key's current row. Reused while nothing was committed to the database by
        anyone (``ExactCache``): a HEAD or GET of a key read before costs a look at the
        WAL-index header instead of a read transaction and a row decoded."""
        rows = self._rows
        if rows is None or self.conn.in_transaction:
            return self._object(bucket, key)
        found, marker = rows.get((bucket, key))
        if found is None:
            found = self._object(bucket, key)
            if found is not None:
                chars = _row_chars(found)
                if chars <= ROW_CACHE_MAX_CHARS:
                    rows.put((bucket, key), marker, found, chars)
        return found

    def _object(self, bucket: str, key: bytes) -> ObjectRow | None:
        row = self.conn.execute(_OBJECT_BY_KEY, (bucket, key)).fetchone()
        return None if row is None else ObjectRow.from_tuple(row)

    def inline(self, data_id: str, *, keep: bool = True) -> bytes | None:
        """An inline object's bytes (None: its row is gone, ``inline.inline_bytes``).
        Kept by data id (``InlineCache``: an id's bytes never change), but not read
        through the cache inside a write transaction of this connection, which may store
        bytes it then rolls back. ``keep=False``: bytes read now are not kept (the caller
        keeps what it makes of them instead: an SSE-S3 object's plaintext)."""
        if self.conn.in_transaction:
            return inline_bytes(self.conn, data_id)
        data = self._inline.get(data_id)
        if data is None:
            data = inline_bytes(self.conn, data_id)
            if data is not None and keep:
                self._inline.put(data_id, data)
        return data

    def objects_from(
        self, bucket: str, cursor: Cursor, upper: bytes | None, limit: int
    ) -> list[ListRow]:
        """Listing rows from ``cursor`` with ``key < upper``, in key order (one index range
        scan). Only the columns a listing shows, as plain tuples: see ``ListRow``."""
        op = ">=" if cursor.inclusive else ">"
        sql = f"SELECT {LIST_COLUMNS} FROM objects WHERE bucket = ? AND key {op} ?"
        args: list[Any] = [bucket, cursor.lower]
        if upper is not None:
            sql += " AND key < ?"
            args.append(upper)
        sql += " ORDER BY key LIMIT ?"
        args.append(limit)
        return self.conn.execute(sql, args).fetchall()

    def all_data_ids(self) -> set[str]:
        ids = {r[0] for r in self.conn.execute("SELECT data_id FROM objects")}
        ids.update(
            r[0]
            for r in self.conn.execute("SELECT data_id FROM versions WHERE data_id IS NOT NULL")
        )
        ids.update(r[0] for r in self.conn.execute("SELECT data_id FROM parts"))
        return ids

    def all_upload_ids(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT upload_id FROM uploads")}


def _statements(script: str) -> list[str]:
    """``script`` split into statements (trigger bodies hold ``;`` of their own)."""
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements


_NAMED_BATCH = 500
"""Ids per statement of ``named_among`` (SQLite's limit on bound values is far above)."""


def named_among(db_path: Path, ids: Sequence[str], *, busy_timeout_ms: int) -> set[str]:
    """Those of ``ids`` that some row (object, version, part) names, read from one
    snapshot of the database at ``db_path`` on a connection of its own (blocking; for a
    thread: a row that moves from ``objects`` to ``versions`` meanwhile is seen in one
    table or the other, never in neither). ``busy_timeout_ms``: ``storage.busy_timeout``,
    as every other connection to the database has it."""
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=busy_timeout_ms / 1000)
    try:
        conn.execute("BEGIN")  # the first read fixes the snapshot until the end
        named: set[str] = set()
        for start in range(0, len(ids), _NAMED_BATCH):
            batch = ids[start : start + _NAMED_BATCH]
            marks = ",".join("?" * len(batch))
            sql = " UNION ".join(
                f"SELECT data_id FROM {table} WHERE data_id IN ({marks})"
                for table in ("objects", "versions", "parts")
            )
            named.update(r[0] for r in conn.execute(sql, [*batch, *batch, *batch]))
        conn.execute("COMMIT")
        return named
    finally:
        conn.close()


def truncate_wal(db_path: Path, *, busy_timeout_ms: int) -> None:
    """Checkpoint the database at ``db_path`` and truncate its WAL to nothing, on a
    connection of its own (blocking; for a thread), so that the room the WAL held goes
    back to the file system: what a delete of inline objects gives the full-disk reserve
    (their pages stay in the database, free for its next writes). The checkpoint waits
    for other connections' writes as long as ``busy_timeout_ms`` (``storage.busy_timeout``,
    as every other connection to the database has it). Best effort: a checkpoint that
    other connections keep from finishing for longer leaves the WAL as it is (logged)."""
    try:
        conn = sqlite3.connect(db_path, isolation_level=None, timeout=busy_timeout_ms / 1000)
        try:
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        log.info("could not truncate the WAL of %s: %s", db_path, exc)
        return
    if busy is not None and busy[0]:
        log.info("could not truncate the WAL of %s: other connections kept it busy", db_path)


def connect_writer(conn: sqlite3.Connection) -> None:
    """Settings every connection that writes ``objects`` uses. ``recursive_triggers``
    makes the row an ``INSERT OR REPLACE`` (``upsert_object``) deletes fire
    ``bucket_stats_delete``, so a replaced object is not counted twice. ``secure_delete``
    zeroes what a delete frees: the database holds small objects' bytes (``inline.py``),
    and a deleted object's bytes must not live on in free pages of the file (or of a
    copy of it) any more than in an unlinked data file's name."""
    conn.execute("PRAGMA recursive_triggers = ON")
    conn.execute("PRAGMA secure_delete = ON")


_OLD_DATA_ID = "SELECT data_id FROM objects WHERE bucket = ? AND key = ?"
_UNVERSIONED_COLUMNS = "key, size, etag, last_modified, meta, checksums, parts, data_id, tags"
_UPSERT = (
    f"INSERT OR REPLACE INTO objects (bucket, {_UNVERSIONED_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)"
)
"""The never-versioned write leaves ``version_id`` and ``lock`` out: they stay NULL (the
null version, no Object Lock) and cost nothing."""


def upsert_object(conn: sqlite3.Connection, bucket: str, row: ObjectRow) -> str | None:
    """Insert or replace an object row inside the caller's write transaction; return
    the data id the row replaced (its file is the caller's to delete), if any.

    This is the write of a never-versioned bucket (the PUT hot path); versioned buckets
    go through ``versions.write_version``."""
    old = conn.execute(_OLD_DATA_ID, (bucket, row.key)).fetchone()
    conn.execute(_UPSERT, (bucket, *row[:8], row.tags))
    return None if old is None else str(old[0])
