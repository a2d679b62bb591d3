"""``FilesystemBackend``: metadata in SQLite, object bytes in files named by random ids.

A write streams the body to a temp file, renames it under a fresh id, then commits the
metadata row; the commit is the moment the object exists. Replaced or deleted data files
are unlinked after the commit. Versions, delete markers and Object Lock state: see
``versions.py`` (rows and rules) and ``versioning.py`` (the bucket- and version-level
operations). See ``docs/filesystem-backend.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import sqlite3
from collections.abc import Sequence
from operator import itemgetter
from pathlib import Path

from backends.base import Backend
from backends.checksums import copy_checksum
from backends.conditions import (
    check_conditions,
    check_delete,
    check_write,
    version_condition_refused,
)
from backends.errors import BackendError, no_such_bucket
from backends.filesystem.buckets import BucketsMixin
from backends.filesystem.columns import (
    checksums_from_json,
    checksums_to_json,
    from_us,
    meta_from_json,
    meta_to_json,
    now_us,
    tags_to_json,
)
from backends.filesystem.commit import GroupCommitter
from backends.filesystem.encryption import KeySet
from backends.filesystem.files import META_DB, DataStore
from backends.filesystem.inline import (
    INLINE_MAX,
    BytesBody,
    InlineCache,
    is_inline,
    new_inline_id,
    store,
)
from backends.filesystem.io_pool import DEFAULT_IO_THREADS
from backends.filesystem.listing import Cursor, list_page
from backends.filesystem.metadb import (
    BUSY_TIMEOUT_MS,
    ListRow,
    MetaDB,
    ObjectRow,
    freeing,
    list_infos,
    named_among,
    truncate_wal,
)
from backends.filesystem.multipart import MultipartStore
from backends.filesystem.multipart_ops import MultipartMixin
from backends.filesystem.objects import (
    COPY_ATTEMPTS,
    READ_ATTEMPTS,
    check_source_data,
    copy_data,
    inline_plaintext,
    open_read,
    part_checksums,
    select_bytes,
    source_kept_changing,
)
from backends.filesystem.rewrap import Rewrapped, rewrap
from backends.filesystem.sse import (
    default_algorithm,
    encryption_from_json,
    ensure_bucket_column,
    read_key,
    request_customer,
    source_customer,
    write_plan,
)
from backends.filesystem.tagging import TaggingMixin
from backends.filesystem.versions import (
    Deleted,
    current_etag,
    delete_latest,
    delete_version,
    require_state,
    write_version,
)
from backends.locks import missing_lock_configuration
from backends.ranges import check_part_copy_size
from backends.types import (
    BucketEncryption,
    ByteRange,
    Conditions,
    CopiedObject,
    CopySource,
    DeleteResult,
    Encryption,
    ListPage,
    ObjectInfo,
    ObjectLock,
    ObjectMeta,
    ObjectRead,
    PayloadStream,
    Tags,
    WriteCondition,
)

DEFAULT_MIN_PART_SIZE = 5 * 1024 * 1024
TEMP_SWEEP_INTERVAL = 60.0
"""Seconds between two looks for temp directories of worker processes that ended."""

log = logging.getLogger("nfyio.filesystem")


_WRITE_SETTINGS = "SELECT object_lock, encryption, created_at FROM buckets WHERE name = ?"
"""A write's look at its bucket (PutObject, CopyObject, CreateMultipartUpload): exists,
has Object Lock, default encryption, and which bucket of the name it is (its
``created_at``, checked again when the row is committed)."""


class FilesystemBackend(BucketsMixin, MultipartMixin, TaggingMixin, Backend):
    """The embedded default backend. Several processes may share one ``data_dir``."""

    name = "filesystem"

    def __init__(
        self,
        data_dir: Path,
        *,
        fsync: bool = True,
        region: str = "us-east-1",
        min_part_size: int = DEFAULT_MIN_PART_SIZE,
        io_threads: int = DEFAULT_IO_THREADS,
        sse_key: bytes | None = None,
        sse_previous_keys: Sequence[bytes] = (),
        direct_writes: bool = False,
        inline_max: int = INLINE_MAX,
        temp_sweep_interval: float = TEMP_SWEEP_INTERVAL,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    ) -> None:
        """``inline_max``: PUT bodies up to this many bytes are kept in the metadata
        database instead of a data file (``inline.py``; 0: never). ``direct_writes``: the
        bytes of a body past ``DIRECT_FROM`` bypass the page cache (``DataStore``).
        ``sse_key``: 32 bytes the data keys of encrypted objects are wrapped under (the
        gateway derives it from its master key); without it, requests for server-side
        encryption answer ``NotImplemented``.
        ``sse_previous_keys`` still open data written under earlier keys (see
        docs/security.md, "Data at rest"). ``temp_sweep_interval``: seconds between two
        removals of the temp files of sibling processes that ended (``temp_dirs.py``; 0:
        only at start-up). ``busy_timeout_ms``: how long a write waits for another
        process's transaction (``storage.busy_timeout``)."""
        self.data_dir = Path(data_dir)
        self.keys = None if sse_key is None else KeySet(sse_key, sse_previous_keys)
        self.region = region
        self.files = DataStore(
            self.data_dir, fsync=fsync, io_threads=io_threads, direct=direct_writes
        )
        self.min_part_size = min_part_size
        self.inline_max = inline_max
        self._opened = InlineCache()
        """Plaintexts of SSE-S3 inline objects by data id (``inline_plaintext``)."""
        self._db: MetaDB | None = None
        self._mp: MultipartStore | None = None
        self._committer: GroupCommitter | None = None
        self._lock_fd: int | None = None
        self.temp_sweep_interval = temp_sweep_interval
        self.busy_timeout_ms = busy_timeout_ms
        self._sweeper: asyncio.Task[None] | None = None
        self._naming: asyncio.Task[None] | None = None
        """``name_pending_null_versions`` at start-up."""

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self.files.create_dirs()  # 0700 directories, the database file created 0600
        await self.files.io.run(self.files.keep_reserve)
        meta_dir = self.files.meta_dir
        self._db = MetaDB(meta_dir / META_DB, busy_timeout_ms=self.busy_timeout_ms)
        with self._db.write() as conn:
            ensure_bucket_column(conn)
        self._mp = MultipartStore(
            self._db, self.files, min_part_size=self.min_part_size, keys=self.keys
        )
        self._committer = GroupCommitter(
            self._db.path,
            self.files.object_file,
            self.files.discard,
            fsync=self.files.fsync,
            busy_timeout_ms=self.busy_timeout_ms,
        )
        fd = os.open(meta_dir / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._lock_fd = fd
        # Only a process that is alone on the data directory may judge files orphans: a
        # sibling worker's in-flight temp or freshly placed file has no row yet.
        ended: list[str] = []
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            await self.files.io.run(fcntl.flock, fd, fcntl.LOCK_SH)
            # siblings run: only the ended ones' temp files now, their placed files (a
            # walk of objects/) in the background
            ended = await self._sweep_temp_dirs()
        else:
            try:
                await self.recover()
            finally:
                fcntl.flock(fd, fcntl.LOCK_SH)
        if ended or self.temp_sweep_interval > 0:
            self._sweeper = asyncio.create_task(self._sweep_temp_forever(ended))
        self._naming = asyncio.create_task(self._name_pending())

    async def _name_pending(self) -> None:
        try:
            await self.name_pending_null_versions()
        except Exception:  # recorded in null_naming: the next start goes on
            log.exception("naming the null versions in %s failed", self.data_dir)

    async def sweep_temp(self) -> int:
        """Remove the temp directories of processes that ended while others ran on the
        data directory (a worker killed mid-upload: ``temp_dirs.py``), then the data and
        part files they had placed and never committed a row for; how many processes'
        directories went."""
        ended = await self._sweep_temp_dirs()
        if ended:
            await self._remove_placed(ended)
        return len(ended)

    async def _sweep_temp_dirs(self) -> list[str]:
        ended = await self.files.io.run(self.files.sweep_temp)
        if ended:
            log.warning(
                "removed the temp files of %d process(es) that ended on %s",
                len(ended),
                self.data_dir,
            )
        return ended

    async def _remove_placed(self, ended: Sequence[str]) -> None:
        orphans = await self.files.io.run(self._remove_unnamed, ended)
        if orphans:
            log.warning(
                "removed %d data or part file(s) that process(es) which ended on %s"
                " had placed but not committed",
                orphans,
                self.data_dir,
            )

    def _remove_unnamed(self, ended: Sequence[str]) -> int:
        """Unlink the files the processes ``ended`` placed that no row names. Only the
        process that made an id (its tag: ``DataStore.new_data_id``) commits a row naming
        it, and those have ended: what no row names now, none ever will. Blocking."""
        placed = self.files.placed_by(ended)
        if not placed:
            return 0
        named = named_among(self.db.path, list(placed), busy_timeout_ms=self.busy_timeout_ms)
        unnamed = [path for data_id, path in placed.items() if data_id not in named]
        for path in unnamed:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        return len(unnamed)

    async def _sweep_temp_forever(self, ended: Sequence[str]) -> None:
        """The placed files of the processes ``ended`` (found at start-up), then a sweep
        every ``temp_sweep_interval`` (none when 0)."""
        try:
            if ended:
                await self._remove_placed(ended)
        except Exception:  # left for the next start-up recovery
            log.exception("removing what ended processes placed in %s failed", self.data_dir)
        while self.temp_sweep_interval > 0:
            await asyncio.sleep(self.temp_sweep_interval)
            try:
                await self.sweep_temp()
            except Exception:  # the next look may succeed; the task must go on
                log.exception("temp sweep of %s failed", self.data_dir)

    async def recover(self) -> int:
        """Remove temp files and unreferenced data files; return how many went.

        Only safe while no other process writes to the data directory (``start`` ensures
        that with the lock file).
        """
        db = self.db
        referenced, uploads = db.all_data_ids(), db.all_upload_ids()
        return await self.files.io.run(self.files.recover, referenced, uploads)

    async def rewrap_keys(self) -> Rewrapped:
        """Wrap every SSE-S3 data key under the current key (``rewrap.rewrap``), after a
        master-key rotation; only with no other process on the data directory. Runs on
        the calling thread (the metadata connection's), blocking it: a maintenance step,
        not a request."""
        if self.keys is None:
            raise BackendError("InternalError", "no SSE key configured")
        return rewrap(self.db, self.files, self.keys)

    async def close(self) -> None:
        if self._naming is not None:
            self._naming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._naming
            self._naming = None
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        if self._committer is not None:
            await self._committer.close()
            self._committer = None
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        self.files.close()

    async def ready(self) -> bool:
        return self._db is not None

    @property
    def db(self) -> MetaDB:
        if self._db is None:
            raise BackendError("ServiceUnavailable", "backend not started")
        return self._db

    @property
    def mp(self) -> MultipartStore:
        if self._mp is None:
            raise BackendError("ServiceUnavailable", "backend not started")
        return self._mp

    # -- objects -------------------------------------------------------------------------

    async def put_object(
        self,
        bucket: str,
        key: str,
        body: PayloadStream,
        meta: ObjectMeta,
        *,
        content_md5: bytes | None = None,
        size_hint: int | None = None,
        encryption: Encryption | None = None,
        object_lock: ObjectLock | None = None,
        condition: WriteCondition | None = None,
        tags: Tags = (),
    ) -> ObjectInfo:
        # the bucket's existence, lock and default encryption (and the write's condition)
        # before the body is read; the bucket (the same one: ``made``) and the condition
        # are checked again at commit
        default, made = self.write_settings(bucket, object_lock)
        if condition is not None:
            self.check_condition(bucket, key, condition)
        plan = write_plan(encryption, default_algorithm(default), self.keys)
        meta = plan.apply(meta, self.keys)
        committer = self._committer
        if committer is None:
            raise BackendError("ServiceUnavailable", "backend not started")
        data_id = self.files.new_object_id()
        dest = self.files.object_file(data_id)
        received = await self.files.receive(
            body,
            dest,
            content_md5=content_md5,
            defer_sync=True,
            sealer=plan.sealer(self.keys),
            inline_max=self.inline_max,
        )
        path: str | None = dest
        if received.inline is not None:
            data_id, path = new_inline_id(), None
        row = ObjectRow(
            key=key.encode("utf-8"),
            size=received.size,
            etag=plan.etag(received.etag),
            last_modified=0,  # the committing transaction's time (GroupCommitter.commit)
            meta=meta_to_json(meta),
            checksums=checksums_to_json(received.checksums),
            parts=None,
            data_id=data_id,
            tags=tags_to_json(tags),
        )
        version_id, last_modified = await committer.commit(
            bucket, row, path, object_lock, condition, inline=received.inline, incarnation=made
        )
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=row.size,
            etag=row.etag,
            last_modified=from_us(last_modified),
            meta=meta,
            checksums=dict(received.checksums),
            version_id=version_id,
            tag_count=len(tags),
        )

    def write_settings(
        self, bucket: str, object_lock: ObjectLock | None
    ) -> tuple[BucketEncryption | None, int]:
        """A write's look at its bucket before its body, in one primary-key read: it is
        there (``NoSuchBucket``), has Object Lock when the write sets lock settings, its
        default encryption, and its ``created_at`` (the incarnation the write binds to,
        checked again at commit: ``versions.bucket_state``)."""
        row = self.db.conn.execute(_WRITE_SETTINGS, (bucket,)).fetchone()
        if row is None:
            raise no_such_bucket(bucket)
        if object_lock is not None and row[0] is None:
            raise missing_lock_configuration()
        return encryption_from_json(row[1]), int(row[2])

    def check_condition(
        self, bucket: str, key: str, condition: WriteCondition, *, racing: bool = False
    ) -> None:
        """A conditional write against the key's current object (in the caller's
        transaction when ``racing``)."""
        check_write(
            key, current_etag(self.db.conn, bucket, key.encode("utf-8")), condition, racing=racing
        )

    async def commit_object(
        self,
        bucket: str,
        row: ObjectRow,
        lock: ObjectLock | None = None,
        condition: WriteCondition | None = None,
        *,
        inline: bytes | None = None,
        incarnation: int | None = None,
    ) -> ObjectRow:
        """Make ``row`` (whose data file is in place, or whose bytes ``inline`` are written
        with it) the latest version, if ``bucket`` is still the one made at
        ``incarnation`` (None: any); unlink what it replaced (off the loop); return the
        row as committed: its version id, and its last-modified time taken inside the
        transaction (as ``GroupCommitter.commit`` takes it: writes commit in the order
        of their times).

        On failure the new data file is removed and the previous object stays.
        """
        try:
            with self.db.write() as conn:
                state = require_state(conn, bucket, incarnation)
                if condition is not None:
                    self.check_condition(bucket, row.key.decode("utf-8"), condition, racing=True)
                row = row._replace(last_modified=now_us())
                version_id, doomed = write_version(conn, bucket, state, row, lock)
                if inline is not None:
                    store(conn, row.data_id, inline)
        except BaseException:
            self.files.unlink_object(row.data_id)
            raise
        await self.files.drop_files(self.files.object_files(doomed))
        return row._replace(version_id=version_id)

    async def head_object(
        self,
        bucket: str,
        key: str,
        *,
        conditions: Conditions | None = None,
        version_id: str | None = None,
        encryption: Encryption | None = None,
    ) -> ObjectInfo:
        info = self.db.info_of(self.find(bucket, key, version_id), bucket)
        read_key(info.meta, request_customer(encryption), self.keys)
        if conditions is not None:
            check_conditions(info, conditions)
        return info

    async def describe_object(
        self, bucket: str, key: str, *, version_id: str | None = None
    ) -> ObjectInfo:
        return self.find(bucket, key, version_id).to_info(bucket)

    async def get_object(
        self,
        bucket: str,
        key: str,
        *,
        byte_range: ByteRange | None = None,
        part_number: int | None = None,
        conditions: Conditions | None = None,
        version_id: str | None = None,
        encryption: Encryption | None = None,
    ) -> ObjectRead:
        for _attempt in range(READ_ATTEMPTS):
            row = self.find(bucket, key, version_id)
            info = self.db.info_of(row, bucket)
            customer_key = read_key(info.meta, request_customer(encryption), self.keys)
            if conditions is not None:
                check_conditions(info, conditions)
            first, last, partial = select_bytes(row, byte_range, part_number)
            if is_inline(row.data_id):
                plain = inline_plaintext(
                    self.db, self._opened, row, info.meta, self.keys, customer_key
                )
                if plain is None:
                    continue  # replaced or deleted since the row was read: look again
                body = BytesBody(plain[first : last + 1] if partial else plain)
                read = ObjectRead(info, body, first, last, partial)
            else:
                opened = await open_read(
                    self.files, row, info, first, last, partial, self.keys, customer_key
                )
                if opened is None:
                    continue  # replaced or deleted since the row was read: look again
                read = opened
            if part_number is not None:
                read.part_checksums = part_checksums(row.parts, info.checksums, part_number)
            return read
        raise BackendError("InternalError", "object data file is missing")

    async def delete_object(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        bypass_governance: bool = False,
        if_match: str | None = None,
    ) -> DeleteResult:
        return (
            await self.delete_objects(
                bucket,
                [(key, version_id)],
                bypass_governance=bypass_governance,
                etags=None if if_match is None else (if_match,),
                single=True,
            )
        )[0]

    async def delete_objects(
        self,
        bucket: str,
        keys: Sequence[tuple[str, str | None]],
        *,
        bypass_governance: bool = False,
        etags: Sequence[str | None] | None = None,
        single: bool = False,
    ) -> Sequence[DeleteResult]:
        """All deletions in one transaction; data files unlinked after it commits (on a
        pool thread, before the answer: ``DataStore.drop_files``).

        A key's ETag condition is read in that same ``BEGIN IMMEDIATE`` transaction, so
        no write can come between the check and the delete (one indexed read, only for
        keys that have one). A key's error (malformed version id, Object Lock, a failed
        condition) is its result, or with ``single`` (DeleteObject) the exception."""
        now = now_us()

        def delete(conn: sqlite3.Connection) -> tuple[list[DeleteResult], list[str]]:
            results: list[DeleteResult] = []
            doomed: list[str] = []
            state = require_state(conn, bucket)
            for i, (key, version_id) in enumerate(keys):
                key_bytes = key.encode("utf-8")
                done: Deleted
                try:
                    etag = None if etags is None else etags[i]
                    if etag is not None:
                        if version_id is not None:
                            raise version_condition_refused()
                        check_delete(key, current_etag(conn, bucket, key_bytes), etag)
                    if version_id is None:
                        done = delete_latest(conn, bucket, state, key_bytes, now)
                    else:
                        done = delete_version(
                            conn, bucket, key_bytes, version_id, bypass_governance=bypass_governance
                        )
                except BackendError as exc:  # raised before it changed anything
                    if single:
                        raise
                    results.append(DeleteResult(key, version_id, exc.code, exc.message))
                    continue
                doomed.extend(done.doomed)
                results.append(
                    DeleteResult(
                        key,
                        version_id,
                        delete_marker=done.marker,
                        delete_marker_version_id=done.marker_id,
                    )
                )
            return results, doomed

        make_room = self.files.reserve_released
        committer = self._committer
        if single or committer is None:  # one key: ~0.1 ms, less than a thread hop
            results, doomed = self.db.freeing(delete, make_room)
        else:  # on the group commit's writer thread: 1,000 keys held the loop 12-400 ms
            results, doomed = await committer.run(lambda conn: freeing(conn, delete, make_room))
        if doomed:
            # then the reserve again, after a release: from the room just freed, first
            await self.files.drop_files(self.files.object_files(doomed), refill=True)
        elif not self.files.reserve_kept():
            # inline objects (or markers) only: their pages stay in the database for its
            # next writes; the room the WAL held makes the reserve again
            await asyncio.shield(self.files.io.run(self._refill_from_wal))
        return results

    def _refill_from_wal(self) -> None:
        truncate_wal(self.db.path, busy_timeout_ms=self.busy_timeout_ms)
        self.files.keep_reserve()

    async def copy_object(
        self,
        source: CopySource,
        bucket: str,
        key: str,
        *,
        meta: ObjectMeta | None = None,
        encryption: Encryption | None = None,
        object_lock: ObjectLock | None = None,
        condition: WriteCondition | None = None,
        tags: Tags | None = None,
        checksum_algorithm: str | None = None,
    ) -> CopiedObject:
        default, made = self.write_settings(bucket, object_lock)
        if condition is not None:
            self.check_condition(bucket, key, condition)
        plan = write_plan(encryption, default_algorithm(default), self.keys)
        missing: set[str] = set()
        for _attempt in range(COPY_ATTEMPTS):
            src = self.find_copy_source(source)
            check_part_copy_size(src.size, self.max_part_copy)  # as S3: 5 GiB at most
            check_source_data(src.data_id, missing)
            src_meta = meta_from_json(src.meta)
            src_key = read_key(src_meta, source_customer(encryption), self.keys)
            check_conditions(src.to_info(source.bucket), source.conditions, is_copy_source=True)
            checksum = copy_checksum(checksum_algorithm, checksums_from_json(src.checksums))
            data_id = self.files.new_data_id()
            inline: bytes | None = None
            if is_inline(src.data_id):
                inline = self.db.inline(src.data_id)
                if inline is None:
                    continue  # the source was replaced meanwhile: read it again
            if (
                inline is not None
                and checksum is None
                and plan.stores_like(src_meta, self.keys)
                and 0 < self.inline_max >= src.size
            ):
                etag: str | None = src.etag  # the same bytes, stored alike
                data_id = new_inline_id()
            else:
                etag = await copy_data(
                    self.files, src, src_meta, src_key, plan, data_id, self.keys, inline, checksum
                )
                inline = None  # now in the data file
            if etag is None:
                continue  # the source was replaced meanwhile: read it again
            checksums = src.checksums
            if checksum is not None and checksum_algorithm is not None:
                checksums = checksums_to_json({checksum_algorithm: checksum.b64digest()})
            row = ObjectRow(
                key=key.encode("utf-8"),
                size=src.size,
                etag=etag,
                last_modified=0,  # the committing transaction's time (commit_object)
                meta=meta_to_json(plan.apply(src_meta if meta is None else meta, self.keys)),
                checksums=checksums,
                parts=src.parts,
                data_id=data_id,
                tags=src.tags if tags is None else tags_to_json(tags),
            )
            committed = await self.commit_object(
                bucket, row, object_lock, condition, inline=inline, incarnation=made
            )
            info = committed.to_info(bucket)
            return CopiedObject.of(info, src.version_id)
        raise source_kept_changing()

    async def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        marker: str | None = None,
        max_keys: int = 1000,
    ) -> ListPage:
        db = self.db
        db.require_bucket(bucket)

        def seek(cursor: Cursor, upper: bytes | None, limit: int) -> list[ListRow]:
            return db.objects_from(bucket, cursor, upper, limit)

        page = list_page(
            seek,
            itemgetter(0),
            prefix=prefix.encode("utf-8"),
            delimiter=delimiter.encode("utf-8") if delimiter else None,
            marker=marker.encode("utf-8") if marker is not None else None,
            max_keys=max_keys,
        )
        last = page.entries[-1] if page.entries else None
        next_marker = None
        if last is not None:
            next_marker = (last if isinstance(last, bytes) else last[0]).decode("utf-8")
        return ListPage(
            objects=list_infos(bucket, page.items),
            common_prefixes=tuple(p.decode("utf-8") for p in page.common_prefixes),
            is_truncated=page.is_truncated,
            next_marker=next_marker,
        )


__all__ = ["FilesystemBackend"]
