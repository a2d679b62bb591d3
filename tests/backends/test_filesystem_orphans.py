"""Data and part files a process killed between placing them and committing their rows
leaves, while its siblings run: the sibling that sweeps the killed process's temp
directory removes them too (``FilesystemBackend.sweep_temp``), and nothing a row names,
nor any file of a process still running.

They used to stay until the gateway next started with no process on the data directory.
The writer here is a real process that makes exactly the calls a PutObject and an
UploadPart make before their commit (an id of ``new_object_id``, ``receive`` into its
place), commits one object fully, and is then killed with SIGKILL as the OOM killer would.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backends.filesystem import FilesystemBackend
from backends.filesystem.metadb import named_among
from backends.types import VERSIONING_ENABLED, ObjectMeta
from tests.backends.fs_helpers import body, read_all, sibling

_WRITER = """
import asyncio, sys
from pathlib import Path
from backends.filesystem import FilesystemBackend
from backends.types import ObjectMeta
from tests.backends.fs_helpers import body

async def main():
    b = FilesystemBackend(Path(sys.argv[1]), fsync=True, inline_max=0, temp_sweep_interval=0)
    await b.start()
    files = b.files
    await b.put_object("bk", "committed", body(b"c" * 3000), ObjectMeta())
    await b.put_object("bk", "replaced", body(b"r" * 3000), ObjectMeta())
    up = await b.create_multipart_upload("bk", "mp", ObjectMeta())
    await b.upload_part("bk", "mp", up.upload_id, 1, body(b"p" * 1024))
    placed = files.object_file(files.new_object_id())  # PutObject: placed, then commit
    await files.receive(body(b"o" * 3000), placed, defer_sync=True)
    part = files.part_path(up.upload_id, files.new_object_id())  # UploadPart likewise
    await files.receive(body(b"q" * 1024), part)
    print(placed, part, up.upload_id, sep="\\n", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[FilesystemBackend]:
    b = FilesystemBackend(tmp_path, fsync=False, inline_max=0, temp_sweep_interval=0)
    await b.start()
    await b.create_bucket("bk")
    await b.put_bucket_versioning("bk", VERSIONING_ENABLED)
    yield b
    await b.close()


def _killed_writer(data_dir: Path) -> tuple[Path, Path, str]:
    """Run the writer until it placed its two files, kill it; (object, part, upload id)."""
    process = sibling(_WRITER, data_dir)
    try:
        assert process.stdout is not None
        placed, part, upload_id = (process.stdout.readline().strip() for _ in range(3))
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    return Path(placed), Path(part), upload_id


def _files(directory: Path) -> set[Path]:
    return {p for p in directory.rglob("*") if p.is_file()}


async def test_a_killed_siblings_uncommitted_files_are_removed_and_nothing_else(
    backend: FilesystemBackend, tmp_path: Path
) -> None:
    # a file of this (running) process, placed and not committed yet: never swept
    own = Path(backend.files.object_file(backend.files.new_object_id()))
    await backend.files.receive(body(b"mine" * 1000), own, defer_sync=True)
    placed, part, upload_id = _killed_writer(tmp_path)
    assert placed.is_file() and part.is_file()  # nothing ran in the killed process
    # the killed process's committed objects change hands meanwhile: a version appears
    # on top of one (its file now named by a row of ``versions``, not ``objects``)
    await backend.put_object("bk", "replaced", body(b"R" * 3000), ObjectMeta())
    before = _files(tmp_path / "objects") | _files(tmp_path / "parts")

    assert await backend.sweep_temp() == 1

    assert not placed.exists() and not part.exists()
    assert before - (_files(tmp_path / "objects") | _files(tmp_path / "parts")) == {placed, part}
    assert own.is_file()
    assert await read_all(await backend.get_object("bk", "committed")) == b"c" * 3000
    versions = (await backend.list_object_versions("bk", prefix="replaced")).versions
    assert len(versions) == 2
    got = [
        await read_all(await backend.get_object("bk", "replaced", version_id=v.info.version_id))
        for v in versions
    ]
    assert got == [b"R" * 3000, b"r" * 3000]
    parts = await backend.list_parts("bk", "mp", upload_id)
    assert [p.part_number for p in parts.parts] == [1]
    assert await backend.sweep_temp() == 0


async def test_the_worker_started_in_a_killed_ones_place_removes_them_too(
    backend: FilesystemBackend, tmp_path: Path
) -> None:
    """The usual case: the server starts a replacement at once, and the replacement's
    start-up sweep finds the ended directory first; it removes the placed files in the
    background (a walk of the tree), not before it is ready."""
    placed, part, _ = _killed_writer(tmp_path)
    replacement = FilesystemBackend(tmp_path, fsync=False, temp_sweep_interval=0)
    await replacement.start()  # not alone: ``backend`` runs
    try:
        assert replacement._sweeper is not None
        await replacement._sweeper  # the start-up removal, then (interval 0) nothing more
        assert not placed.exists() and not part.exists()
        got = await read_all(await replacement.get_object("bk", "committed"))
        assert got == b"c" * 3000
    finally:
        await replacement.close()


def test_the_sweeps_look_at_the_rows_waits_as_long_as_storage_busy_timeout(
    tmp_path: Path,
) -> None:
    """``named_among`` (which of the ended processes' ids a row names) waits for another
    connection's lock as long as ``storage.busy_timeout`` says, as every connection to the
    database does; it used to give up after a fixed 10 s, and the sweep failed. Without
    WAL (a file system that refuses its shared memory: ``MetaDB`` falls back to a
    rollback journal) a reader waits while a write holds the lock: here 11 s, under a
    configured 60 s."""
    db = tmp_path / "meta.db"
    writer = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    for table in ("objects", "versions", "parts"):
        writer.execute(f"CREATE TABLE {table} (data_id TEXT)")
    writer.execute("INSERT INTO parts VALUES ('named')")
    writer.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(11, writer.execute, ("COMMIT",))
    release.start()
    try:
        assert named_among(db, ["named", "unnamed"], busy_timeout_ms=60_000) == {"named"}
    finally:
        release.join()
        writer.close()
