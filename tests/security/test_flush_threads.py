"""Flushes of bodies still arriving run on their own threads (``FLUSH_THREADS``), not on
the filesystem backend's I/O pool: many large uploads to a slow disk, each with a flush
in flight, must not hold the threads that GETs' reads and every body's writes need.

The class of bug: work that can block for as long as the disk likes (an ``fdatasync``),
started once per client request, sharing a bounded pool with the requests' own work; a
client with enough parallel uploads would stall every other request of the worker.
``os.fdatasync`` is held on an event (the operating system's call, not the project's
code), standing for a disk that takes its time."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backends.filesystem import FilesystemBackend
from backends.filesystem.file_writer import FLUSH_EVERY
from backends.filesystem.io_pool import DEFAULT_IO_THREADS, FLUSH_THREADS
from backends.types import ObjectMeta
from tests.backends.fs_helpers import body, bucket_backend

MiB = 1024 * 1024


def _past_a_stretch(b: FilesystemBackend) -> list[Path]:
    """Temp files of bodies that have more than a flush stretch (and a batch) written."""
    return [
        p
        for p in b.files.tmp_root.rglob("*")
        if p.is_file() and p.stat().st_size > FLUSH_EVERY + MiB
    ]


@pytest.fixture
async def synced(tmp_path: Path) -> AsyncIterator[FilesystemBackend]:
    async with bucket_backend(tmp_path, fsync=True) as b:
        yield b


async def test_held_flushes_leave_the_io_pool_free(
    synced: FilesystemBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    started: list[int] = []
    real = os.fdatasync

    def slow_disk(fd: int) -> None:
        started.append(fd)
        release.wait(60)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", slow_disk)
    uploads = DEFAULT_IO_THREADS + 4
    data = os.urandom(2 * FLUSH_EVERY + 3 * MiB)
    puts = [
        asyncio.create_task(synced.put_object("bk", f"k{n}", body(data, MiB), ObjectMeta()))
        for n in range(uploads)
    ]
    try:
        # every upload gets past its first flush stretch (its writes are not stuck behind
        # held flushes) while the flush threads are held
        deadline = time.monotonic() + 30
        while len(started) < FLUSH_THREADS or len(_past_a_stretch(synced)) < uploads:
            assert time.monotonic() < deadline, (
                f"{len(started)} flushes started, {len(_past_a_stretch(synced))} of "
                f"{uploads} uploads past a stretch: writes stuck behind held flushes"
            )
            await asyncio.sleep(0.01)
        # the I/O pool still answers at once; the other uploads' flushes wait their turn
        assert await asyncio.wait_for(synced.files.io.run(lambda: 42), 10) == 42
        assert len(started) == FLUSH_THREADS
    finally:
        release.set()
    done = await asyncio.wait_for(asyncio.gather(*puts), 60)
    monkeypatch.undo()
    assert len({info.etag for info in done}) == 1 and len(done) == uploads
