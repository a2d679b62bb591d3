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
import fcntl
import hashlib
import itertools
import logging
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, TypeVarTuple

from backends.errors import BackendError
from backends.filesystem.bodies import SYNC_READ_MAX
from backends.filesystem.encryption import SEGMENT, RawReader, ReadAt, Sealer
from backends.filesystem.file_ops import (
    COPY_CHUNK,
    FILE_MODE,
    allocate,
    append_in_kernel,
    copy_file,
    fsync_dir,
    fsync_path,
    make_private_dir,
    open_new,
    remove_path,
    write_all,
)
from backends.filesystem.file_writer import (
    BATCH,
    DIRECT_FROM,
    FLUSH_EVERY,
    Writer,
    discard,
)
from backends.filesystem.io_pool import DEFAULT_IO_THREADS, FLUSH_THREADS, IOPool
from backends.filesystem.temp_dirs import OwnTemp, Trash, claim, remove_if_ended, sweep
from backends.types import PayloadStream
from sigv4 import Checksum

PREFIX_RUN = 256
"""Consecutive object ids placed in the same directory (see ``DataStore.new_object_id``)."""
TAG = 8
"""Hex digits of a data id, after its first four, that name the process that made it: the
first ones of its temp directory's owner (``DataStore.new_data_id``)."""
_TAG_START = 4
"""Where an id's tag starts: after the random hex digits that name its directory
(``objects/ab/cd``). The layout of every id of ``new_object_id`` and ``new_data_id``,
and what :func:`id_tag` reads."""
_TAG_END = _TAG_START + TAG


def id_tag(data_id: str) -> str:
    """The tag of an id of ``new_object_id`` or ``new_data_id``: which process made it."""
    return data_id[_TAG_START:_TAG_END]


_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

log = logging.getLogger("nfyio.filesystem")


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
    """``data``'s encrypted stream, as ``Writer`` writes it to a file: the header, whole
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
        self.flushes = IOPool(FLUSH_THREADS, "fs-flush")
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
                os.close(open_new(db))
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
                    if id_tag(name) in tags:
                        found[name] = os.path.join(dirpath, name)
        live = self._live_tags()  # again: a process started meanwhile under such a tag
        return {i: path for i, path in found.items() if id_tag(i) not in live}

    def _live_tags(self) -> set[str]:
        with os.scandir(self.tmp_root) as entries:
            return {entry.name[:TAG] for entry in entries}

    def close(self) -> None:
        """Stop the pools and give up this process's temp directory (removed if empty)."""
        self.trash.close()
        self.io.close()
        self.flushes.close()
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

    def reserve_kept(self) -> bool:
        """Whether ``meta/reserve`` is there (one ``stat``)."""
        return os.path.exists(self.meta_dir / RESERVE)

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
            fd = open_new(tmp)
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
            self._prefix = new_id()[:_TAG_START] + self.tag
            self._prefix_left = PREFIX_RUN
        self._prefix_left -= 1
        return self._prefix + new_id()[_TAG_END:]

    def new_data_id(self) -> str:
        """A fresh id for a data or part file: 32 hex digits, the 5th to 12th this
        process's ``tag``, the rest random (96 bits), as ``new_object_id``'s. The tag
        tells which process placed a file: only that process commits a row naming it, so
        once it ended a file of its tag that no row names never will be
        (``FilesystemBackend.sweep_temp``)."""
        fresh = new_id()
        return f"{fresh[:_TAG_START]}{self.tag}{fresh[_TAG_END:]}"

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
        writer: Writer | None = None
        # One batch at a time is hashed and written on a pool thread while the loop reads
        # (and checks the signature of) the next: MD5 and the write overlap the body's
        # arrival instead of following it. At most two batches in memory per body.
        pending: asyncio.Future[None] | None = None
        # With fsync on, a large body's bytes are flushed to stable storage while it is
        # still arriving (an fdatasync every FLUSH_EVERY bytes on the flush threads, at
        # most one in flight per body, not waited for by the batches), so its final
        # fsync, on the PUT's path, has at most the last stretch left: 64 MiB took
        # 60-85 ms there otherwise.
        flushing: asyncio.Future[None] | None = None
        flushed = 0
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
                        writer = Writer.create(tmp, md5, sealer)
                    if pending is not None:
                        # shielded: a cancelled receive must not forget a running write
                        await asyncio.shield(pending)
                    pending = self.io.submit(self._write_batch, writer, data)
                    # the bytes written before this batch (the last one ended above):
                    # a body of exactly FLUSH_EVERY bytes (an 8 MiB part, the SDKs'
                    # default size) has no flush right before its final fsync
                    written = size - whole
                    if (
                        self.fsync
                        and written - flushed >= FLUSH_EVERY
                        and (flushing is None or flushing.done())
                    ):
                        if flushing is not None:
                            flushing.result()  # a failed flush fails the body
                        flushing = self.flushes.submit(os.fdatasync, writer.fd)
                        flushed = written
            if pending is not None:
                await asyncio.shield(pending)
                pending = None
            if flushing is not None:
                await asyncio.shield(flushing)
                flushing = None
            tail = bytes(buf)
            size += len(tail)
            if writer is None and 0 < inline_max >= size:
                md5.update(tail)
                if content_md5 is not None and md5.digest() != content_md5:
                    raise _bad_digest()
                stored = tail if sealer is None else _sealed(sealer, tail)
                return Received(size, md5.digest(), dict(body.checksums), stored)
            if writer is None:
                writer = Writer.create(tmp, md5, sealer)
            sync = self.fsync and not defer_sync
            finish = self._finisher(writer, tail, content_md5, tmp, dest, sync)
            writer = None  # the finisher closes it
            if sync or len(tail) >= SYNC_READ_MAX:
                await self.io.run(finish)
            else:
                finish()
            return Received(size=size, md5=md5.digest(), checksums=dict(body.checksums))
        except BaseException:
            # A write or flush in flight still uses the file: its descriptor must not be
            # closed (and perhaps reused) under the thread. Wait for them, so that nothing
            # is left when the failure is answered; if this wait is cancelled too, discard
            # the file once they end.
            inflight = [f for f in (pending, flushing) if f is not None]
            for future in inflight:
                if not future.done():
                    with contextlib.suppress(BaseException):
                        await asyncio.shield(future)
            running = [f for f in inflight if not f.done()]
            if running:
                gathered = asyncio.gather(*running, return_exceptions=True)
                gathered.add_done_callback(lambda _: discard(inflight, writer, tmp))
            else:
                discard(inflight, writer, tmp)
            raise

    def _write_batch(self, writer: Writer, data: bytearray) -> None:
        if self.direct and not writer.direct and writer.written >= DIRECT_FROM:
            self.direct = writer.bypass_cache()
        writer.write(data)

    def _finisher(
        self,
        writer: Writer,
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
            fsync_dir(parent)

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
                copy_file(src, tmp)
                if self.fsync:
                    fsync_path(tmp)
                os.rename(tmp, dest)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
        if self.fsync:
            fsync_dir(dest.parent)

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
        fd = open_new(tmp)
        try:
            try:
                for first, length in spans:
                    writer = Writer(fd, hashlib.md5(usedforsecurity=False), sealer_for())
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
        out = open_new(tmp)
        try:
            try:
                in_kernel = True
                for src in sources:
                    fd = os.open(src, os.O_RDONLY | os.O_CLOEXEC)
                    try:
                        in_kernel = in_kernel and append_in_kernel(fd, out)
                        if not in_kernel:
                            while data := os.read(fd, COPY_CHUNK):
                                write_all(out, data)
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

    def discard(self, paths: Sequence[str]) -> None:
        """Remove the data files ``paths`` (no committed row names them: a PutObject's
        group commit replaced them) without waiting for their unlinks: each is renamed
        into a directory of this process's temp directory (made 0700, then a rename per
        file, tens of microseconds) and unlinked there on the trash thread. An unlink
        frees the file's blocks first: ~13 ms per 64 MiB, ~200 ms per GiB on ext4, on
        the one writer thread every PUT's commit waits for. A crash before the unlink
        leaves them in a temp directory whose owner ended, which a sibling's sweep or
        the next start removes. Blocking (the committer's writer thread)."""
        if not paths:
            return
        made = f"{self._tmp}/{new_id()}"
        bin_dir: str | None = made
        try:
            make_private_dir(Path(made))
        except OSError:
            bin_dir = None
        for path in paths:
            if bin_dir is not None:
                try:
                    os.rename(path, f"{bin_dir}/{os.path.basename(path)}")
                    continue
                except FileNotFoundError:
                    continue
                except OSError:
                    pass  # not moved: unlinked where it is
            try:
                os.unlink(path)
            except FileNotFoundError:
                continue
            except OSError as exc:  # no row names it: the next start's recovery removes it
                log.warning("could not remove %s (removed at the next start): %s", path, exc)
        if bin_dir is not None:
            self.trash.remove(bin_dir)

    def object_files(self, data_ids: Sequence[str]) -> list[str]:
        """``object_file`` of each id."""
        return [self.object_file(data_id) for data_id in data_ids]

    def sync_commits(self) -> None:
        """With fsync on: make every metadata transaction committed so far durable, by an
        fsync of the database's WAL (blocking; for a pool thread). Deletes, aborts,
        completions and part replacements commit on the loop's connection with
        ``synchronous=NORMAL`` (no WAL sync: docs/filesystem-backend.md, "Other metadata
        writes"), and then unlink files their rows no longer name. Unlinked first and the
        commit lost to a power loss, the rows would come back naming files that are gone:
        a deleted object back as one whose every GET fails, a completed upload's parts
        missing. So these unlinks wait for this (one fsync per request that frees files).
        A WAL already checkpointed is durable in the database file (SQLite syncs the WAL
        before a checkpoint and the database after it), and a missing WAL holds nothing."""
        if not self.fsync:
            return
        try:
            fd = os.open(self.meta_dir / f"{META_DB}-wal", os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _unlink_all(self, paths: Sequence[str], refill: bool) -> None:
        self.sync_commits()
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
        if many:
            self.sync_commits()
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
                remove_path(entry.path)
                removed += 1
            elif remove_if_ended(entry.path):  # not a sibling's that is starting
                removed += 1
        for dirpath, _dirs, files in os.walk(self.objects_dir):
            for name in files:
                if name not in referenced:
                    remove_path(os.path.join(dirpath, name))
                    removed += 1
        for entry in os.scandir(self.parts_dir):
            if entry.name not in uploads or not entry.is_dir(follow_symlinks=False):
                remove_path(entry.path)
                removed += 1
                continue
            for part in os.scandir(entry.path):
                if part.name not in referenced:
                    remove_path(part.path)
                    removed += 1
        return removed
