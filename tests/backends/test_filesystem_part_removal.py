"""The part files of a completed or aborted upload are removed off the event loop, the
many of a large upload after the answer (``DataStore.drop_upload_dir``, ``Trash``).

A completion of 10,000 parts used to unlink the 10,000 part files on the loop before it
answered: ~23 s where each unlink discards blocks (mount option ``discard``), with every
other request of the worker waiting. The unlinks are seen through Python's audit events
(``os.remove``, which ``os.unlink`` and ``shutil.rmtree`` raise), with the thread that
made each.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backends.filesystem import FilesystemBackend
from backends.filesystem.files import TRASH_FROM
from backends.types import ObjectMeta
from tests.backends.fs_helpers import body, on_loop, read_all, unlinked

MIN = 1024
MANY = TRASH_FROM + 36


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[FilesystemBackend]:
    b = FilesystemBackend(tmp_path, fsync=True, min_part_size=MIN, temp_sweep_interval=0)
    await b.start()
    await b.create_bucket("bk")
    yield b
    await b.close()


async def _upload(b: FilesystemBackend, parts: int) -> tuple[str, list[tuple[int, str]], bytes]:
    up = await b.create_multipart_upload("bk", "o", ObjectMeta())
    listed = []
    for number in range(1, parts + 1):
        part = await b.upload_part("bk", "o", up.upload_id, number, body(bytes([number]) * MIN))
        listed.append((number, part.etag))
    return up.upload_id, listed, b"".join(bytes([n]) * MIN for n in range(1, parts + 1))


def _files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()]


@pytest.mark.parametrize("parts", [3, MANY])
async def test_a_completion_unlinks_no_part_file_on_the_event_loop(
    backend: FilesystemBackend, parts: int
) -> None:
    upload_id, listed, data = await _upload(backend, parts)
    completion = backend.complete_multipart_upload("bk", "o", upload_id, listed)
    seen = await unlinked(completion, then=backend.files.trash.wait)
    info = await backend.head_object("bk", "o")
    assert info.size == len(data)
    assert await read_all(await backend.get_object("bk", "o")) == data
    assert len(seen) >= parts  # every part file went, and the audit saw them go
    assert on_loop(seen) == []
    assert not backend.files.upload_dir(upload_id).exists()
    assert _files(backend.files.tmp_root) == []  # the trash too, once it ended
    assert [p.name for p in backend.files.tmp_root.iterdir()] == [backend.files.tmp_dir.name]


async def test_an_abort_of_many_parts_unlinks_none_on_the_loop(backend: FilesystemBackend) -> None:
    upload_id, _, _ = await _upload(backend, MANY)
    abort = backend.abort_multipart_upload("bk", "o", upload_id)
    seen = await unlinked(abort, then=backend.files.trash.wait)
    assert len(seen) >= MANY
    assert on_loop(seen) == []
    assert not backend.files.upload_dir(upload_id).exists()
    assert _files(backend.files.tmp_root) == []


async def test_what_a_closing_process_leaves_in_the_trash_is_swept(tmp_path: Path) -> None:
    """A removal cut short by ``close`` (or by a crash) leaves its files in the process's
    temp directory; the next process on the data directory removes them."""
    first = FilesystemBackend(tmp_path, fsync=False, min_part_size=MIN, temp_sweep_interval=0)
    await first.start()
    await first.create_bucket("bk")
    upload_id, listed, data = await _upload(first, MANY)
    first.files.trash.close()  # as close() does: nothing more is unlinked in the background
    await first.complete_multipart_upload("bk", "o", upload_id, listed)
    left = first.files.tmp_dir
    assert len(_files(left)) == MANY  # renamed out of parts/, not unlinked
    await first.close()
    second = FilesystemBackend(tmp_path, fsync=False, min_part_size=MIN, temp_sweep_interval=0)
    await second.start()
    try:
        assert not left.exists()
        assert _files(tmp_path / "tmp") == []
        got = await read_all(await second.get_object("bk", "o"))
        assert hashlib.md5(got).digest() == hashlib.md5(data).digest()
    finally:
        await second.close()
