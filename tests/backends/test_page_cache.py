"""Bringing a data file's bytes into the page cache before ``sendfile`` sends them: the
probe tells cached from evicted pages, and ``FileBody.cache`` reads only what is not
there, on the backend's pool."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TypeVar, TypeVarTuple

import pytest

from backends.filesystem import FilesystemBackend
from backends.filesystem.bodies import FileBody, open_for_read
from backends.filesystem.io_pool import IOPool
from backends.filesystem.page_cache import in_page_cache
from backends.types import Encryption, ObjectMeta
from tests.backends.fs_helpers import body
from tests.page_cache import MISS_ATTEMPTS, evict_again, resident_pages

MiB = 1024 * 1024
_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.write_bytes(os.urandom(8 * MiB + 5))
    return path


@pytest.fixture
async def io() -> AsyncIterator[IOPool]:
    pool = IOPool(2)
    yield pool
    pool.close()


def test_the_probe_tells_cached_from_evicted_pages(data_file: Path) -> None:
    fd = os.open(data_file, os.O_RDWR)
    try:
        assert in_page_cache(fd, 0, 8 * MiB + 5)
        # no readahead on this descriptor: a probe that misses starts reading the page
        # it asked for, and readahead would bring pages after it along
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        for _ in range(MISS_ATTEMPTS):
            evict_again(data_file)
            if not in_page_cache(fd, 3 * MiB, MiB):
                break
        else:
            pytest.fail("the probe never found the evicted pages missing")
        os.pread(fd, MiB, 0)  # the first MiB read back in: its two ends are cached
        assert in_page_cache(fd, 0, MiB)
        # (the cache holds pages in folios of up to a few MiB: look further on)
        assert resident_pages(data_file, 6 * MiB, 7 * MiB) == 0
    finally:
        os.close(fd)


async def test_cache_reads_only_what_is_not_there(data_file: Path, io: IOPool) -> None:
    fd = open_for_read(data_file)
    file_body = FileBody(fd, 0, 8 * MiB + 5, io)
    try:
        assert file_body.cache(0, MiB) is None  # just written: cached, nothing to do
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)  # no readahead past the read
        for _ in range(MISS_ATTEMPTS):
            evict_again(data_file)
            pending = file_body.cache(6 * MiB, 2 * MiB + 5)
            if pending is not None:
                break
        else:
            pytest.fail("the evicted range was never read on the pool")
        await pending
        assert in_page_cache(fd, 6 * MiB, 2 * MiB + 5)
        assert file_body.cache(6 * MiB, 2 * MiB + 5) is None
        assert resident_pages(data_file, 0, MiB) == 0  # only the range asked for was read
        assert file_body.cache(0, 0) is None
    finally:
        await file_body.aclose()


async def test_an_evicted_object_reads_back_whole_and_ranged(tmp_path: Path) -> None:
    backend = FilesystemBackend(tmp_path, fsync=True)
    await backend.start()
    try:
        await backend.create_bucket("bk")
        data = os.urandom(3 * MiB + 5)
        await backend.put_object("bk", "k", body(data), ObjectMeta())
        (path,) = [p for p in backend.files.objects_dir.rglob("*") if p.is_file()]
        for _ in range(MISS_ATTEMPTS):
            evict_again(path)
            read = await backend.get_object("bk", "k")
            try:
                pending = read.cache(read.first, MiB)
                if pending is None:
                    continue  # the probe's own read was quicker (see MISS_ATTEMPTS)
                await asyncio.wait_for(pending, 30)
                assert read.cache(read.first, MiB) is None
                break
            finally:
                await read.aclose()
        else:
            pytest.fail("the evicted object was never read on the pool")
    finally:
        await backend.close()


class _CountingPool(IOPool):
    """The backend's pool, counting the work handed to it."""

    def __init__(self) -> None:
        super().__init__(2)
        self.submitted = 0

    def submit(self, fn: Callable[[*_Ts], _T], *args: *_Ts) -> asyncio.Future[_T]:
        self.submitted += 1
        return super().submit(fn, *args)


async def test_a_small_read_goes_to_the_pool_only_when_it_is_not_cached(tmp_path: Path) -> None:
    """A read of up to 64 KiB runs on the event loop when its pages are cached
    (microseconds), and on a pool thread when they are not (a disk read would stall
    the process)."""
    path = tmp_path / "small"
    data = os.urandom(5000)
    path.write_bytes(data)
    pool = _CountingPool()
    try:
        file_body = FileBody(open_for_read(path), 0, len(data), pool)
        assert b"".join([chunk async for chunk in file_body]) == data
        assert pool.submitted == 0  # cached: read on the loop
        for _ in range(MISS_ATTEMPTS):
            evict_again(path)
            before = pool.submitted
            file_body = FileBody(open_for_read(path), 0, len(data), pool)
            assert b"".join([chunk async for chunk in file_body]) == data
            assert pool.submitted - before <= 1
            if pool.submitted - before == 1:
                break  # evicted: read on the pool
        else:
            pytest.fail("the evicted file was never read on the pool")
    finally:
        pool.close()


async def test_an_encrypted_object_is_read_on_the_pool_only_when_it_is_not_cached(
    tmp_path: Path,
) -> None:
    """The same for an encrypted object (SSE-S3): its stream header (read when the GET
    opens the object) and its segments. (A data file: bodies this small are otherwise
    kept in the metadata database.)"""
    backend = FilesystemBackend(tmp_path, fsync=True, sse_key=os.urandom(32), inline_max=0)
    pool = _CountingPool()
    backend.files.io = pool
    await backend.start()
    try:
        await backend.create_bucket("bk")
        data = os.urandom(5000)
        await backend.put_object(
            "bk", "k", body(data), ObjectMeta(), encryption=Encryption(algorithm="AES256")
        )
        (path,) = [p for p in backend.files.objects_dir.rglob("*") if p.is_file()]
        # when evicted: none, after the GET opened the object (its segment is read on
        # the pool), before (its header is read on the pool, and readahead brings the
        # few segments of so small an object along)
        for evicted, on_pool in (("none", 0), ("after open", 1), ("before open", 1)):
            # an eviction can be undone by the probe's own read (see MISS_ATTEMPTS): a
            # try whose read stayed on the loop is made again
            for _ in range(MISS_ATTEMPTS if on_pool else 1):
                if evicted == "before open":
                    evict_again(path)
                before = pool.submitted
                read = await backend.get_object("bk", "k")
                if evicted == "after open":
                    evict_again(path)
                assert read.fileno() is None  # decrypted in Python, never with sendfile
                assert b"".join([chunk async for chunk in read.body]) == data
                assert pool.submitted - before <= on_pool, evicted
                if pool.submitted - before == on_pool:
                    break
            else:
                pytest.fail(f"{evicted}: the evicted object was never read on the pool")
    finally:
        await backend.close()
