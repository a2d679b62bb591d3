"""Data files: receiving bodies into temp files, placing them under internal ids, reading.

Layout under the data directory::

    tmp/<owner>/<random>               bodies being received, in the receiving process's
                                       own directory (``temp_dirs.py``)
    objects/<id[0:2]>/<id[2:4]>/<id>   object bytes, immutable once placed
    parts/<upload id>/<id>             multipart parts until completion or abort
    meta/                              the metadata database (``metadb.py``) and lock

A key never becomes part of a path: every file is named by a random hex id. Directories
are created 0700 and files 0600 whatever the process umask (modes set explicitly).
Encrypted objects (``encryption.py``) are written through a ``Sealer`` and read through a
``ReadAt`` that decrypts; the file operations here treat both alike. Streaming a placed
object back is ``bodies.py``; the threads that do blocking file work, ``io_pool.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import itertools
import logging
import mmap
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, TypeVarTuple

from backends.errors import BackendError
from backends.filesystem.bodies import SYNC_READ_MAX
from backends.filesystem.encryption import SEGMENT, RawReader, ReadAt, Sealer
from backends.filesystem.io_pool import DEFAULT_IO_THREADS, IOPool
from backends.filesystem.temp_dirs import OwnTemp, Trash, claim, remove_if_ended, sweep
from backends.types import PayloadStream
from sigv4 import Checksum

BATCH = 256 * 1024
"""Bytes gathered in memory before one off-loop write + hash."""
COPY_CHUNK = 1024 * 1024
PREFIX_RUN = 256
"""Consecutive object ids placed in the same directory (see ``DataStore.new_object_id``)."""
TAG = 8
"""Hex digits of a data id, after its first four, that name the process that made it: the
first ones of its temp directory's owner (``DataStore.new_data_id``)."""
DIRECT_FROM = 4 * 1024 * 1024
"""With direct writes on, a body's bytes past this offset bypass the page cache."""
DIRECT_ALIGN = 4096
"""File offsets, lengths and buffer addresses of writes that bypass the page cache are
multiples of this (the largest logical block size in use; pages are 4 KiB)."""

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

log = logging.getLogger("nfyio.filesystem")


DIR_MODE = 0o700
FILE_MODE = 0o600
META_DB = "meta.sqlite3"
RESERVE = "reserve"
RESERVE_BYTES = 16 * 1024 * 1024
"""What ``meta/reserve`` holds (at most 1/64 of the file system): room given back when a
delete finds the disk full (``DataStore.release_reserve``)."""
RESERVE_LOCK = "reserve.lock"
"""``flock`` held from a release of the reserve until the delete that needed it committed
(``DataStore.reserve_released``); a refill finding it held is left to that delete."""
TRASH_FROM = 64
"""An upload directory of more part files than this is removed in the background
(``DataStore.drop_upload_dir``)."""


def _sealed(sealer: Sealer, data: bytes) -> bytes:
    """``data``'s encrypted stream, as ``_Writer`` writes it to a file: the header, whole
    segments, then the final (possibly short or empty) one."""
    whole = (len(data) - 1) // SEGMENT * SEGMENT if data else 0
    view = memoryview(data)
    try:
        pieces = [sealer.header]
        if whole > 0:
            pieces.append(sealer.seal(view[:whole], final=False))
        pieces.append(sealer.seal(view[whole:], final=True))
    finally:
        view.release()
    return b"".join(pieces)


def _bad_digest() -> BackendError:
    return BackendError(
        "BadDigest", "The Content-MD5 you specified did not match what we received."
    )


def new_id() -> str:
    """128 random bits as 32 hex digits (the form ``uuid4().hex`` had, at a quarter of
    its cost: two per PUT)."""
    return os.urandom(16).hex()


@dataclass(slots=True)
class Received:
    """A body written to its final place (not yet referenced by any row)."""

    size: int
    md5: bytes
    checksums: Mapping[str, str] = field(default_factory=dict)
    inline: bytes | None = None
    """The body as stored (sealed when encrypted) when it was kept for the database
    (``receive``'s ``inline_max``): then no file was written."""

    @property
    def etag(self) -> str:
        return self.md5.hex()


class DataStore:
    """Owns the directories of one data directory and every file operation on them."""

    def __init__(
        self,
        root: Path,
        *,
        fsync: bool,
        io_threads: int = DEFAULT_IO_THREADS,
        direct: bool = False,
    ) -> None:
        self.root = root
        self.io = IOPool(io_threads)
        self.tmp_root = root / "tmp"
        self.tmp_dir = self.tmp_root
        """This process's own directory under ``tmp_root`` once ``create_dirs`` ran."""
        self._own: OwnTemp | None = None
        self.tag = new_id()[:TAG]
        """In every data id this process makes: its owner's (``create_dirs``)."""
        self.trash = Trash()
        self.objects_dir = root / "objects"
        self.parts_dir = root / "parts"
        self.meta_dir = root / "meta"
        self.fsync = fsync
        # ``direct`` (storage.direct_writes): the bytes of a large body past DIRECT_FROM
        # bypass the page cache (docs/filesystem-backend.md, "Direct writes"). A file
        # system that refuses O_DIRECT turns it off for the store.
        self.direct = direct and hasattr(os, "O_DIRECT")
        self._objects = str(self.objects_dir)
        self._tmp = str(self.tmp_dir)
        self._parts = str(self.parts_dir)
        # Directories known to exist, as strings: ``place`` runs on every PUT, and a
        # ``Path`` costs microseconds to make and compare there.
        self._made_dirs: set[str] = set()
        self._prefix = ""
        self._prefix_left = 0

    def create_dirs(self) -> None:
        """The directories (0700) and an empty metadata database file (0600) if missing:
        SQLite creates a database 0644 less the umask, and gives its ``-wal`` and ``-shm``
        files the database's mode, so creating it first makes all three private."""
        for d in (self.root, self.tmp_root, self.objects_dir, self.parts_dir, self.meta_dir):
            make_private_dir(d)
        db = self.meta_dir / META_DB
        if not db.exists():
            with contextlib.suppress(FileExistsError):
                os.close(_open_new(db))
        if self._own is None:
            self._own = claim(self.tmp_root)
            self.tmp_dir = self._own.path
            self._tmp = str(self.tmp_dir)
            self.tag = self._own.path.name[:TAG]
            self._prefix_left = 0

    def sweep_temp(self) -> list[str]:
        """Remove the temp directories of processes that ended (``temp_dirs.sweep``);
        the owners whose directory went. Blocking."""
        return sweep(self.tmp_root, self.tmp_dir)

    def placed_by(self, owners: Sequence[str]) -> dict[str, str]:
        """The data and part files (id: path) whose ids the processes ``owners`` made,
        those that ended (``sweep_temp``): placed, and then their row committed or not.
        An owner with a directory under ``tmp/`` (a live process whose own directory
        shares the tag, one in the making) is left out. Blocking: a walk of ``objects/``
        and ``parts/``, once per process that ended."""
        tags = {owner[:TAG] for owner in owners} - self._live_tags()
        found: dict[str, str] = {}
        if not tags:
            return found
        for top in (self._objects, self._parts):
            for dirpath, _dirs, files in os.walk(top):
                for name in files:
                    if name[4 : 4 + TAG] in tags:
                        found[name] = os.path.join(dirpath, name)
        live = self._live_tags()  # again: a process started meanwhile under such a tag
        return {i: path for i, path in found.items() if i[4 : 4 + TAG] not in live}

    def _live_tags(self) -> set[str]:
        with os.scandir(self.tmp_root) as entries:
            return {entry.name[:TAG] for entry in entries}

    def close(self) -> None:
        """Stop the pools and give up this process's temp directory (removed if empty)."""
        self.trash.close()
        self.io.close()
        own, self._own = self._own, None
        if own is not None:
            own.release()

    # -- the reserve ----------------------------------------------------------------------

    def keep_reserve(self) -> None:
        """Make ``meta/reserve`` (``RESERVE_BYTES`` with blocks on the disk) if it is
        missing; without room for it, leave it missing. Blocking; at start-up, and after
        a delete freed data files (one ``stat`` when the reserve is there). Not while a
        delete holds ``RESERVE_LOCK`` (``reserve_released``): the room is that delete's,
        and it refills after its transaction."""
        path = self.meta_dir / RESERVE
        if path.exists():
            return
        lock = self._reserve_lock()
        if lock is None:
            return  # no room for an empty file: none for the reserve either
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return
            if not path.exists():
                self._make_reserve(path)
        finally:
            os.close(lock)  # releases the lock

    @contextlib.contextmanager
    def reserve_released(self) -> Iterator[bool]:
        """Give the reserve's room back to the file system for the body of the ``with``
        (a delete's retried transaction, ``MetaDB.freeing``); yields False when there was
        none. Holds ``RESERVE_LOCK`` meanwhile, so that no refill - by a removal thread of
        this process or by a sibling worker - takes the room back before the delete used
        it; waits for a refill in progress (one allocation) to end first."""
        lock = self._reserve_lock()
        try:
            if lock is not None:
                fcntl.flock(lock, fcntl.LOCK_EX)
            yield self.release_reserve()
        finally:
            if lock is not None:
                os.close(lock)

    def _reserve_lock(self) -> int | None:
        """A descriptor of its own on ``RESERVE_LOCK`` (``flock`` locks of two
        descriptors conflict, in one process too); None when it cannot be made."""
        try:
            return os.open(
                self.meta_dir / RESERVE_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE
            )
        except OSError:
            return None

    def _make_reserve(self, path: Path) -> None:
        tmp = f"{self._tmp}/{new_id()}"
        try:
            fs = os.statvfs(self.meta_dir)
            fd = _open_new(tmp)
            try:
                allocate(fd, min(RESERVE_BYTES, fs.f_blocks * fs.f_frsize // 64))
            finally:
                os.close(fd)
            os.rename(tmp, path)  # never a partial reserve under its name
        except OSError:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def release_reserve(self) -> bool:
        """Give the reserve's room back to the file system; False when there was none."""
        try:
            os.unlink(self.meta_dir / RESERVE)
        except FileNotFoundError:
            return False
        return True

    def make_upload_dir(self, upload_id: str) -> None:
        make_private_dir(self.upload_dir(upload_id))

    # -- paths ---------------------------------------------------------------------------

    def object_path(self, data_id: str) -> Path:
        return self.objects_dir / data_id[0:2] / data_id[2:4] / data_id

    def new_object_id(self) -> str:
        """A fresh object id; consecutive ids share their directory (``objects/ab/cd``).

        ``PREFIX_RUN`` ids in a row get the same random first four hex digits (then this
        process's ``tag``, as every id of ``new_data_id``), so the PUTs
        of one group commit usually land in one directory: one directory fsync for the
        group, and a new directory only every ``PREFIX_RUN`` objects rather than for most
        objects of a young bucket. Over time the directories fill evenly.
        """
        if self._prefix_left <= 0:
            self._prefix = new_id()[:4] + self.tag
            self._prefix_left = PREFIX_RUN
        self._prefix_left -= 1
        return self._prefix + new_id()[4 + TAG :]

    def new_data_id(self) -> str:
        """A fresh id for a data or part file: 32 hex digits, the 5th to 12th this
        process's ``tag``, the rest random (96 bits), as ``new_object_id``'s. The tag
        tells which process placed a file: only that process commits a row naming it, so
        once it ended a file of its tag that no row names never will be
        (``FilesystemBackend.sweep_temp``)."""
        fresh = new_id()
        return f"{fresh[:4]}{self.tag}{fresh[4 + TAG :]}"

    def object_file(self, data_id: str) -> str:
        """``object_path`` as a string (cheaper on the PUT path)."""
        return f"{self._objects}/{data_id[0:2]}/{data_id[2:4]}/{data_id}"

    def upload_dir(self, upload_id: str) -> Path:
        return self.parts_dir / upload_id

    def part_path(self, upload_id: str, data_id: str) -> Path:
        return self.parts_dir / upload_id / data_id

    def part_file(self, upload_id: str, data_id: str) -> str:
        """``part_path`` as a string (a completion makes 10,000 of them)."""
        return f"{self._parts}/{upload_id}/{data_id}"

    def _ensure_dir(self, d: str | Path) -> None:
        key = os.fspath(d)
        if key not in self._made_dirs:
            make_private_dir(Path(key))
            self._made_dirs.add(key)

    # -- writing -------------------------------------------------------------------------

    async def receive(
        self,
        body: PayloadStream,
        dest: str | Path,
        *,
        content_md5: bytes | None = None,
        defer_sync: bool = False,
        sealer: Sealer | None = None,
        inline_max: int = 0,
    ) -> Received:
        """Stream ``body`` to a temp file, check the digest, then rename it to ``dest``.

        Small bodies cost at most one thread hop (none without fsync). On any failure
        the temp file is removed and the exception propagates. ``defer_sync=True`` leaves
        the fsync of the file and of ``dest``'s directory to the caller (the group commit
        does both before committing the row), so a small body costs no thread hop. With a
        ``sealer`` the file holds the encrypted stream (the MD5 is the plaintext's).
        A body of at most ``inline_max`` bytes is returned in ``Received.inline`` as it
        would be stored (sealed with a ``sealer``; digest checked) and no file is
        written (``inline.py``).
        """
        md5 = hashlib.md5(usedforsecurity=False)
        tmp = f"{self._tmp}/{new_id()}"
        buf = bytearray()
        writer: _Writer | None = None
        # One batch at a time is hashed and written on a pool thread while the loop reads
        # (and checks the signature of) the next: MD5 and the write overlap the body's
        # arrival instead of following it. At most two batches in memory per body.
        pending: asyncio.Future[None] | None = None
        size = 0
        try:
            async for chunk in body:
                buf += chunk
                if len(buf) >= BATCH:
                    # handed over, not copied, but for the bytes past a multiple of BATCH,
                    # so that every batch starts at a multiple of BATCH in the file
                    # (aligned for O_DIRECT)
                    whole = len(buf) - len(buf) % BATCH
                    data, buf = buf, buf[whole:]
                    del data[whole:]
                    size += whole
                    if writer is None:
                        writer = _Writer.create(tmp, md5, sealer)
                    if pending is not None:
                        # shielded: a cancelled receive must not forget a running write
                        await asyncio.shield(pending)
                    pending = self.io.submit(self._write_batch, writer, data)
            if pending is not None:
                await asyncio.shield(pending)
                pending = None
            tail = bytes(buf)
            size += len(tail)
            if writer is None and 0 < inline_max >= size:
                md5.update(tail)
                if content_md5 is not None and md5.digest() != content_md5:
                    raise _bad_digest()
                stored = tail if sealer is None else _sealed(sealer, tail)
                return Received(size, md5.digest(), dict(body.checksums), stored)
            if writer is None:
                writer = _Writer.create(tmp, md5, sealer)
            sync = self.fsync and not defer_sync
            finish = self._finisher(writer, tail, content_md5, tmp, dest, sync)
            writer = None  # the finisher closes it
            if sync or len(tail) >= SYNC_READ_MAX:
                await self.io.run(finish)
            else:
                finish()
            return Received(size=size, md5=md5.digest(), checksums=dict(body.checksums))
        except BaseException:
            # A write in flight still uses the file: its descriptor must not be closed
            # (and perhaps reused) under the thread. Wait for it, so that nothing is left
            # when the failure is answered; if this wait is cancelled too, discard the
            # file once the write ends.
            if pending is not None and not pending.done():
                with contextlib.suppress(BaseException):
                    await asyncio.shield(pending)
            if pending is not None and not pending.done():
                pending.add_done_callback(lambda done: _discard(done, writer, tmp))
            else:
                _discard(pending, writer, tmp)
            raise

    def _write_batch(self, writer: _Writer, data: bytearray) -> None:
        if self.direct and not writer.direct and writer.written >= DIRECT_FROM:
            self.direct = writer.bypass_cache()
        writer.write(data)
        if self.fsync and _sync_file_range is not None and not writer.direct:
            # Start writing the file's dirty pages to disk now, without waiting, so the
            # fsync at the end finds little left to flush.
            _sync_file_range(writer.fd, 0, 0, _START_WRITEBACK)

    def _finisher(
        self,
        writer: _Writer,
        tail: bytes,
        content_md5: bytes | None,
        tmp: str,
        dest: str | Path,
        sync: bool,
    ) -> Callable[[], None]:
        def finish() -> None:
            try:
                writer.write(tail)
                writer.finish()
                if content_md5 is not None and writer.md5.digest() != content_md5:
                    raise _bad_digest()
                if sync:
                    os.fsync(writer.fd)
            finally:
                writer.close()
            self.place(tmp, dest, sync_dir=sync)

        return finish

    def place(self, src: str | Path, dest: str | Path, *, sync_dir: bool = True) -> None:
        """Rename a finished temp file into place (and make the rename durable).

        Object directories are created on demand; an upload's part directory is not (it
        exists from CreateMultipartUpload until abort/complete, and its absence means the
        upload is gone: ``FileNotFoundError``).
        """
        parent = os.path.dirname(dest)
        in_upload = os.path.dirname(parent) == self._parts
        if not in_upload:
            self._ensure_dir(parent)
        try:
            os.rename(src, dest)
        except FileNotFoundError:
            if not os.path.exists(src) or in_upload:
                raise
            self._made_dirs.discard(parent)
            self._ensure_dir(parent)
            os.rename(src, dest)
        if self.fsync and sync_dir:
            _fsync_dir(parent)

    def link_or_copy(self, src: Path, dest: Path) -> None:
        """Make ``dest`` hold the bytes of immutable ``src`` (hard link, else a copy)."""
        self._ensure_dir(dest.parent)
        try:
            os.link(src, dest)
        except FileNotFoundError:
            raise
        except OSError:
            tmp = self.tmp_dir / new_id()
            try:
                _copy_file(src, tmp)
                if self.fsync:
                    _fsync_path(tmp)
                os.rename(tmp, dest)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
        if self.fsync:
            _fsync_dir(dest.parent)

    def copy_range(
        self,
        source: ReadAt | int,
        first: int,
        length: int,
        dest: Path,
        *,
        sealer: Sealer | None = None,
        checksum: Checksum | None = None,
    ) -> bytes:
        """Copy ``length`` plaintext bytes at ``first`` of ``source`` (a reader, or an open
        unencrypted file) to ``dest``, sealed when ``sealer`` is given; return the MD5 of
        the plaintext (``checksum``, if given, is fed the plaintext too). Blocking."""
        return self.transcode(source, [(first, length)], dest, lambda: sealer, checksum)[0]

    def transcode(
        self,
        source: ReadAt | int,
        spans: list[tuple[int, int]],
        dest: Path,
        sealer_for: Callable[[], Sealer | None],
        checksum: Checksum | None = None,
    ) -> list[bytes]:
        """Write the plaintext ``spans`` (first, length) of ``source`` one after another
        into ``dest``, each span its own encrypted stream when ``sealer_for`` gives a
        sealer (a part of a multipart object stays a stream of its own); return the MD5
        of each span's plaintext. Blocking; nothing is left behind on failure."""
        reader = RawReader(source) if isinstance(source, int) else source
        digests: list[bytes] = []
        tmp = self.tmp_dir / new_id()
        fd = _open_new(tmp)
        try:
            try:
                for first, length in spans:
                    writer = _Writer(fd, hashlib.md5(usedforsecurity=False), sealer_for())
                    pos, end = first, first + length
                    while pos < end:
                        data = reader.read(pos, min(COPY_CHUNK, end - pos))
                        if not data:
                            raise BackendError("InternalError", "data file shorter than recorded")
                        writer.write(data)
                        if checksum is not None:
                            checksum.update(data)
                        pos += len(data)
                    writer.finish()
                    digests.append(writer.md5.digest())
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            self.place(tmp, dest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return digests

    def concatenate(self, sources: Sequence[str], dest: Path) -> None:
        """Write the files ``sources`` one after another into ``dest`` (blocking). The
        bytes are copied in the kernel (``copy_file_range``: not through this process's
        memory; blocks shared where the file system can), else through a buffer."""
        tmp = f"{self._tmp}/{new_id()}"
        out = _open_new(tmp)
        try:
            try:
                in_kernel = _copy_file_range is not None
                for src in sources:
                    fd = os.open(src, os.O_RDONLY | os.O_CLOEXEC)
                    try:
                        in_kernel = in_kernel and _append_in_kernel(fd, out)
                        if not in_kernel:
                            while data := os.read(fd, COPY_CHUNK):
                                _write_all(out, data)
                    finally:
                        os.close(fd)
                if self.fsync:
                    os.fsync(out)
            finally:
                os.close(out)
            self.place(tmp, dest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    # -- removal -------------------------------------------------------------------------

    def unlink_object(self, data_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.object_path(data_id))

    async def drop_files(self, paths: Sequence[str], *, refill: bool = False) -> None:
        """Unlink ``paths`` (data or part files no committed row references any more: the
        transaction that dropped or replaced their rows decided) on a pool thread, then
        with ``refill`` make the reserve again (``keep_reserve``); return once they are
        gone, so that a delete is answered after the room it frees is free. Off the loop:
        an unlink costs ~3 ms where it discards the file's blocks (mount option
        ``discard``), and a DeleteObjects has 1,000. A file a failed unlink (or a crash
        before it) leaves has no row: start-up recovery removes it. Shielded: a request
        cancelled meanwhile still has its files removed. Nothing to unlink: no thread hop."""
        if paths:
            await asyncio.shield(self.io.submit(self._unlink_all, paths, refill))

    def object_files(self, data_ids: Sequence[str]) -> list[str]:
        """``object_file`` of each id."""
        return [self.object_file(data_id) for data_id in data_ids]

    def _unlink_all(self, paths: Sequence[str], refill: bool) -> None:
        for path in paths:
            try:
                os.unlink(path)
            except FileNotFoundError:
                continue
            except OSError as exc:  # the rows are gone already: the request succeeded
                log.warning("could not remove %s (removed at the next start): %s", path, exc)
        if refill:
            self.keep_reserve()

    def remove_upload_dir(self, upload_id: str) -> None:
        shutil.rmtree(self.upload_dir(upload_id), ignore_errors=True)

    async def drop_upload_dir(self, upload_id: str, *, refill: bool = False) -> None:
        """Remove the part files of an upload that was completed or aborted (its rows are
        gone), off the loop; ``refill``: then make the reserve again (``keep_reserve``).
        Up to ``TRASH_FROM`` files go before this returns; a larger directory is renamed
        into this process's temp directory and unlinked in the background (``Trash``), so
        a completion of 10,000 parts is not answered after 10,000 unlinks."""
        await self.io.run(self._drop_dir, os.fspath(self.upload_dir(upload_id)), refill)

    def _drop_dir(self, path: str, refill: bool) -> None:
        then = self.keep_reserve if refill else None
        try:
            with os.scandir(path) as entries:
                many = len(list(itertools.islice(entries, TRASH_FROM + 1)))
        except FileNotFoundError:
            many = 0
        if many > TRASH_FROM:
            trash = f"{self._tmp}/{new_id()}"
            try:
                os.rename(path, trash)
            except OSError:
                trash = path  # not renamed: removed where it is (in the background too)
            self.trash.remove(trash, then)
            return
        shutil.rmtree(path, ignore_errors=True)
        if then is not None:
            then()

    def recover(self, referenced: set[str], uploads: set[str]) -> int:
        """Remove temp files and every data/part file no row references. Blocking."""
        removed = 0
        for d in (self.tmp_root, self.objects_dir, self.parts_dir):
            make_private_dir(d)
        for entry in os.scandir(self.tmp_root):
            if entry.path == self._tmp:  # this process's own (receiving nothing yet)
                continue
            if not entry.is_dir(follow_symlinks=False):
                _remove(entry.path)
                removed += 1
            elif remove_if_ended(entry.path):  # not a sibling's that is starting
                removed += 1
        for dirpath, _dirs, files in os.walk(self.objects_dir):
            for name in files:
                if name not in referenced:
                    _remove(os.path.join(dirpath, name))
                    removed += 1
        for entry in os.scandir(self.parts_dir):
            if entry.name not in uploads or not entry.is_dir(follow_symlinks=False):
                _remove(entry.path)
                removed += 1
                continue
            for part in os.scandir(entry.path):
                if part.name not in referenced:
                    _remove(part.path)
                    removed += 1
        return removed


# -- reading ---------------------------------------------------------------------------------


# -- helpers ---------------------------------------------------------------------------------


# Linux' sync_file_range (not in typeshed): start writeback of a range, without waiting.
_sync_file_range: Callable[[int, int, int, int], None] | None = getattr(os, "sync_file_range", None)
_START_WRITEBACK: int = getattr(os, "SYNC_FILE_RANGE_WRITE", 0)


def _discard(write: asyncio.Future[None] | None, writer: _Writer | None, tmp: str) -> None:
    """Close and remove the temp file of a failed receive (after its last write ended)."""
    if write is not None and not write.cancelled():
        write.exception()  # retrieved: the receive already failed for its own reason
    if writer is not None:
        writer.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)


class _Writer:
    """Plaintext in, file bytes out: hashes the plaintext (MD5) and writes it, or its
    encrypted stream when there is a ``sealer`` (header first; a partial segment is held
    back until more data or ``finish`` says whether it is the last). After
    ``bypass_cache`` (plaintext only, at a multiple of ``DIRECT_ALIGN``) the file is
    written with O_DIRECT through a page-aligned block of ``BATCH`` bytes, whole blocks
    as they fill; ``finish`` writes the aligned part of the last block directly and the
    rest (under ``DIRECT_ALIGN`` bytes) through the page cache. Blocking."""

    __slots__ = ("_block", "_fill", "_held", "_sealer", "direct", "fd", "md5", "written")

    def __init__(self, fd: int, md5: Any, sealer: Sealer | None) -> None:
        self.fd = fd
        self.md5 = md5
        self._sealer = sealer
        self._held = bytearray()
        self.written = 0
        """Plaintext bytes taken so far."""
        self.direct = False
        self._block: mmap.mmap | None = None
        self._fill = 0
        if sealer is not None:
            _write_all(fd, sealer.header)

    @classmethod
    def create(cls, path: str | Path, md5: Any, sealer: Sealer | None) -> _Writer:
        """A writer owning a new file at ``path`` (closed again if the header fails)."""
        fd = _open_new(path)
        try:
            return cls(fd, md5, sealer)
        except BaseException:
            os.close(fd)
            raise

    def bypass_cache(self) -> bool:
        """Write on with O_DIRECT; False where the file system refuses it. Once per
        file: a file that took the flag and then fell back stays in the page cache."""
        if self._block is not None or self._sealer is not None or self.written % DIRECT_ALIGN:
            return True  # not (again) this file, but the store may still use it
        try:
            self._set_direct(True)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            return False
        self._block = mmap.mmap(-1, BATCH)
        return True

    def _set_direct(self, on: bool) -> None:
        flags = fcntl.fcntl(self.fd, fcntl.F_GETFL)
        fcntl.fcntl(self.fd, fcntl.F_SETFL, flags | os.O_DIRECT if on else flags & ~os.O_DIRECT)
        self.direct = on

    def write(self, data: bytes | bytearray) -> None:
        self.md5.update(data)
        self.written += len(data)
        if self._block is not None:
            self._write_direct(data)
            return
        sealer = self._sealer
        if sealer is None:
            _write_all(self.fd, data)
            return
        held = self._held
        held += data
        whole = (len(held) - 1) // SEGMENT * SEGMENT  # keep >= 1 byte for the final segment
        if whole > 0:
            view = memoryview(held)
            try:
                sealed = sealer.seal(view[:whole], final=False)
            finally:
                view.release()
            del held[:whole]
            _write_all(self.fd, sealed)

    def _write_direct(self, data: bytes | bytearray) -> None:
        block = self._block
        assert block is not None
        with memoryview(data) as view:
            taken = 0
            while taken < len(view):
                n = min(len(view) - taken, BATCH - self._fill)
                block[self._fill : self._fill + n] = view[taken : taken + n]
                self._fill += n
                taken += n
                if self._fill == BATCH:
                    self._flush_block(BATCH)

    def _flush_block(self, length: int) -> None:
        """Write the block's first ``length`` bytes (a multiple of ``DIRECT_ALIGN``)."""
        block = self._block
        assert block is not None
        with memoryview(block) as view:
            done = 0
            while done < length:
                try:
                    done += os.write(self.fd, view[done:length])
                except OSError as exc:
                    # A file system may take the flag and refuse the write (or the rest
                    # of a short one): go on through the page cache from where it stopped
                    # (a refused write wrote nothing).
                    if exc.errno != errno.EINVAL or not self.direct:
                        raise
                    self._set_direct(False)
        self._fill = 0

    def finish(self) -> None:
        block = self._block
        if block is not None:
            fill = self._fill
            aligned = fill // DIRECT_ALIGN * DIRECT_ALIGN
            if aligned:
                self._flush_block(aligned)
            if fill > aligned:
                if self.direct:
                    self._set_direct(False)
                _write_all(self.fd, block[aligned:fill])
            self._fill = 0
        if self._sealer is not None:
            _write_all(self.fd, self._sealer.seal(bytes(self._held), final=True))
            self._held.clear()

    def close(self) -> None:
        os.close(self.fd)
        if self._block is not None:
            self._block.close()


def make_private_dir(path: Path) -> None:
    """``mkdir -p`` creating each missing directory 0700 (chmod too: mkdir's mode is
    reduced by the umask)."""
    missing: list[Path] = []
    current = path
    while not current.is_dir():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            continue  # a sibling worker (or another request) made it meanwhile
        os.chmod(directory, DIR_MODE)


def _open_new(path: str | Path) -> int:
    """A new file, 0600 whatever the umask (the mode given to open is reduced by it)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _copy_file(src: Path, dest: Path) -> None:
    """A byte copy into a new 0600 file (``shutil.copyfile`` would honour the umask)."""
    out = _open_new(dest)
    try:
        with open(src, "rb") as f:
            while data := f.read(COPY_CHUNK):
                _write_all(out, data)
    finally:
        os.close(out)


def allocate(fd: int, size: int) -> None:
    """Blocks on the disk for the first ``size`` bytes of ``fd``'s file (extending it;
    zeros written where the file system has no ``fallocate``).

    For the full-disk reserve, and for a file then written through a shared memory
    mapping (``gateway.datadir``): a page of the mapping with no block behind it (a file
    grown with ``ftruncate`` is sparse) gets one when first written, and on a full file
    system that write kills the process with SIGBUS, where ``allocate`` raises
    ``OSError`` (ENOSPC) instead."""
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise
        end = os.fstat(fd).st_size
        while end < size:
            end += os.pwrite(fd, bytes(min(COPY_CHUNK, size - end)), end)


_copy_file_range: Callable[[int, int, int], int] | None = getattr(os, "copy_file_range", None)
_NO_COPY_RANGE = frozenset({errno.ENOSYS, errno.EXDEV, errno.EINVAL, errno.EOPNOTSUPP})
COPY_RANGE = 1 << 30
"""Bytes asked of one ``copy_file_range`` call (the kernel copies at most about 2 GiB)."""


def _append_in_kernel(src: int, out: int) -> bool:
    """Append the rest of ``src`` to ``out`` at both files' offsets with
    ``copy_file_range``. False where the kernel or the file system does not offer it, or
    stops short of the end: some file systems answer 0 bytes copied instead of an error
    (Go's and Rust's standard libraries check for it), which read as the end of the file
    would have left the object short. Both offsets stay where the copy stopped, so the
    caller reads and writes the rest from there."""
    assert _copy_file_range is not None
    left = os.fstat(src).st_size - os.lseek(src, 0, os.SEEK_CUR)
    while left > 0:
        try:
            copied = _copy_file_range(src, out, min(left, COPY_RANGE))
        except OSError as exc:
            if exc.errno in _NO_COPY_RANGE:
                return False
            raise
        if copied == 0:
            return False
        left -= copied
    return True


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_path(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: str | Path) -> None:
    with contextlib.suppress(OSError):
        _fsync_path(path)


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
