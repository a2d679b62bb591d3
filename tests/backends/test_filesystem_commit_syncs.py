"""With fsync on, a PUT's data file and the directory it was renamed into are fsynced
before it answers (``GroupCommitter``'s step 1), and a failed fsync fails the PUT and
keeps the object it would have replaced.

Seen through Python's audit events: ``file_ops.fsync_path`` opens the path it fsyncs
(``open``, on the group commit's threads). The failing disk is ``os.fsync`` raising EIO.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backends.filesystem import FilesystemBackend
from backends.types import ObjectMeta
from tests.backends.fs_helpers import body, bucket_backend, read_all, stored_data

_opened: list[str] | None = None
"""Paths opened on the group commit's threads while a test records them (a group of one
file is fsynced on the writer thread itself)."""


def _audit(event: str, args: tuple[object, ...]) -> None:
    if (
        _opened is not None
        and event == "open"
        and threading.current_thread().name.startswith(("fs-fsync", "fs-commit"))
    ):
        _opened.append(os.fsdecode(args[0]))  # type: ignore[arg-type]


sys.addaudithook(_audit)  # stays for the process: a test of None per event otherwise


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[FilesystemBackend]:
    global _opened
    # inline_max=0: every body has a data file, however small
    async with bucket_backend(tmp_path, fsync=True, inline_max=0, temp_sweep_interval=0) as b:
        _opened = []
        try:
            yield b
        finally:
            _opened = None


def _synced() -> list[str]:
    assert _opened is not None
    return list(_opened)


def _data_file(backend: FilesystemBackend, key: str) -> str:
    return str(backend.files.object_path(backend.find("bk", key).data_id))


async def test_a_puts_file_and_directory_are_synced_before_it_answers(
    backend: FilesystemBackend,
) -> None:
    await asyncio.gather(
        *(backend.put_object("bk", f"k{i}", body(b"x" * 5000), ObjectMeta()) for i in range(6))
    )
    synced = _synced()
    for i in range(6):
        path = _data_file(backend, f"k{i}")
        assert path in synced and os.path.dirname(path) in synced


async def test_a_failed_sync_fails_the_put_and_keeps_the_old_object(
    backend: FilesystemBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    await backend.put_object("bk", "k", body(b"old" * 2000), ObjectMeta())

    def failing(fd: int) -> None:  # any file's fsync, on whichever thread runs it
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing)  # the disk's failure, not our code's
    with pytest.raises(OSError, match="Input/output error"):  # the S3 layer's 500
        await backend.put_object("bk", "k", body(b"new" * 2000), ObjectMeta())
    monkeypatch.undo()
    assert await read_all(await backend.get_object("bk", "k")) == b"old" * 2000
    assert stored_data(backend) == [b"old" * 2000]  # the new file is gone
