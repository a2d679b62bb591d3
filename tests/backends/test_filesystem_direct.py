"""With direct writes on (``storage.direct_writes``), the bytes of a body past
``DIRECT_FROM`` bypass the page cache (O_DIRECT): the bytes, the ETag and the old object
on failure are as for any other write, the first ``DIRECT_FROM`` bytes stay in the page
cache and the rest does not (with the setting off, as by default, all of it does), and a
file system that refuses O_DIRECT gets the same bytes through the page cache."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from backends.filesystem import FilesystemBackend
from backends.filesystem.file_writer import BATCH, DIRECT_ALIGN, DIRECT_FROM
from backends.types import ObjectMeta
from tests.backends.fs_helpers import Body, body, read_all
from tests.page_cache import resident_pages


@pytest.fixture
async def synced(tmp_path: Path) -> AsyncIterator[FilesystemBackend]:
    b = FilesystemBackend(tmp_path, fsync=True, direct_writes=True)
    await b.start()
    await b.create_bucket("bk")
    yield b
    await b.close()


def data_file(b: FilesystemBackend) -> Path:
    (only,) = [p for p in b.files.objects_dir.rglob("*") if p.is_file()]
    return only


@pytest.mark.parametrize(
    "size",
    [
        DIRECT_FROM,
        DIRECT_FROM + 1,
        DIRECT_FROM + DIRECT_ALIGN,
        DIRECT_FROM + DIRECT_ALIGN + 1,
        DIRECT_FROM + BATCH - 1,
        DIRECT_FROM + 3 * BATCH + 12_345,
    ],
)
@pytest.mark.parametrize("chunk", [1_000, 65_537, 1 << 20])
async def test_bytes_and_etag_across_the_direct_boundary(
    synced: FilesystemBackend, size: int, chunk: int
) -> None:
    data = os.urandom(size)
    info = await synced.put_object("bk", "k", body(data, chunk), ObjectMeta())
    assert info.size == size
    assert info.etag == hashlib.md5(data).hexdigest()
    assert await read_all(await synced.get_object("bk", "k")) == data
    assert synced.files.direct  # this file system takes O_DIRECT


async def test_the_part_past_direct_from_is_not_in_the_page_cache(
    synced: FilesystemBackend, tmp_path: Path
) -> None:
    size = DIRECT_FROM + 8 * BATCH + 100
    await synced.put_object("bk", "big", body(os.urandom(size)), ObjectMeta())
    path = data_file(synced)
    assert resident_pages(path, 0, DIRECT_FROM) == DIRECT_FROM // DIRECT_ALIGN
    assert resident_pages(path, DIRECT_FROM, DIRECT_FROM + 8 * BATCH) == 0

    # with the setting off (the default) every byte goes through the page cache
    plain = FilesystemBackend(tmp_path / "plain", fsync=True)
    await plain.start()
    await plain.create_bucket("bk")
    await plain.put_object("bk", "big", body(os.urandom(size)), ObjectMeta())
    assert not plain.files.direct
    assert resident_pages(data_file(plain)) == -(-size // DIRECT_ALIGN)
    await plain.close()


async def test_a_failing_body_past_the_boundary_keeps_the_old_object(
    synced: FilesystemBackend,
) -> None:
    await synced.put_object("bk", "k", body(b"old"), ObjectMeta())
    chunks = [os.urandom(65_536) for _ in range(DIRECT_FROM // 65_536 + 40)]
    with pytest.raises(RuntimeError):
        await synced.put_object("bk", "k", Body(chunks, fail_after=len(chunks) - 1), ObjectMeta())
    assert list(synced.files.tmp_dir.iterdir()) == []
    assert await read_all(await synced.get_object("bk", "k")) == b"old"


def _refusing(
    real: Callable[..., int], refusals: list[int], *, at: str
) -> tuple[Callable[..., int], Callable[..., int]]:
    """(fcntl, os.write) stand-ins for a file system that refuses O_DIRECT: at the flag
    (``at="flag"``), at any write with the flag set (``"write"``), or after writing part
    of the first one (``"short"``: a short write, then refusals); each refusal is counted
    in ``refusals``."""
    real_write = os.write
    shortened: set[int] = set()

    def fake_fcntl(fd: int, cmd: int, arg: int = 0) -> int:
        if at == "flag" and cmd == fcntl.F_SETFL and arg & os.O_DIRECT:
            refusals.append(fd)
            raise OSError(errno.EINVAL, "O_DIRECT refused")
        return real(fd, cmd, arg)

    def fake_write(fd: int, data: bytes) -> int:
        if at != "flag" and real(fd, fcntl.F_GETFL) & os.O_DIRECT:
            if at == "short" and fd not in shortened:
                shortened.add(fd)
                return real_write(fd, memoryview(data)[: 3 * DIRECT_ALIGN])
            refusals.append(fd)
            raise OSError(errno.EINVAL, "direct write refused")
        return real_write(fd, data)

    return fake_fcntl, fake_write


@pytest.mark.parametrize("at", ["flag", "write", "short"])
async def test_a_file_system_that_refuses_o_direct_gets_the_bytes_anyway(
    synced: FilesystemBackend, monkeypatch: pytest.MonkeyPatch, at: str
) -> None:
    refusals: list[int] = []
    fake_fcntl, fake_write = _refusing(fcntl.fcntl, refusals, at=at)
    monkeypatch.setattr(fcntl, "fcntl", fake_fcntl)
    monkeypatch.setattr(os, "write", fake_write)
    data = os.urandom(DIRECT_FROM + 6 * BATCH + 7)
    for key in ("first", "second"):
        info = await synced.put_object("bk", key, body(data), ObjectMeta())
        assert info.etag == hashlib.md5(data).hexdigest()
    monkeypatch.undo()
    assert await read_all(await synced.get_object("bk", "first")) == data
    assert await read_all(await synced.get_object("bk", "second")) == data
    # refused at the flag: the store stops asking (one refusal); refused at a write
    # (after part of it, for "short"): each file falls back on its own, once, and goes
    # on from where the write stopped
    assert synced.files.direct is (at != "flag")
    assert len(refusals) == (1 if at == "flag" else 2)
