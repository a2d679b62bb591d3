"""Group commit of new object rows (``PutObject``).

Each PUT places its data file (written, renamed; no fsync yet) and then hands its row to
``GroupCommitter.commit``, which waits until that row is committed. One committer task per
process takes every row queued so far and, on its own thread and SQLite connection:

1. fsyncs each data file of the group, then each directory they were renamed into (once
   per directory), so bytes and names survive a power loss before any row points at them;
2. in one ``BEGIN IMMEDIATE`` transaction reads the buckets (existence, incarnation,
   versioning state, Object Lock configuration: one indexed read per distinct bucket of
   the group), refuses each row whose bucket is not the incarnation its PUT found before
   reading its body (``BucketState.made_at``, the rule of ``versions.bucket_state``),
   checks each conditional PUT's ``If-None-Match`` / ``If-Match`` against the key's
   current row (rows written earlier in the same group count: of many PUTs racing for
   one key with ``If-None-Match: *`` exactly one is written, the others get
   ``ConditionalRequestConflict``; an unconditional row costs nothing here) and writes
   each row with ``versions.write_version``: in a never-versioned bucket the plain
   replace of ``metadb.upsert_object``, which reports the data id it replaced; in a
   versioned bucket a new version. The commit runs with
   ``synchronous=FULL`` when fsync is on, so the WAL is synced before it returns. An
   inline object's bytes are written by the same transaction, after its row (step 1 has
   nothing of it to sync), and the inline bytes of what a row replaced are deleted there
   too (``inline.release``, called by ``write_version``);
3. unlinks the data files of rows that failed (``NoSuchBucket``), and moves those of
   replaced objects into this process's temp directory, to be unlinked in the background
   (``DataStore.discard``: a large file's unlink takes milliseconds, on this one thread).

Rows queue up while a group is being committed, so group size follows the load without a
timer. The commit is still the moment an object exists, and a PUT answers only after its
own group committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from backends.conditions import check_write
from backends.errors import BackendError, no_such_bucket
from backends.filesystem.columns import now_us
from backends.filesystem.file_ops import fsync_dir, fsync_path
from backends.filesystem.inline import store
from backends.filesystem.metadb import ObjectRow, connect_writer
from backends.filesystem.versions import (
    BUCKET_COLUMNS,
    current_etag,
    state_of,
    write_version,
)
from backends.types import ObjectLock, WriteCondition

log = logging.getLogger("nfyio.filesystem")

SYNC_THREADS = 8
"""Threads that fsync one group's files and directories concurrently."""


@dataclass(slots=True)
class _Item:
    bucket: str
    row: ObjectRow
    path: str | None
    """The placed data file (removed if the row is not committed); None for an inline
    object, whose bytes are ``inline``."""
    lock: ObjectLock | None
    """The Object Lock settings the PUT asked for."""
    condition: WriteCondition | None
    """``If-None-Match`` / ``If-Match``: checked against the key's current row here, in
    the transaction that writes this row (the PUT checked it once already on arrival)."""
    future: asyncio.Future[tuple[str | None, int]]
    """Resolves to the version id of the committed row (None: never-versioned bucket)."""
    inline: bytes | None = None
    """The object's bytes, written with its row (``inline.py``)."""
    incarnation: int | None = None
    """The bucket's ``created_at`` when the PUT began (None: whichever bucket of the name
    is there at commit)."""


_T = TypeVar("_T")


class GroupCommitter:
    """Commits the rows of concurrent PUTs in shared transactions on one writer thread."""

    def __init__(
        self,
        db_path: Path,
        object_path: Callable[[str], str],
        discard: Callable[[Sequence[str]], None],
        *,
        fsync: bool,
        busy_timeout_ms: int,
    ) -> None:
        self.fsync = fsync
        self._object_path = object_path
        self._discard = discard
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="fs-commit")
        self._syncers = ThreadPoolExecutor(SYNC_THREADS, thread_name_prefix="fs-fsync")
        self._conn: sqlite3.Connection | None = None
        self._pending: list[_Item] = []
        self._task: asyncio.Task[None] | None = None
        self._executor.submit(self._connect, db_path, busy_timeout_ms).result()

    def _connect(self, db_path: Path, busy_timeout_ms: int) -> None:
        conn = sqlite3.connect(db_path, isolation_level=None, timeout=busy_timeout_ms / 1000)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        # WAL with NORMAL does not sync the WAL on commit; FULL does (once per group).
        conn.execute(f"PRAGMA synchronous = {'FULL' if self.fsync else 'NORMAL'}")
        connect_writer(conn)
        self._conn = conn

    async def commit(
        self,
        bucket: str,
        row: ObjectRow,
        path: str | None,
        lock: ObjectLock | None = None,
        condition: WriteCondition | None = None,
        *,
        inline: bytes | None = None,
        incarnation: int | None = None,
    ) -> tuple[str | None, int]:
        """Commit ``row`` (its data file ``path`` in place, or its bytes ``inline`` to be
        written with it) into ``bucket`` if it is still the bucket made at
        ``incarnation`` (its ``created_at``; None: any); return its version id and its
        last-modified time once it is durable. The time is taken inside the committing
        transaction (``_commit_group``), not when the body ended: writes commit in the
        order of their times, across worker processes too (the transaction holds the
        database's write lock), so a key's latest object is the one with the latest time
        (its ownership row's ``written_at`` orders the key's rows by it).

        On failure the data file is gone and the previous object stays. If the caller is
        cancelled meanwhile, the row may still be committed (as with any request whose
        client went away after sending it).
        """
        future: asyncio.Future[tuple[str | None, int]] = asyncio.get_running_loop().create_future()
        item = _Item(bucket, row, path, lock, condition, future, inline, incarnation)
        self._pending.append(item)
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        return await future

    async def run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """``work(connection)`` on the writer thread, between two groups: a write too long
        for the event loop (DeleteObjects: ~60 ms for 1,000 small inline objects, ~400 ms
        for 1,000 of 60 KiB, whose pages ``secure_delete`` zeroes). Its transaction is
        ``work``'s, committed with ``synchronous=NORMAL`` as every write on the loop's
        connection is (no WAL fsync: docs/filesystem-backend.md, "Other metadata
        writes"); the groups' FULL is set again after it."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._on_conn, work)

    def _on_conn(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        conn = self._conn
        assert conn is not None
        if not self.fsync:
            return work(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
        try:
            return work(conn)
        finally:
            conn.execute("PRAGMA synchronous = FULL")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                group, self._pending = self._pending, []
                try:
                    results = await loop.run_in_executor(self._executor, self._commit_group, group)
                except BaseException as exc:  # the whole group failed; files already removed
                    for item in group:
                        if not item.future.done():
                            item.future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for item, result in zip(group, results, strict=True):
                    if item.future.done():
                        continue
                    if isinstance(result, BackendError):
                        item.future.set_exception(result)
                    else:
                        item.future.set_result(result)
        finally:
            self._task = None

    def _commit_group(self, group: list[_Item]) -> list[BackendError | tuple[str | None, int]]:
        """Blocking, on the writer thread: dir fsyncs, one transaction, unlinks. One
        result per item: its version id and time, or the error that kept it out."""
        conn = self._conn
        assert conn is not None
        doomed: list[str | None] = []
        replaced_files: list[str] = []
        results: list[BackendError | tuple[str | None, int]] = []
        try:
            if self.fsync:
                self._sync(group)
            conn.execute("BEGIN IMMEDIATE")
            try:
                names = {item.bucket for item in group}
                marks = ",".join("?" * len(names))
                sql = f"SELECT name, {BUCKET_COLUMNS} FROM buckets WHERE name IN ({marks})"
                found = {r[0]: state_of(r[1:]) for r in conn.execute(sql, list(names))}
                for item in group:
                    state = found.get(item.bucket)
                    if state is None or not state.made_at(item.incarnation):
                        results.append(no_such_bucket(item.bucket))
                        doomed.append(item.path)
                        continue
                    row = item.row._replace(last_modified=now_us())  # in commit order
                    try:
                        if item.condition is not None:
                            _check_condition(conn, item)
                        version_id, replaced = write_version(
                            conn, item.bucket, state, row, item.lock
                        )
                    except BackendError as exc:  # raised before it wrote anything
                        results.append(exc)
                        doomed.append(item.path)
                        continue
                    if item.inline is not None:
                        store(conn, item.row.data_id, item.inline)
                    replaced_files.extend(self._object_path(old) for old in replaced)
                    results.append((version_id, row.last_modified))
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        except BaseException:
            for item in group:
                _unlink(item.path)
            raise
        self._clean_up(doomed, replaced_files)
        return results

    def _clean_up(self, doomed: Sequence[str | None], replaced: Sequence[str]) -> None:
        """After COMMIT: remove the new files of the rows that failed, and hand the
        replaced ones to ``discard`` (unlinked in the background, not before the group's
        answer). The group is committed: nothing here may turn its writes into errors.
        A file that will not go (EACCES, EPERM, EIO, ...) is logged and left: no row
        names it, so the next start's recovery removes it (``FilesystemBackend.recover``
        unlinks every data file no row names)."""
        for path in doomed:
            try:
                _unlink(path)
            except OSError as exc:
                _left(exc)
        try:
            self._discard(replaced)
        except OSError as exc:
            _left(exc)

    def _sync(self, group: list[_Item]) -> None:
        """fsync every data file of the group and every directory they were renamed
        into, all at once on ``SYNC_THREADS`` threads: the file system folds concurrent
        fsyncs into shared journal commits, so a group waits about one commit instead
        of one per file and directory. All of them finish (or the first error is raised)
        before the transaction starts."""
        files = [item.path for item in group if item.path is not None]
        if not files:
            return  # inline objects only: the transaction's WAL sync is all they need
        directories = list({os.path.dirname(path) for path in files})
        if len(files) == 1:
            fsync_path(files[0])
            fsync_dir(directories[0])
            return
        syncs = [self._syncers.submit(fsync_path, path) for path in files]
        syncs += [self._syncers.submit(fsync_dir, path) for path in directories]
        for sync in syncs:
            sync.result()

    async def close(self) -> None:
        """Wait for queued rows to commit, then close the writer connection."""
        while self._task is not None:
            await asyncio.shield(self._task)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._disconnect)
        self._executor.shutdown(wait=True)
        self._syncers.shutdown(wait=True)

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _check_condition(conn: sqlite3.Connection, item: _Item) -> None:
    """A conditional PUT against the row committed last (rows earlier in this group
    included): a failure now is a race the PUT lost (``ConditionalRequestConflict``)."""
    assert item.condition is not None
    key = item.row.key.decode("utf-8")
    check_write(key, current_etag(conn, item.bucket, item.row.key), item.condition, racing=True)


def _left(exc: OSError) -> None:
    log.warning("could not remove a data file no row names (removed at the next start): %s", exc)


def _unlink(path: str | None) -> None:
    if path is None:
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
