"""The data files of deleted, replaced and overwritten objects are unlinked off the event
loop (``DataStore.drop_objects``), and still before the request is answered.

DeleteObjects of 1,000 keys used to unlink 1,000 data files on the loop: ~3 s where each
unlink discards blocks (mount option ``discard``), with every other request of the worker
waiting. The same held for DeleteObject, a version's delete, a lifecycle expiration
(``delete_object``), an overwrite by CopyObject or CompleteMultipartUpload, and a part
uploaded again. The unlinks are seen through Python's audit events (``os.remove``, which
``os.unlink`` raises), with the thread that made each.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backends.filesystem import FilesystemBackend
from backends.types import VERSIONING_ENABLED, CopySource, ObjectMeta
from tests.backends.fs_helpers import body, on_loop, read_all, unlinked

MIN = 1024


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[FilesystemBackend]:
    # inline_max=0: every body has a data file, however small
    b = FilesystemBackend(
        tmp_path, fsync=True, min_part_size=MIN, inline_max=0, temp_sweep_interval=0
    )
    await b.start()
    await b.create_bucket("bk")
    yield b
    await b.close()


def _data_files(b: FilesystemBackend) -> set[str]:
    return {str(p) for p in b.files.objects_dir.rglob("*") if p.is_file()}


async def test_delete_objects_unlinks_no_data_file_on_the_event_loop(
    backend: FilesystemBackend,
) -> None:
    keys = [f"k{i:03}" for i in range(40)]
    for key in keys:
        await backend.put_object("bk", key, body(key.encode() * 40), ObjectMeta())
    files = _data_files(backend)
    assert len(files) == len(keys)
    seen = await unlinked(backend.delete_objects("bk", [(key, None) for key in keys]))
    assert {path for _, path in seen} >= files  # every data file went, before the answer
    assert on_loop(seen) == []
    assert _data_files(backend) == set()
    assert (backend.files.meta_dir / "reserve").exists()


async def test_delete_object_unlinks_its_data_file_off_the_loop(
    backend: FilesystemBackend,
) -> None:
    await backend.put_object("bk", "one", body(b"x" * 5000), ObjectMeta())
    (path,) = _data_files(backend)
    seen = await unlinked(backend.delete_object("bk", "one"))
    assert path in {p for _, p in seen}
    assert on_loop(seen) == []
    assert _data_files(backend) == set()


async def test_a_versions_delete_unlinks_off_the_loop(backend: FilesystemBackend) -> None:
    await backend.put_bucket_versioning("bk", VERSIONING_ENABLED)
    first = await backend.put_object("bk", "v", body(b"1" * 3000), ObjectMeta())
    await backend.put_object("bk", "v", body(b"2" * 3000), ObjectMeta())
    assert len(_data_files(backend)) == 2
    seen = await unlinked(backend.delete_object("bk", "v", version_id=first.version_id))
    assert len(seen) == 1
    assert on_loop(seen) == []
    assert len(_data_files(backend)) == 1
    assert await read_all(await backend.get_object("bk", "v")) == b"2" * 3000


async def test_a_copy_over_an_object_unlinks_the_replaced_file_off_the_loop(
    backend: FilesystemBackend,
) -> None:
    await backend.put_object("bk", "src", body(b"s" * 4000), ObjectMeta())
    await backend.put_object("bk", "dst", body(b"d" * 4000), ObjectMeta())
    before = _data_files(backend)
    seen = await unlinked(backend.copy_object(CopySource("bk", "src"), "bk", "dst"))
    replaced = before - _data_files(backend)
    assert len(replaced) == 1
    assert replaced <= {path for _, path in seen}
    assert on_loop(seen) == []
    assert await read_all(await backend.get_object("bk", "dst")) == b"s" * 4000


async def test_a_completion_over_an_object_unlinks_the_replaced_file_off_the_loop(
    backend: FilesystemBackend,
) -> None:
    await backend.put_object("bk", "o", body(b"old" * 1000), ObjectMeta())
    (old,) = _data_files(backend)
    up = await backend.create_multipart_upload("bk", "o", ObjectMeta())
    part = await backend.upload_part("bk", "o", up.upload_id, 1, body(b"n" * MIN))
    seen = await unlinked(
        backend.complete_multipart_upload("bk", "o", up.upload_id, [(1, part.etag)])
    )
    assert old in {path for _, path in seen}
    assert on_loop(seen) == []
    assert old not in _data_files(backend)
    assert await read_all(await backend.get_object("bk", "o")) == b"n" * MIN


async def test_a_part_uploaded_again_unlinks_the_first_off_the_loop(
    backend: FilesystemBackend,
) -> None:
    up = await backend.create_multipart_upload("bk", "o", ObjectMeta())
    await backend.upload_part("bk", "o", up.upload_id, 1, body(b"a" * MIN))
    upload_dir = backend.files.upload_dir(up.upload_id)
    (first,) = list(upload_dir.iterdir())
    seen = await unlinked(backend.upload_part("bk", "o", up.upload_id, 1, body(b"b" * MIN)))
    assert str(first) in {path for _, path in seen}
    assert on_loop(seen) == []
    assert not first.exists()
    assert len(list(upload_dir.iterdir())) == 1


async def test_a_put_over_an_object_does_not_wait_for_the_replaced_files_unlink(
    backend: FilesystemBackend,
) -> None:
    """The group commit unlinked what a PUT replaced on its writer thread before the PUT,
    and every PUT queued behind its group, was answered: an unlink frees the file's
    blocks, ~13 ms per 64 MiB and ~200 ms per GiB on ext4. The file is now moved into
    this process's temp directory (a rename; what a crash leaves there is swept with
    the directory of an owner that ended) and unlinked on the trash thread, here held
    until the PUT was answered."""
    await backend.put_object("bk", "p", body(b"1" * 3000), ObjectMeta())
    (old,) = _data_files(backend)
    name = Path(old).name
    gate = threading.Event()
    busy = backend.files.tmp_dir / "busy"
    busy.mkdir()

    def held() -> None:  # the trash thread, until the gate opens
        gate.wait()

    backend.files.trash.remove(str(busy), then=held)
    try:
        seen = await unlinked(backend.put_object("bk", "p", body(b"2" * 3000), ObjectMeta()))
        assert old not in _data_files(backend)
        assert name not in {Path(path).name for _, path in seen}  # not unlinked yet
        [moved] = backend.files.tmp_dir.rglob(name)
        assert moved.read_bytes() == b"1" * 3000
    finally:
        gate.set()
    backend.files.trash.wait()
    assert list(backend.files.tmp_dir.rglob(name)) == []
    read = await backend.get_object("bk", "p")
    assert await read_all(read) == b"2" * 3000


async def test_delete_objects_runs_its_transaction_off_the_event_loop(
    backend: FilesystemBackend,
) -> None:
    """DeleteObjects' transaction ran on the loop's connection: 1,000 keys held the loop
    (and every other request of the worker) for 12 ms with data files, ~60 ms for small
    inline objects and ~400 ms for 1,000 of 60 KiB (``secure_delete`` zeroes their pages).
    It runs on the group commit's writer thread and connection now; a single
    DeleteObject (~0.1 ms) stays on the loop. Seen through the statements SQLite traces
    on the loop's connection."""
    keys = [f"d{i:03}" for i in range(50)]
    for key in keys:
        await backend.put_object("bk", key, body(key.encode() * 40), ObjectMeta())
    on_loop_conn: list[str] = []
    backend.db.conn.set_trace_callback(on_loop_conn.append)
    try:
        results = await backend.delete_objects("bk", [(key, None) for key in keys])
        assert [r.key for r in results] == keys and all(r.error_code is None for r in results)
        assert [s for s in on_loop_conn if "DELETE" in s.upper()] == []
        await backend.delete_object("bk", "absent")  # one key: on the loop, as before
        assert any("DELETE" in s.upper() for s in on_loop_conn)
    finally:
        backend.db.conn.set_trace_callback(None)
    assert _data_files(backend) == set()
    page = await backend.list_objects("bk")
    assert page.objects == ()
