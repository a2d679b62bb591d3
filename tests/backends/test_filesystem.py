"""The filesystem backend driven through its interface against a real temp directory.

These tests look at data files, so their backends keep every body in one
(``inline_max=0``); small bodies kept in the metadata database by default are
``test_filesystem_inline.py``'s."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backends.errors import BackendError
from backends.filesystem import FilesystemBackend
from backends.types import ByteRange, Conditions, CopySource, ObjectMeta
from tests.backends.fs_helpers import Body, body, read_all


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[FilesystemBackend]:
    b = FilesystemBackend(tmp_path, inline_max=0, fsync=False)
    await b.start()
    await b.create_bucket("bk")
    yield b
    await b.close()


async def put(b: FilesystemBackend, key: str, data: bytes, **meta: object) -> None:
    await b.put_object("bk", key, body(data), ObjectMeta(**meta))  # type: ignore[arg-type]


async def get(b: FilesystemBackend, key: str, **kwargs: object) -> bytes:
    return await read_all(await b.get_object("bk", key, **kwargs))  # type: ignore[arg-type]


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


async def code_of(coro: object) -> str:
    with pytest.raises(BackendError) as err:
        await coro  # type: ignore[misc]
    return err.value.code


# -- buckets -------------------------------------------------------------------------------


async def test_buckets_lifecycle(backend: FilesystemBackend) -> None:
    assert await code_of(backend.create_bucket("bk")) == "BucketAlreadyOwnedByYou"
    await backend.create_bucket("aa", region="eu-west-1")
    assert [b.name for b in await backend.list_buckets()] == ["aa", "bk"]
    assert (await backend.head_bucket("aa")).region == "eu-west-1"
    assert await code_of(backend.head_bucket("zz")) == "NoSuchBucket"
    await put(backend, "k", b"1")
    assert await code_of(backend.delete_bucket("bk")) == "BucketNotEmpty"
    await backend.delete_object("bk", "k")
    up = await backend.create_multipart_upload("bk", "k", ObjectMeta())
    await backend.upload_part("bk", "k", up.upload_id, 1, body(b"part"))
    await backend.delete_bucket("bk")  # the upload in progress is aborted with it
    assert not backend.files.upload_dir(up.upload_id).exists()
    assert await code_of(backend.delete_bucket("bk")) == "NoSuchBucket"
    assert await code_of(backend.put_object("bk", "k", body(b""), ObjectMeta())) == "NoSuchBucket"


async def test_bucket_stats(backend: FilesystemBackend) -> None:
    assert await backend.bucket_stats("bk") == (0, 0)
    await put(backend, "a", b"12345")
    await put(backend, "b", b"123")
    await put(backend, "a", b"1")
    assert await backend.bucket_stats("bk") == (2, 4)
    assert await code_of(backend.bucket_stats("zz")) == "NoSuchBucket"


# -- objects -------------------------------------------------------------------------------


async def test_put_get_head_delete_roundtrip(backend: FilesystemBackend) -> None:
    meta = ObjectMeta(content_type="text/plain", cache_control="no-cache", user_metadata={"a": "b"})
    data = os.urandom(300_000)
    info = await backend.put_object(
        "bk", "k", body(data, checksums={"CRC32": "AAAAAA=="}), meta, content_md5=None
    )
    assert info.etag == hashlib.md5(data).hexdigest() and info.size == len(data)
    head = await backend.head_object("bk", "k")
    assert head.meta == meta and head.checksums == {"CRC32": "AAAAAA=="}
    assert head.etag == info.etag and head.parts_count is None
    read = await backend.get_object("bk", "k")
    assert read.path is not None and Path(read.path).is_file()
    assert (read.first, read.last, read.partial) == (0, len(data) - 1, False)
    assert await read_all(read) == data
    await backend.delete_object("bk", "k")
    await backend.delete_object("bk", "k")  # idempotent
    assert await code_of(backend.head_object("bk", "k")) == "NoSuchKey"
    assert await code_of(backend.get_object("bk", "k")) == "NoSuchKey"
    assert await code_of(backend.delete_object("zz", "k")) == "NoSuchBucket"
    assert files_under(backend.files.objects_dir) == []


async def test_empty_object(backend: FilesystemBackend) -> None:
    info = await backend.put_object("bk", "e", Body([]), ObjectMeta())
    assert info.size == 0 and info.etag == hashlib.md5(b"").hexdigest()
    read = await backend.get_object("bk", "e")
    assert (read.first, read.last) == (0, -1) and await read_all(read) == b""


async def test_overwrite_keeps_only_the_new_bytes(backend: FilesystemBackend) -> None:
    await put(backend, "k", b"old")
    await put(backend, "k", b"new!")
    assert await get(backend, "k") == b"new!"
    assert [p.read_bytes() for p in files_under(backend.files.objects_dir)] == [b"new!"]


async def test_open_read_survives_overwrite_and_delete(backend: FilesystemBackend) -> None:
    await put(backend, "k", b"first version")
    read = await backend.get_object("bk", "k")
    await put(backend, "k", b"second")
    await backend.delete_object("bk", "k")
    assert await read_all(read) == b"first version"


async def test_failing_body_leaves_old_object_and_no_temp_file(backend: FilesystemBackend) -> None:
    await put(backend, "k", b"old")
    chunks = [b"x" * 100_000] * 10
    with pytest.raises(RuntimeError):
        await backend.put_object("bk", "k", Body(chunks, fail_after=5), ObjectMeta())
    with pytest.raises(RuntimeError):
        await backend.put_object("bk", "new", Body([b"abc"], fail_after=0), ObjectMeta())
    assert await get(backend, "k") == b"old"
    assert await code_of(backend.head_object("bk", "new")) == "NoSuchKey"
    assert files_under(backend.files.tmp_dir) == []
    assert len(files_under(backend.files.objects_dir)) == 1


@pytest.mark.parametrize("size", [10, 1_000_000])
async def test_bad_content_md5_stores_nothing(backend: FilesystemBackend, size: int) -> None:
    await put(backend, "k", b"old")
    wrong = hashlib.md5(b"something else").digest()
    err = await code_of(
        backend.put_object("bk", "k", body(b"z" * size), ObjectMeta(), content_md5=wrong)
    )
    assert err == "BadDigest"
    assert await get(backend, "k") == b"old"
    assert files_under(backend.files.tmp_dir) == []
    assert len(files_under(backend.files.objects_dir)) == 1
    right = hashlib.md5(b"z" * size).digest()
    await backend.put_object("bk", "k", body(b"z" * size), ObjectMeta(), content_md5=right)


async def test_with_fsync_enabled(tmp_path: Path) -> None:
    b = FilesystemBackend(tmp_path, inline_max=0, fsync=True)
    await b.start()
    await b.create_bucket("bk")
    await b.put_object("bk", "small", body(b"s"), ObjectMeta())
    await b.put_object("bk", "big", body(b"b" * 700_000), ObjectMeta())
    await b.copy_object(CopySource("bk", "big"), "bk", "copy")
    assert await read_all(await b.get_object("bk", "copy")) == b"b" * 700_000
    await b.close()


class _Stalling(Body):
    """Its chunks, then nothing more: a client that stops sending in mid-body."""

    def __init__(self, chunks: list[bytes], sent: asyncio.Event) -> None:
        super().__init__(chunks)
        self.sent = sent

    async def _iterate(self) -> AsyncIterator[bytes]:
        async for chunk in super()._iterate():
            yield chunk
        self.sent.set()
        await asyncio.Event().wait()


@pytest.mark.parametrize("fsync", [False, True])
async def test_put_cancelled_while_a_batch_is_written_leaves_nothing(
    tmp_path: Path, fsync: bool
) -> None:
    """The body's batches are written on a pool thread while the next one arrives; a PUT
    cancelled then (the client went away) keeps the old object, and its temp file is
    gone by the time the cancellation is answered (the write in flight ended first)."""
    b = FilesystemBackend(tmp_path, inline_max=0, fsync=fsync, direct_writes=fsync)
    await b.start()
    await b.create_bucket("bk")
    await b.put_object("bk", "k", body(b"old"), ObjectMeta())
    for batches in (1, 2, 3, 20):  # 20 batches: past DIRECT_FROM (direct writes, with fsync)
        sent = asyncio.Event()
        stalled = _Stalling([os.urandom(64 * 1024) for _ in range(4 * batches)], sent)
        task = asyncio.create_task(b.put_object("bk", "k", stalled, ObjectMeta()))
        await sent.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert files_under(b.files.tmp_dir) == []
        assert await get(b, "k") == b"old"
    data = os.urandom(3 * 1024 * 1024 + 1)  # whole batches and a tail, written back
    await b.put_object("bk", "k", body(data), ObjectMeta())
    assert await get(b, "k") == data
    await b.close()


@pytest.mark.parametrize(
    "keys",
    [
        ["a", "a/", "a/b"],
        ["caf\u00e9", "cafe\u0301"],  # NFC and NFD forms are different keys
        ["../x", "./x", "a//b", "/abs", "..", "."],
        ["tab\there", "nl\nx", "nul\x00x", "\x7f", "%2F", "a\\b"],
    ],
)
async def test_keys_are_independent_and_never_paths(
    backend: FilesystemBackend, keys: list[str]
) -> None:
    for i, key in enumerate(keys):
        await put(backend, key, str(i).encode())
    for i, key in enumerate(keys):
        assert await get(backend, key) == str(i).encode()
    page = await backend.list_objects("bk")
    assert sorted(o.key for o in page.objects) == sorted(keys)
    root = backend.data_dir
    assert {p.parent.parent.parent for p in files_under(backend.files.objects_dir)} == {
        root / "objects"
    }
    assert not (root.parent / "x").exists()


async def test_long_utf8_key(backend: FilesystemBackend) -> None:
    key = "\U0001f600" * 256  # 1024 bytes
    await put(backend, key, b"1")
    assert (await backend.head_object("bk", key)).key == key


async def test_version_id_only_null(backend: FilesystemBackend) -> None:
    await put(backend, "k", b"1")
    assert (await backend.head_object("bk", "k", version_id="null")).size == 1
    assert await get(backend, "k", version_id="null") == b"1"
    assert await code_of(backend.get_object("bk", "k", version_id="abc")) == "InvalidArgument"
    assert await code_of(backend.delete_object("bk", "k", version_id="abc")) == "InvalidArgument"
    await backend.delete_object("bk", "k", version_id="null")


async def test_delete_objects_batch(backend: FilesystemBackend) -> None:
    await put(backend, "a", b"1")
    await put(backend, "b", b"2")
    results = await backend.delete_objects("bk", [("a", None), ("missing", None), ("b", "v1")])
    assert [(r.key, r.error_code) for r in results] == [
        ("a", None),
        ("missing", None),
        ("b", "InvalidArgument"),
    ]
    assert [o.key for o in (await backend.list_objects("bk")).objects] == ["b"]
    assert await code_of(backend.delete_objects("zz", [("a", None)])) == "NoSuchBucket"


# -- ranges and conditions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rng", "first", "last"),
    [
        (ByteRange(0, 0), 0, 0),
        (ByteRange(2, 5), 2, 5),
        (ByteRange(7, 100), 7, 9),  # clamped
        (ByteRange(3, None), 3, 9),
        (ByteRange(suffix=4), 6, 9),
        (ByteRange(suffix=50), 0, 9),
    ],
)
async def test_ranges(backend: FilesystemBackend, rng: ByteRange, first: int, last: int) -> None:
    await put(backend, "k", b"0123456789")
    read = await backend.get_object("bk", "k", byte_range=rng)
    assert (read.first, read.last, read.partial) == (first, last, True)
    assert await read_all(read) == b"0123456789"[first : last + 1]


async def test_unsatisfiable_ranges_carry_the_size(backend: FilesystemBackend) -> None:
    await put(backend, "k", b"0123456789")
    await put(backend, "empty", b"")
    for key, rng in [
        ("k", ByteRange(10, 20)),
        ("empty", ByteRange(0, 0)),
        ("k", ByteRange(suffix=0)),
    ]:
        with pytest.raises(BackendError) as err:
            await backend.get_object("bk", key, byte_range=rng)
        assert err.value.code == "InvalidRange"
        assert err.value.extra["ActualObjectSize"] == ("10" if key == "k" else "0")


async def test_conditions(backend: FilesystemBackend) -> None:
    info = await backend.put_object("bk", "k", body(b"data"), ObjectMeta())
    past = datetime.now(UTC) - timedelta(days=1)
    future = datetime.now(UTC) + timedelta(days=1)
    ok = [
        Conditions(if_match=(info.etag,)),
        Conditions(if_match=("*",)),
        Conditions(if_none_match=("other",)),
        Conditions(if_modified_since=past),
        Conditions(if_unmodified_since=future),
        Conditions(if_match=(info.etag,), if_unmodified_since=past),  # If-Match wins
    ]
    for cond in ok:
        assert await read_all(await backend.get_object("bk", "k", conditions=cond)) == b"data"
        await backend.head_object("bk", "k", conditions=cond)
    failing = [
        (Conditions(if_match=("other",)), "PreconditionFailed"),
        (Conditions(if_unmodified_since=past), "PreconditionFailed"),
        (Conditions(if_none_match=(info.etag,)), "NotModified"),
        (Conditions(if_modified_since=future), "NotModified"),
    ]
    for cond, code in failing:
        assert await code_of(backend.get_object("bk", "k", conditions=cond)) == code
        assert await code_of(backend.head_object("bk", "k", conditions=cond)) == code


async def test_part_number_on_a_plain_object(backend: FilesystemBackend) -> None:
    await put(backend, "k", b"0123456789")
    read = await backend.get_object("bk", "k", part_number=1)
    assert (read.first, read.last, read.partial) == (0, 9, True)
    assert await read_all(read) == b"0123456789"
    assert await code_of(backend.get_object("bk", "k", part_number=2)) == "InvalidPartNumber"


# -- copy ----------------------------------------------------------------------------------


async def test_copy_keeps_or_replaces_metadata(backend: FilesystemBackend) -> None:
    meta = ObjectMeta(content_type="text/plain", user_metadata={"k": "v"})
    src = await backend.put_object("bk", "src", body(b"payload", checksums={"SHA1": "x"}), meta)
    await backend.create_bucket("other")
    copied = await backend.copy_object(CopySource("bk", "src"), "other", "dst")
    assert copied.etag == src.etag and copied.meta == meta and copied.checksums == {"SHA1": "x"}
    new_meta = ObjectMeta(content_type="image/png")
    replaced = await backend.copy_object(CopySource("bk", "src"), "bk", "dst2", meta=new_meta)
    assert replaced.meta == new_meta
    await backend.delete_object("bk", "src")  # the copies are independent
    assert await read_all(await backend.get_object("other", "dst")) == b"payload"
    assert await read_all(await backend.get_object("bk", "dst2")) == b"payload"


async def test_copy_onto_itself_and_errors(backend: FilesystemBackend) -> None:
    src = await backend.put_object("bk", "k", body(b"abc"), ObjectMeta())
    again = await backend.copy_object(
        CopySource("bk", "k"), "bk", "k", meta=ObjectMeta(content_type="a/b")
    )
    assert again.etag == src.etag and again.meta.content_type == "a/b"
    assert await get(backend, "k") == b"abc"
    assert len(files_under(backend.files.objects_dir)) == 1
    assert await code_of(backend.copy_object(CopySource("bk", "no"), "bk", "x")) == "NoSuchKey"
    assert await code_of(backend.copy_object(CopySource("zz", "k"), "bk", "x")) == "NoSuchBucket"
    assert await code_of(backend.copy_object(CopySource("bk", "k"), "zz", "x")) == "NoSuchBucket"


async def test_copy_source_conditions_fail_as_precondition(backend: FilesystemBackend) -> None:
    src = await backend.put_object("bk", "k", body(b"abc"), ObjectMeta())
    future = datetime.now(UTC) + timedelta(days=1)
    for cond in [
        Conditions(if_match=("nope",)),
        Conditions(if_none_match=(src.etag,)),
        Conditions(if_modified_since=future),
    ]:
        source = CopySource("bk", "k", conditions=cond)
        assert await code_of(backend.copy_object(source, "bk", "x")) == "PreconditionFailed"
    source = CopySource("bk", "k", conditions=Conditions(if_match=(src.etag,)))
    assert (await backend.copy_object(source, "bk", "x")).etag == src.etag


# -- crash recovery and large objects ------------------------------------------------------


async def test_start_removes_temp_and_orphan_files(tmp_path: Path) -> None:
    b = FilesystemBackend(tmp_path, inline_max=0, fsync=False)
    await b.start()
    await b.create_bucket("bk")
    await b.put_object("bk", "kept", body(b"keep me"), ObjectMeta())
    up = await b.create_multipart_upload("bk", "mp", ObjectMeta())
    await b.upload_part("bk", "mp", up.upload_id, 1, body(b"part"))
    await b.close()
    kept = files_under(tmp_path / "objects") + files_under(tmp_path / "parts")
    planted = [
        tmp_path / "tmp" / "half-written",
        tmp_path / "objects" / "ab" / "cd" / "abcd0000orphan",
        tmp_path / "parts" / up.upload_id / "orphanpart",
        tmp_path / "parts" / "deadupload" / "x",
    ]
    for path in planted:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"junk")
    b = FilesystemBackend(tmp_path, inline_max=0, fsync=False)
    await b.start()
    assert files_under(tmp_path / "objects") + files_under(tmp_path / "parts") == kept
    assert files_under(tmp_path / "tmp") == []
    assert not (tmp_path / "parts" / "deadupload").exists()
    assert await read_all(await b.get_object("bk", "kept")) == b"keep me"
    await b.close()


async def test_start_tolerates_missing_directories(tmp_path: Path) -> None:
    b = FilesystemBackend(tmp_path / "does" / "not" / "exist")
    await b.start()
    assert await b.list_buckets() == []
    await b.close()


async def test_second_process_skips_recovery_while_first_runs(tmp_path: Path) -> None:
    first = FilesystemBackend(tmp_path, inline_max=0, fsync=False)
    await first.start()
    in_flight = tmp_path / "tmp" / "other-worker-upload"
    in_flight.write_bytes(b"busy")
    second = FilesystemBackend(tmp_path, inline_max=0, fsync=False)
    await second.start()  # shares the directory: must not delete a sibling's temp file
    assert in_flight.exists()
    await second.close()
    await first.close()


def chunks_of(total: int, size: int = 1 << 20) -> Iterator[bytes]:
    block = b"\xab" * size
    for _ in range(total // size):
        yield block


async def test_large_object_is_streamed_not_buffered(backend: FilesystemBackend) -> None:
    total = 64 * 1024 * 1024
    tracemalloc.start()
    try:
        info = await backend.put_object("bk", "big", Body(chunks_of(total)), ObjectMeta())
        read = await backend.get_object("bk", "big")
        digest = hashlib.md5()
        async for chunk in read.body:
            digest.update(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.size == total
    assert digest.hexdigest() == info.etag
    assert peak < 8 * 1024 * 1024, peak


def open_fds() -> int:
    """How many file descriptors this process holds (Linux's ``/proc``; ``/dev/fd`` on BSDs)."""
    return len(os.listdir("/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"))


async def test_unconsumed_read_can_be_closed(backend: FilesystemBackend) -> None:
    """``aclose`` releases the descriptor of a body nobody read while ``read`` is still
    referenced (so garbage collection cannot be what closed it); twice is harmless."""
    await put(backend, "k", b"x" * 1000)
    await (await backend.get_object("bk", "k")).aclose()  # warm whatever get opens once
    before = open_fds()
    read = await backend.get_object("bk", "k")
    assert open_fds() == before + 1  # the body holds one descriptor: the count sees it
    await read.aclose()
    assert open_fds() == before
    await read.aclose()
    assert open_fds() == before


async def test_concurrent_overwrites_leave_one_object_and_one_file(
    backend: FilesystemBackend,
) -> None:
    payloads = [bytes([i]) * (70_000 * (i % 3 + 1)) for i in range(20)]
    await asyncio.gather(*(backend.put_object("bk", "k", body(p), ObjectMeta()) for p in payloads))
    assert await get(backend, "k") in payloads
    assert len(files_under(backend.files.objects_dir)) == 1
    backend.files.trash.wait()  # the replaced files go to tmp/, unlinked in the background
    assert files_under(backend.files.tmp_dir) == []
    await backend.delete_objects("bk", [("k", None)])
    assert files_under(backend.files.objects_dir) == []


async def test_a_copy_whose_source_data_is_gone_is_the_servers_fault(
    backend: FilesystemBackend,
) -> None:
    """A copy reads its source again when the source's file went (replaced meanwhile);
    reading the same row again with its file still gone is no replacement but a missing
    file: 500 ``InternalError`` at the second look, not five looks and a 409
    ``OperationAborted`` (which is for a source replaced under every attempt)."""
    await put(backend, "src", b"s" * 70_000)
    backend.files.object_path(backend.find("bk", "src").data_id).unlink()
    with pytest.raises(BackendError) as copy:
        await backend.copy_object(CopySource("bk", "src"), "bk", "dst")
    assert (copy.value.code, copy.value.message) == ("InternalError", "object data file is missing")
    upload = await backend.create_multipart_upload("bk", "mp", ObjectMeta())
    with pytest.raises(BackendError) as part:
        await backend.upload_part_copy(CopySource("bk", "src"), "bk", "mp", upload.upload_id, 1)
    assert (part.value.code, part.value.message) == ("InternalError", "object data file is missing")
