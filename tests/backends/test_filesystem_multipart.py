"""Multipart uploads on the filesystem backend."""

from __future__ import annotations

import asyncio
import base64
import errno
import hashlib
import os
import zlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from backends.checksums import composite_value
from backends.errors import BackendError
from backends.filesystem import FilesystemBackend, file_ops
from backends.filesystem.migrations import SCHEMA_VERSION
from backends.types import (
    BucketEncryption,
    ByteRange,
    CompletionChecksums,
    CopySource,
    ObjectLock,
    ObjectMeta,
    WriteCondition,
)
from tests.backends.fs_helpers import Body, body, read_all, stored_data

MIN = 1024


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[FilesystemBackend]:
    b = FilesystemBackend(tmp_path, fsync=False, min_part_size=MIN)
    await b.start()
    await b.create_bucket("bk")
    yield b
    await b.close()


async def code_of(coro: object) -> str:
    with pytest.raises(BackendError) as err:
        await coro  # type: ignore[misc]
    return err.value.code


def part_files(b: FilesystemBackend) -> list[Path]:
    return [p for p in b.files.parts_dir.rglob("*") if p.is_file()]


async def test_end_to_end_with_part_replacement(backend: FilesystemBackend) -> None:
    meta = ObjectMeta(content_type="text/csv", user_metadata={"m": "1"})
    up = await backend.create_multipart_upload("bk", "obj", meta)
    one = b"1" * MIN
    two = b"2" * MIN
    p1 = await backend.upload_part("bk", "obj", up.upload_id, 1, body(b"stale" * 300))
    p1 = await backend.upload_part("bk", "obj", up.upload_id, 1, body(one))  # replaces
    p2 = await backend.upload_part("bk", "obj", up.upload_id, 2, body(two))
    p3 = await backend.upload_part("bk", "obj", up.upload_id, 3, body(b"end"))
    assert p1.etag == hashlib.md5(one).hexdigest() and p1.size == MIN
    assert len(part_files(backend)) == 3
    info = await backend.complete_multipart_upload(
        "bk", "obj", up.upload_id, [(1, p1.etag), (2, f'"{p2.etag}"'), (3, p3.etag)]
    )
    expected = hashlib.md5(
        hashlib.md5(one).digest() + hashlib.md5(two).digest() + hashlib.md5(b"end").digest()
    ).hexdigest()
    assert info.etag == f"{expected}-3" and info.parts_count == 3
    assert info.size == 2 * MIN + 3 and info.meta == meta
    head = await backend.head_object("bk", "obj")
    assert head.etag == info.etag and head.parts_count == 3
    assert await read_all(await backend.get_object("bk", "obj")) == one + two + b"end"
    read = await backend.get_object("bk", "obj", part_number=2)
    assert (read.first, read.last, read.partial) == (MIN, 2 * MIN - 1, True)
    assert await read_all(read) == two
    assert await code_of(backend.get_object("bk", "obj", part_number=4)) == "InvalidPartNumber"
    assert part_files(backend) == [] and list(backend.files.parts_dir.iterdir()) == []
    assert (await backend.list_multipart_uploads("bk")).uploads == ()
    again = backend.complete_multipart_upload("bk", "obj", up.upload_id, [(1, p1.etag)])
    assert await code_of(again) == "NoSuchUpload"


async def test_completion_may_skip_part_numbers(backend: FilesystemBackend) -> None:
    up = await backend.create_multipart_upload("bk", "o", ObjectMeta())
    p2 = await backend.upload_part("bk", "o", up.upload_id, 2, body(b"a" * MIN))
    p5 = await backend.upload_part("bk", "o", up.upload_id, 5, body(b"b"))
    await backend.upload_part("bk", "o", up.upload_id, 7, body(b"unused"))
    info = await backend.complete_multipart_upload(
        "bk", "o", up.upload_id, [(2, p2.etag), (5, p5.etag)]
    )
    assert info.parts_count == 2 and info.size == MIN + 1
    assert await read_all(await backend.get_object("bk", "o", part_number=5)) == b"b"
    assert await code_of(backend.get_object("bk", "o", part_number=1)) == "InvalidPartNumber"


async def test_completion_errors(backend: FilesystemBackend) -> None:
    up = await backend.create_multipart_upload("bk", "o", ObjectMeta())
    small = await backend.upload_part("bk", "o", up.upload_id, 1, body(b"tiny"))
    big = await backend.upload_part("bk", "o", up.upload_id, 2, body(b"x" * MIN))
    cases = [
        ([(2, big.etag), (1, small.etag)], "InvalidPartOrder"),
        ([(1, small.etag), (1, small.etag)], "InvalidPartOrder"),
        ([(1, small.etag), (3, big.etag)], "InvalidPart"),
        ([(1, "0" * 32), (2, big.etag)], "InvalidPart"),
        ([(1, small.etag), (2, big.etag)], "EntityTooSmall"),
        ([], "MalformedXML"),
    ]
    for listed, code in cases:
        got = await code_of(backend.complete_multipart_upload("bk", "o", up.upload_id, listed))
        assert got == code, listed
    # a small *last* part is fine, and failures left the upload usable
    info = await backend.complete_multipart_upload("bk", "o", up.upload_id, [(2, big.etag)])
    assert info.size == MIN
    wrong_key = backend.complete_multipart_upload("bk", "other", "nope", [(1, big.etag)])
    assert await code_of(wrong_key) == "NoSuchUpload"


async def test_unknown_upload_and_bucket(backend: FilesystemBackend) -> None:
    up = await backend.create_multipart_upload("bk", "o", ObjectMeta())
    assert await code_of(backend.upload_part("bk", "o", "nope", 1, body(b"x"))) == "NoSuchUpload"
    assert await code_of(backend.upload_part("bk", "x", up.upload_id, 1, body(b"x"))) == (
        "NoSuchUpload"
    )
    assert await code_of(backend.upload_part("zz", "o", up.upload_id, 1, body(b"x"))) == (
        "NoSuchBucket"
    )
    assert await code_of(backend.abort_multipart_upload("bk", "o", "nope")) == "NoSuchUpload"
    assert await code_of(backend.list_parts("bk", "o", "nope")) == "NoSuchUpload"
    assert await code_of(backend.create_multipart_upload("zz", "o", ObjectMeta())) == (
        "NoSuchBucket"
    )


async def test_abort_removes_parts_and_files(backend: FilesystemBackend) -> None:
    up = await backend.create_multipart_upload("bk", "o", ObjectMeta())
    await backend.upload_part("bk", "o", up.upload_id, 1, body(b"x" * 5000))
    await backend.abort_multipart_upload("bk", "o", up.upload_id)
    assert not backend.files.upload_dir(up.upload_id).exists()
    assert await code_of(backend.abort_multipart_upload("bk", "o", up.upload_id)) == "NoSuchUpload"
    late = backend.upload_part("bk", "o", up.upload_id, 2, body(b"late"))
    assert await code_of(late) == "NoSuchUpload"
    assert list(backend.files.tmp_dir.iterdir()) == []


async def test_failing_part_body_keeps_previous_part(backend: FilesystemBackend) -> None:
    up = await backend.create_multipart_upload("bk", "o", ObjectMeta())
    await backend.upload_part("bk", "o", up.upload_id, 1, body(b"good"))
    with pytest.raises(RuntimeError):
        await backend.upload_part("bk", "o", up.upload_id, 1, Body([b"b", b"a"], fail_after=1))
    bad_md5 = hashlib.md5(b"other").digest()
    failing = backend.upload_part("bk", "o", up.upload_id, 1, body(b"bad"), content_md5=bad_md5)
    assert await code_of(failing) == "BadDigest"
    page = await backend.list_parts("bk", "o", up.upload_id)
    assert [(p.part_number, p.etag) for p in page.parts] == [(1, hashlib.md5(b"good").hexdigest())]
    assert len(part_files(backend)) == 1 and list(backend.files.tmp_dir.iterdir()) == []


async def test_list_parts_pagination(backend: FilesystemBackend) -> None:
    up = await backend.create_multipart_upload("bk", "o", ObjectMeta())
    for n in (1, 2, 3, 5, 8):
        await backend.upload_part("bk", "o", up.upload_id, n, body(bytes([n])))
    page = await backend.list_parts("bk", "o", up.upload_id, max_parts=2)
    assert [p.part_number for p in page.parts] == [1, 2]
    assert page.is_truncated and page.next_part_number_marker == 2
    assert page.upload.upload_id == up.upload_id and page.upload.key == "o"
    page = await backend.list_parts("bk", "o", up.upload_id, part_number_marker=2, max_parts=3)
    assert [p.part_number for p in page.parts] == [3, 5, 8] and not page.is_truncated


async def test_list_multipart_uploads(backend: FilesystemBackend) -> None:
    ids: dict[str, list[str]] = {}
    for key in ["b", "a/1", "a/2", "c", "b"]:
        up = await backend.create_multipart_upload("bk", key, ObjectMeta())
        ids.setdefault(key, []).append(up.upload_id)
    page = await backend.list_multipart_uploads("bk")
    assert [u.key for u in page.uploads] == ["a/1", "a/2", "b", "b", "c"]
    assert [u.upload_id for u in page.uploads if u.key == "b"] == ids["b"]  # initiation order
    page = await backend.list_multipart_uploads("bk", delimiter="/", max_uploads=2)
    assert page.common_prefixes == ("a/",) and [u.key for u in page.uploads] == ["b"]
    assert page.is_truncated
    assert (page.next_key_marker, page.next_upload_id_marker) == ("b", ids["b"][0])
    page = await backend.list_multipart_uploads(
        "bk", delimiter="/", key_marker="b", upload_id_marker=ids["b"][0]
    )
    assert [u.upload_id for u in page.uploads] == [ids["b"][1], ids["c"][0]]
    assert not page.is_truncated
    page = await backend.list_multipart_uploads("bk", key_marker="b")
    assert [u.key for u in page.uploads] == ["c"]
    page = await backend.list_multipart_uploads("bk", prefix="a/")
    assert [u.key for u in page.uploads] == ["a/1", "a/2"]
    assert await code_of(backend.list_multipart_uploads("zz")) == "NoSuchBucket"


async def test_upload_part_copy(backend: FilesystemBackend) -> None:
    src = b"".join(bytes([i]) * 100 for i in range(30))  # 3000 bytes
    await backend.put_object("bk", "src", body(src), ObjectMeta())
    up = await backend.create_multipart_upload("bk", "dst", ObjectMeta())
    p1 = await backend.upload_part_copy(
        CopySource("bk", "src", byte_range=(0, MIN - 1)), "bk", "dst", up.upload_id, 1
    )
    assert p1.size == MIN and p1.etag == hashlib.md5(src[:MIN]).hexdigest()
    p2 = await backend.upload_part_copy(CopySource("bk", "src"), "bk", "dst", up.upload_id, 2)
    assert p2.size == len(src)
    for bad in [(0, 3000), (5, 4), (3000, 3001)]:
        source = CopySource("bk", "src", byte_range=bad)
        got = await code_of(backend.upload_part_copy(source, "bk", "dst", up.upload_id, 3))
        assert got == "InvalidArgument"  # S3: 400, never a GET's 416
    missing = CopySource("bk", "nope")
    assert await code_of(backend.upload_part_copy(missing, "bk", "dst", up.upload_id, 3)) == (
        "NoSuchKey"
    )
    info = await backend.complete_multipart_upload(
        "bk", "dst", up.upload_id, [(1, p1.etag), (2, p2.etag)]
    )
    read = await backend.get_object("bk", "dst", byte_range=ByteRange(MIN - 1, MIN))
    assert await read_all(read) == src[MIN - 1 : MIN] + src[:1]
    assert info.size == MIN + len(src)


async def test_copy_of_multipart_object_keeps_etag_and_parts(backend: FilesystemBackend) -> None:
    up = await backend.create_multipart_upload("bk", "o", ObjectMeta())
    p1 = await backend.upload_part("bk", "o", up.upload_id, 1, body(b"a" * MIN))
    p2 = await backend.upload_part("bk", "o", up.upload_id, 2, body(b"b"))
    info = await backend.complete_multipart_upload(
        "bk", "o", up.upload_id, [(1, p1.etag), (2, p2.etag)]
    )
    copy = await backend.copy_object(CopySource("bk", "o"), "bk", "o2")
    assert copy.etag == info.etag and copy.parts_count == 2


async def test_composite_checksum_is_recorded(backend: FilesystemBackend) -> None:
    up = await backend.create_multipart_upload("bk", "o", ObjectMeta(), checksum_algorithm="SHA256")
    sums = [base64.b64encode(hashlib.sha256(d).digest()).decode() for d in (b"a" * MIN, b"b")]
    p1 = await backend.upload_part(
        "bk",
        "o",
        up.upload_id,
        1,
        body(b"a" * MIN, checksums={"SHA256": sums[0]}),
        checksum_algorithm="SHA256",
    )
    p2 = await backend.upload_part(
        "bk",
        "o",
        up.upload_id,
        2,
        body(b"b", checksums={"SHA256": sums[1]}),
        checksum_algorithm="SHA256",
    )
    assert p1.checksums == {"SHA256": sums[0]}
    listed = CompletionChecksums(parts={1: {"SHA256": sums[0]}, 2: {"SHA256": sums[1]}})
    info = await backend.complete_multipart_upload(
        "bk", "o", up.upload_id, [(1, p1.etag), (2, p2.etag)], checksums=listed
    )
    assert info.checksums == {"SHA256": composite_value("SHA256", sums)}
    assert info.checksums["SHA256"].endswith("-2")


async def test_upload_part_copy_gets_the_uploads_checksum(backend: FilesystemBackend) -> None:
    """S3 computes the upload's checksum of a copied part, so a FULL_OBJECT completion
    combines copied and uploaded parts alike."""
    source = b"s" * (2 * MIN)
    await backend.put_object("bk", "src", body(source), ObjectMeta())
    up = await backend.create_multipart_upload(
        "bk", "o", ObjectMeta(), checksum_algorithm="CRC32", checksum_type="FULL_OBJECT"
    )
    copied = await backend.upload_part_copy(
        CopySource("bk", "src", byte_range=(0, MIN - 1)), "bk", "o", up.upload_id, 1
    )
    assert dict(copied.checksums) == {"CRC32": crc32(source[:MIN])}
    tail = await backend.upload_part(
        "bk",
        "o",
        up.upload_id,
        2,
        body(b"tail", checksums={"CRC32": crc32(b"tail")}),
        checksum_algorithm="CRC32",
    )
    info = await backend.complete_multipart_upload(
        "bk", "o", up.upload_id, [(1, copied.etag), (2, tail.etag)]
    )
    assert dict(info.checksums) == {"CRC32": crc32(source[:MIN] + b"tail")}
    attrs = await backend.get_object_attributes("bk", "o")
    assert [dict(p.checksums) for p in attrs.parts] == [copied.checksums, tail.checksums]


async def test_uploads_from_before_the_type_column_get_the_default(
    backend: FilesystemBackend,
) -> None:
    up = await backend.create_multipart_upload("bk", "o", ObjectMeta(), checksum_algorithm="CRC32C")
    with backend.db.write() as conn:  # as a schema-v1 database left it
        conn.execute("UPDATE uploads SET checksum_type = NULL")
    page = await backend.list_parts("bk", "o", up.upload_id)
    assert (page.upload.checksum_algorithm, page.upload.checksum_type) == ("CRC32C", "COMPOSITE")
    assert backend.db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_a_conditional_put_lost_in_a_group_commit_leaves_no_file(
    backend: FilesystemBackend,
) -> None:
    """Conditional PUTs committed in one group: the first row wins, the others fail with
    ConditionalRequestConflict and nothing of their bodies is kept (inline here)."""
    create = WriteCondition(if_none_match=True)
    results = await asyncio.gather(
        *(
            backend.put_object("bk", "k", body(bytes([i]) * 10), ObjectMeta(), condition=create)
            for i in range(8)
        ),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    assert len(won) == 1
    codes = {getattr(r, "code", None) for r in results if isinstance(r, BaseException)}
    assert codes <= {"PreconditionFailed", "ConditionalRequestConflict"}
    assert len(stored_data(backend)) == 1


async def test_upload_part_copy_takes_at_most_a_parts_worth(backend: FilesystemBackend) -> None:
    backend.max_part_copy = 100  # 5 GiB in production: S3's largest part
    await backend.put_object("bk", "src", body(b"x" * 150), ObjectMeta())
    up = await backend.create_multipart_upload("bk", "o", ObjectMeta())
    whole = backend.upload_part_copy(CopySource("bk", "src"), "bk", "o", up.upload_id, 1)
    assert await code_of(whole) == "InvalidRequest"
    ranged = CopySource("bk", "src", byte_range=(0, 99))
    part = await backend.upload_part_copy(ranged, "bk", "o", up.upload_id, 1)
    assert part.size == 100


async def test_copy_object_takes_at_most_a_parts_worth(backend: FilesystemBackend) -> None:
    """S3 copies at most 5 GiB in one CopyObject (more takes UploadPartCopy); the
    gateway copied a source of any size, as one request."""
    backend.max_part_copy = 100  # 5 GiB in production
    await backend.put_object("bk", "src", body(b"x" * 101), ObjectMeta())
    await backend.put_object("bk", "dst", body(b"old"), ObjectMeta())
    assert await code_of(backend.copy_object(CopySource("bk", "src"), "bk", "dst")) == (
        "InvalidRequest"
    )
    assert await read_all(await backend.get_object("bk", "dst")) == b"old"
    await backend.put_object("bk", "src", body(b"x" * 100), ObjectMeta())
    assert (await backend.copy_object(CopySource("bk", "src"), "bk", "dst")).size == 100


async def test_completion_makes_at_most_s3s_largest_object(backend: FilesystemBackend) -> None:
    """10,000 parts of 5 GiB are 48.8 TiB; S3's largest object is 5 TiB, and a
    completion past it is ``EntityTooLarge``, the upload kept."""
    backend.mp.max_object_size = 2 * MIN + 1  # 5 TiB in production
    await backend.put_object("bk", "o", body(b"old"), ObjectMeta())
    up = await backend.create_multipart_upload("bk", "o", ObjectMeta())
    parts = [
        (n, (await backend.upload_part("bk", "o", up.upload_id, n, body(b"p" * MIN))).etag)
        for n in (1, 2, 3)
    ]
    with pytest.raises(BackendError) as err:
        await backend.complete_multipart_upload("bk", "o", up.upload_id, parts)
    assert err.value.code == "EntityTooLarge"
    assert err.value.extra["MaxSizeAllowed"] == str(2 * MIN + 1)
    assert await read_all(await backend.get_object("bk", "o")) == b"old"
    done = await backend.complete_multipart_upload("bk", "o", up.upload_id, parts[:2])
    assert done.size == 2 * MIN


def _stops_short(limit: int) -> Callable[[int, int, int], int]:
    """A ``copy_file_range`` of a file system that copies at most ``limit`` bytes of a
    file, then answers 0 bytes copied instead of an error (the kernel's own copy does the
    copying up to there)."""
    copied: dict[int, int] = {}
    real = os.copy_file_range

    def copy(src: int, out: int, count: int) -> int:
        room = limit - copied.get(src, 0)
        if room <= 0:
            return 0
        n = real(src, out, min(count, room))
        copied[src] = copied.get(src, 0) + n
        return n

    return copy


def _refuses(src: int, out: int, count: int) -> int:
    raise OSError(errno.EXDEV, "cross-device copy")


@pytest.mark.parametrize(
    "copy",
    [_stops_short(0), _stops_short(70_000), _refuses],
    ids=["zero-at-once", "zero-part-way", "exdev"],
)
async def test_a_kernel_copy_that_stops_short_leaves_no_object_short(
    backend: FilesystemBackend, monkeypatch: pytest.MonkeyPatch, copy: Any
) -> None:
    """Completion appends the parts with ``copy_file_range``; a file system that answers
    0 bytes copied before a part's end (or refuses) must not end the part there: the
    rest is read and written, and the object is every part's bytes."""
    monkeypatch.setattr(file_ops, "_copy_file_range", copy)
    up = await backend.create_multipart_upload("bk", "big", ObjectMeta())
    parts = [bytes([65 + n]) * 200_000 for n in range(3)]
    done = []
    for number, data in enumerate(parts, 1):
        part = await backend.upload_part("bk", "big", up.upload_id, number, body(data))
        done.append((number, part.etag))
    info = await backend.complete_multipart_upload("bk", "big", up.upload_id, done)
    assert info.size == 600_000
    assert await read_all(await backend.get_object("bk", "big")) == b"".join(parts)


async def test_a_completion_beside_another_of_its_upload_is_answered_as_a_retry(
    backend: FilesystemBackend,
) -> None:
    """Two completions of one upload, both past their checks (each joining the parts in
    its thread): the one that commits second finds the upload gone and answers the
    object the first made, marked ``retried``, so the gateway writes its ownership row
    once (``gateway.s3.multipart``). Unmarked, the second wrote it again over any ACL the
    object was given in between."""
    up = await backend.create_multipart_upload("bk", "twice", ObjectMeta())
    parts = []
    for number, data in ((1, b"a" * MIN), (2, b"tail")):
        part = await backend.upload_part("bk", "twice", up.upload_id, number, body(data))
        parts.append((number, part.etag))
    both = await asyncio.gather(
        backend.complete_multipart_upload("bk", "twice", up.upload_id, parts),
        backend.complete_multipart_upload("bk", "twice", up.upload_id, parts),
    )
    assert both[0].etag == both[1].etag and both[0].version_id == both[1].version_id
    assert sorted(done.retried for done in both) == [False, True]
    again = await backend.complete_multipart_upload("bk", "twice", up.upload_id, parts)
    assert again.retried and again.etag == both[0].etag
    assert await read_all(await backend.get_object("bk", "twice")) == b"a" * MIN + b"tail"


async def test_create_reads_its_buckets_settings_as_a_put_does(tmp_path: Path) -> None:
    """CreateMultipartUpload looks at its bucket once, as PutObject does
    (``FilesystemBackend.write_settings``): lock settings need a bucket with Object Lock,
    the bucket's default encryption is the upload's when the request names none, and a
    bucket gone is ``NoSuchBucket``; a refused upload leaves no row."""
    b = FilesystemBackend(tmp_path, fsync=False, min_part_size=MIN, sse_key=bytes(range(32)))
    await b.start()
    try:
        await b.create_bucket("plain")
        await b.create_bucket("worm", object_lock=True)
        lock = ObjectLock(mode="GOVERNANCE", retain_until=datetime(2100, 1, 1, tzinfo=UTC))
        refused = b.create_multipart_upload("plain", "k", ObjectMeta(), object_lock=lock)
        assert await code_of(refused) == "InvalidRequest"
        assert (await b.list_multipart_uploads("plain")).uploads == ()
        kept = await b.create_multipart_upload("worm", "k", ObjectMeta(), object_lock=lock)
        assert kept.meta.server_side_encryption is None
        await b.put_bucket_encryption("plain", BucketEncryption())
        sealed = await b.create_multipart_upload("plain", "k", ObjectMeta())
        assert sealed.meta.server_side_encryption == "AES256"
        part = await b.upload_part("plain", "k", sealed.upload_id, 1, body(b"secret bytes"))
        done = await b.complete_multipart_upload("plain", "k", sealed.upload_id, [(1, part.etag)])
        assert done.meta.server_side_encryption == "AES256"
        assert await read_all(await b.get_object("plain", "k")) == b"secret bytes"
        await b.create_bucket("brief")
        await b.delete_bucket("brief")
        gone = b.create_multipart_upload("brief", "k", ObjectMeta())
        assert await code_of(gone) == "NoSuchBucket"
    finally:
        await b.close()


async def test_create_makes_its_upload_only_in_the_bucket_it_read(
    backend: FilesystemBackend,
) -> None:
    """CreateMultipartUpload reads its bucket's settings, then inserts the upload: the
    insert names the bucket incarnation it read (``created_at``), so a bucket deleted
    and made again under the name in between (by another worker) gets no upload that
    was decided, and read, for the old one; its own uploads are made as usual."""
    _, made = backend.write_settings("bk", None)
    await backend.delete_bucket("bk")
    await backend.create_bucket("bk")
    with pytest.raises(BackendError) as refused:
        backend.mp.create("bk", "k", ObjectMeta(), checksum_algorithm=None, incarnation=made)
    assert refused.value.code == "NoSuchBucket"
    assert (await backend.list_multipart_uploads("bk")).uploads == ()
    _, current = backend.write_settings("bk", None)
    assert current != made
    fresh = backend.mp.create("bk", "k", ObjectMeta(), checksum_algorithm=None, incarnation=current)
    assert (await backend.list_multipart_uploads("bk")).uploads[0].upload_id == fresh.upload_id
