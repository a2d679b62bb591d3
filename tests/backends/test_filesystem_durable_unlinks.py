"""With fsync on, a file a committed change no longer names is unlinked only once that
change is durable.

Deletes, aborts, completions, copies and part uploads commit on the event loop's
connection with ``synchronous=NORMAL`` (no WAL sync), then unlink the files their rows
stopped naming. Unlinked before the WAL reached the disk, a power loss could roll the
commit back after the unlink: a deleted object would be back as a row whose data file is
gone (every GET of it failing), a completed upload back with its parts missing.
``DataStore.sync_commits`` fsyncs the WAL first; these tests see it through Python's
audit events: the WAL opened (``open``) before each data or part file is removed
(``os.remove``, which ``os.unlink`` and ``shutil.rmtree`` raise), on the same thread.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import pytest

from backends.filesystem import FilesystemBackend
from backends.types import VERSIONING_ENABLED, CopySource, ObjectMeta
from tests.backends.fs_helpers import body

MIN = 1024

_events: list[tuple[str, int, str]] | None = None
"""(event, thread id, path) of WAL opens and removals while ``_recorded`` runs."""


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _events is None:
        return
    if event == "os.remove":
        _events.append(("remove", threading.get_ident(), str(args[0])))
    elif event == "open" and str(args[0]).endswith("-wal"):
        _events.append(("wal", threading.get_ident(), str(args[0])))


sys.addaudithook(_audit)  # stays for the process: a test of None per event otherwise


async def _recorded(action: Awaitable[object]) -> list[tuple[str, int, str]]:
    global _events
    _events = []
    try:
        await action
        return _events
    finally:
        _events = None


def _removed_before_sync(events: list[tuple[str, int, str]]) -> list[str]:
    """The paths removed with no WAL open before them on their thread (must be none)."""
    synced: set[int] = set()
    early: list[str] = []
    for kind, thread, path in events:
        if kind == "wal":
            synced.add(thread)
        elif thread not in synced:
            early.append(path)
    return early


async def _backend(root: Path, *, fsync: bool) -> FilesystemBackend:
    # inline_max=0: every body has a data file, however small
    b = FilesystemBackend(root, fsync=fsync, min_part_size=MIN, inline_max=0, temp_sweep_interval=0)
    await b.start()
    await b.create_bucket("bk")
    return b


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[FilesystemBackend]:
    b = await _backend(tmp_path, fsync=True)
    yield b
    await b.close()


def _removals(events: list[tuple[str, int, str]]) -> list[str]:
    return [path for kind, _, path in events if kind == "remove"]


async def test_a_delete_syncs_its_commit_before_the_unlink(backend: FilesystemBackend) -> None:
    await backend.put_object("bk", "one", body(b"x" * 5000), ObjectMeta())
    events = await _recorded(backend.delete_object("bk", "one"))
    assert _removals(events)
    assert _removed_before_sync(events) == []


async def test_delete_objects_sync_before_the_unlinks(backend: FilesystemBackend) -> None:
    keys = [f"k{i}" for i in range(5)]
    for key in keys:
        await backend.put_object("bk", key, body(key.encode() * 900), ObjectMeta())
    events = await _recorded(backend.delete_objects("bk", [(key, None) for key in keys]))
    assert len(_removals(events)) == len(keys)
    assert _removed_before_sync(events) == []


async def test_a_versions_delete_syncs_before_the_unlink(backend: FilesystemBackend) -> None:
    await backend.put_bucket_versioning("bk", VERSIONING_ENABLED)
    first = await backend.put_object("bk", "v", body(b"1" * 3000), ObjectMeta())
    await backend.put_object("bk", "v", body(b"2" * 3000), ObjectMeta())
    events = await _recorded(backend.delete_object("bk", "v", version_id=first.version_id))
    assert _removals(events)
    assert _removed_before_sync(events) == []


async def test_a_copy_over_an_object_syncs_before_the_unlink(backend: FilesystemBackend) -> None:
    await backend.put_object("bk", "src", body(b"s" * 4000), ObjectMeta())
    await backend.put_object("bk", "dst", body(b"d" * 4000), ObjectMeta())
    events = await _recorded(backend.copy_object(CopySource("bk", "src"), "bk", "dst"))
    assert _removals(events)
    assert _removed_before_sync(events) == []


async def test_a_completion_syncs_before_its_parts_and_the_replaced_file_go(
    backend: FilesystemBackend,
) -> None:
    await backend.put_object("bk", "o", body(b"old" * 1000), ObjectMeta())
    up = await backend.create_multipart_upload("bk", "o", ObjectMeta())
    part = await backend.upload_part("bk", "o", up.upload_id, 1, body(b"n" * MIN))
    events = await _recorded(
        backend.complete_multipart_upload("bk", "o", up.upload_id, [(1, part.etag)])
    )
    assert len(_removals(events)) >= 2  # the replaced object's file and the part
    assert _removed_before_sync(events) == []


async def test_a_part_uploaded_again_and_an_abort_sync_before_their_unlinks(
    backend: FilesystemBackend,
) -> None:
    up = await backend.create_multipart_upload("bk", "o", ObjectMeta())
    await backend.upload_part("bk", "o", up.upload_id, 1, body(b"a" * MIN))
    again = await _recorded(backend.upload_part("bk", "o", up.upload_id, 1, body(b"b" * MIN)))
    assert _removals(again)
    assert _removed_before_sync(again) == []
    aborted = await _recorded(backend.abort_multipart_upload("bk", "o", up.upload_id))
    assert _removals(aborted)
    assert _removed_before_sync(aborted) == []


async def test_without_fsync_no_wal_is_synced(tmp_path: Path) -> None:
    """The cost is paid only where it buys something: with fsync off nothing is synced."""
    b = await _backend(tmp_path, fsync=False)
    try:
        await b.put_object("bk", "one", body(b"x" * 5000), ObjectMeta())
        events = await _recorded(b.delete_object("bk", "one"))
        assert _removals(events)
        assert [e for e in events if e[0] == "wal"] == []
    finally:
        await b.close()
