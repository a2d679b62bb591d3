"""With fsync on, a large body is flushed to stable storage while it arrives (an
``fdatasync`` of its temp file each ``FLUSH_EVERY`` bytes, on a pool thread), so the
final fsync on the PUT's path has little left: the flushes happen before the body ends,
none with fsync off or for a body under ``FLUSH_EVERY``, and a flush that fails fails the
PUT like a failed write: the old object stays, no temp file is left, and the descriptor
is closed only after the flush ended.

``os.fdatasync`` is spied on (called through) or made to fail: the operating system's
call, not the project's code."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import threading
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest

from backends.filesystem import FilesystemBackend
from backends.filesystem.file_writer import BATCH, FLUSH_EVERY
from backends.types import ObjectMeta
from tests.backends.fs_helpers import body, bucket_backend, read_all

MiB = 1024 * 1024


class Flushes:
    """Records ``os.fdatasync`` calls (descriptor and the path it names) and wakes a
    waiting body when one happens."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fail: bool = False) -> None:
        self.loop = loop
        self.fail = fail
        self.calls: list[tuple[int, str]] = []
        self.running: set[int] = set()
        self.happened = asyncio.Event()
        self._real = os.fdatasync
        self._lock = threading.Lock()

    def __call__(self, fd: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        with self._lock:
            self.calls.append((fd, path))
            self.running.add(fd)
        try:
            if self.fail:
                raise OSError(errno.EIO, "flush failed")
            self._real(fd)
        finally:
            with self._lock:
                self.running.discard(fd)
            self.loop.call_soon_threadsafe(self.happened.set)


class WaitingBody:
    """A body of ``size`` bytes in 1 MiB chunks that, once ``hold_at`` bytes are out,
    waits (up to 30 s) for a flush before sending the rest: the flush must come while the
    body is still arriving."""

    def __init__(self, data: bytes, flushes: Flushes, hold_at: int) -> None:
        self.data = data
        self.flushes = flushes
        self.hold_at = hold_at
        self.flushed_while_arriving = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        for at in range(0, len(self.data), MiB):
            if at >= self.hold_at and not self.flushed_while_arriving:
                try:
                    await asyncio.wait_for(self.flushes.happened.wait(), 30)
                except TimeoutError:
                    pytest.fail(f"no flush after {at} of {len(self.data)} bytes arrived")
                self.flushed_while_arriving = True
            yield self.data[at : at + MiB]

    @property
    def checksums(self) -> Mapping[str, str]:
        return {}


def temp_files(b: FilesystemBackend) -> list[Path]:
    return [p for p in b.files.tmp_root.rglob("*") if p.is_file()]


async def test_a_large_body_is_flushed_while_it_arrives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with bucket_backend(tmp_path, fsync=True) as b:
        flushes = Flushes(asyncio.get_running_loop())
        monkeypatch.setattr(os, "fdatasync", flushes)
        data = os.urandom(3 * FLUSH_EVERY + 5 * MiB)
        sent = WaitingBody(data, flushes, hold_at=FLUSH_EVERY + 2 * BATCH + MiB)
        info = await b.put_object("bk", "big", sent, ObjectMeta())
        monkeypatch.undo()
        assert sent.flushed_while_arriving
        assert info.etag == hashlib.md5(data).hexdigest()
        assert await read_all(await b.get_object("bk", "big")) == data
        # every flush was of the body's temp file, and a body of 3 FLUSH_EVERY and more
        # gets one per FLUSH_EVERY (none twice at once: the next waits for the last)
        assert {path.split("/")[-3] for _, path in flushes.calls} == {"tmp"}
        assert 2 <= len(flushes.calls) <= 3


@pytest.mark.parametrize(
    ("fsync", "size"),
    [(False, 3 * FLUSH_EVERY), (True, FLUSH_EVERY - BATCH), (True, FLUSH_EVERY)],
)
async def test_no_flush_without_fsync_or_for_a_body_of_one_stretch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fsync: bool, size: int
) -> None:
    async with bucket_backend(tmp_path, fsync=fsync) as b:
        flushes = Flushes(asyncio.get_running_loop())
        monkeypatch.setattr(os, "fdatasync", flushes)
        data = os.urandom(size)
        info = await b.put_object("bk", "k", body(data, MiB), ObjectMeta())
        monkeypatch.undo()
        assert info.etag == hashlib.md5(data).hexdigest()
        assert flushes.calls == []


async def test_a_failed_flush_fails_the_put_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with bucket_backend(tmp_path, fsync=True) as b:
        old = os.urandom(1000)
        await b.put_object("bk", "k", body(old), ObjectMeta())
        flushes = Flushes(asyncio.get_running_loop(), fail=True)
        monkeypatch.setattr(os, "fdatasync", flushes)
        closed_early: list[int] = []
        real_close = os.close

        def close(fd: int) -> None:
            if fd in flushes.running:  # closed under a flush that still runs
                closed_early.append(fd)
            real_close(fd)

        monkeypatch.setattr(os, "close", close)
        data = os.urandom(4 * FLUSH_EVERY)
        with pytest.raises(OSError) as failed:
            await b.put_object("bk", "k", body(data, MiB), ObjectMeta())
        monkeypatch.undo()
        assert failed.value.errno == errno.EIO
        assert flushes.calls  # it was the flush that failed
        assert closed_early == []
        assert await read_all(await b.get_object("bk", "k")) == old
        assert temp_files(b) == []
