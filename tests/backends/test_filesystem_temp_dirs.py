"""Temp files of a process killed while its siblings run on the data directory
(``temp_dirs.py``): each process receives in ``tmp/<owner>/``, locked while it runs, and
the others remove the directories of owners that ended, never a running one's.

The sibling here is a real process (``_WRITER``) receiving a PUT whose body never ends,
killed with SIGKILL as the OOM killer would.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from backends.filesystem import FilesystemBackend
from backends.filesystem.temp_dirs import claim, sweep
from backends.types import ObjectMeta
from tests.backends.fs_helpers import body, sibling

_WRITER = """
import asyncio, sys
from pathlib import Path
from backends.filesystem import FilesystemBackend
from backends.types import ObjectMeta

class Endless:
    checksums = {}
    def __aiter__(self):
        return self._chunks()
    async def _chunks(self):
        for _ in range(4):
            yield b"x" * 262144
        await asyncio.Event().wait()

async def main():
    b = FilesystemBackend(Path(sys.argv[1]), fsync=False, temp_sweep_interval=0)
    await b.start()
    put = asyncio.create_task(b.put_object("bk", "k", Endless(), ObjectMeta()))
    while not any(b.files.tmp_dir.iterdir()):
        await asyncio.sleep(0.01)
    print(next(b.files.tmp_dir.iterdir()), flush=True)
    await put

asyncio.run(main())
"""


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[FilesystemBackend]:
    b = FilesystemBackend(tmp_path, fsync=False, temp_sweep_interval=0)
    await b.start()
    await b.create_bucket("bk")
    yield b
    await b.close()


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """A sibling process in the middle of a PUT, and its temp file."""
    process = sibling(_WRITER, tmp_path)
    try:
        assert process.stdout is not None
        temp = Path(process.stdout.readline().strip())
        assert temp.is_file(), temp
        yield process, temp
    finally:
        process.kill()
        process.wait()


async def test_a_running_siblings_temp_file_is_kept(
    backend: FilesystemBackend, writer: tuple[subprocess.Popen[str], Path]
) -> None:
    process, temp = writer
    assert await backend.sweep_temp() == 0
    assert temp.is_file() and process.poll() is None


async def test_a_killed_siblings_temp_files_are_removed(
    backend: FilesystemBackend, writer: tuple[subprocess.Popen[str], Path]
) -> None:
    process, temp = writer
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert temp.is_file()  # nothing ran in the killed process to remove it
    assert await backend.sweep_temp() == 1
    assert not temp.exists() and not temp.parent.exists()
    assert backend.files.tmp_dir.is_dir()  # this process's own stays
    assert await backend.sweep_temp() == 0


async def test_a_replacement_process_sweeps_as_it_starts(
    backend: FilesystemBackend, writer: tuple[subprocess.Popen[str], Path], tmp_path: Path
) -> None:
    """The worker started in a killed one's place is not alone on the data directory
    (no start-up recovery), yet removes the killed one's temp files at once."""
    process, temp = writer
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    replacement = FilesystemBackend(tmp_path, fsync=False, temp_sweep_interval=0)
    await replacement.start()
    try:
        assert not temp.parent.exists()
        assert backend.files.tmp_dir.is_dir() and replacement.files.tmp_dir.is_dir()
    finally:
        await replacement.close()
    assert not replacement.files.tmp_dir.exists()  # an empty own directory goes at close


def test_temp_directories_are_private_and_only_locked_ones_are_named(tmp_path: Path) -> None:
    """A directory is locked before it has its sweepable name: ``<owner>.new`` first."""
    own = claim(tmp_path)
    try:
        assert own.path.parent == tmp_path and len(own.path.name) == 32
        assert (own.path.stat().st_mode & 0o777) == 0o700
        (tmp_path / ("f" * 32 + ".new")).mkdir()  # one being made: never swept
        assert sweep(tmp_path, tmp_path / "other") == []  # own is locked: kept
        assert own.path.is_dir() and (tmp_path / ("f" * 32 + ".new")).is_dir()
    finally:
        own.release()
    assert not own.path.exists()


async def test_start_up_recovery_keeps_the_directory_of_a_sibling_starting_with_it(
    tmp_path: Path,
) -> None:
    """Workers start together: one claims its temp directory, then the other finds itself
    alone on ``meta/lock`` (the first has not taken its shared lock yet) and recovers. The
    recovery removed the first one's directory, and every PUT that worker received was then
    answered 500 (its temp files could not be made)."""
    sibling = FilesystemBackend(tmp_path, fsync=False, temp_sweep_interval=0)
    sibling.files.create_dirs()  # what its start() does first: its directory, locked
    try:
        first = FilesystemBackend(tmp_path, fsync=False, temp_sweep_interval=0)
        await first.start()  # alone on meta/lock: start-up recovery
        try:
            assert sibling.files.tmp_dir.is_dir()
            await sibling.start()
            await first.create_bucket("bk")
            put = await sibling.put_object("bk", "k", body(b"x" * 300_000), ObjectMeta())
            assert put.size == 300_000
        finally:
            await first.close()
    finally:
        await sibling.close()
