"""Small objects kept in the metadata database (``backends/filesystem/inline.py``):
where their bytes go (encrypted ones as ciphertext), that every way of reading, copying,
replacing and deleting them finds or releases those bytes, and that bodies which must
have a file still get one."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backends.errors import BackendError
from backends.filesystem import FilesystemBackend
from backends.filesystem.inline import is_inline
from backends.types import ByteRange, CopySource, CustomerKey, Encryption, ObjectMeta
from tests.backends.fs_helpers import body, read_all, stored_bytes, stored_data

LIMIT = 1000
"""The backends here keep bodies up to this many bytes inline (64 KiB by default)."""


@pytest.fixture
async def fs(tmp_path: Path) -> AsyncIterator[FilesystemBackend]:
    b = FilesystemBackend(tmp_path, fsync=True, inline_max=LIMIT, sse_key=bytes(range(32)))
    await b.start()
    await b.create_bucket("bk")
    yield b
    await b.close()


def data_files(fs: FilesystemBackend) -> list[Path]:
    return [p for p in fs.files.objects_dir.rglob("*") if p.is_file()]


def inline_rows(fs: FilesystemBackend) -> int:
    return int(fs.db.conn.execute("SELECT count(*) FROM inline_data").fetchone()[0])


async def get(fs: FilesystemBackend, key: str, **kwargs: object) -> bytes:
    return await read_all(await fs.get_object("bk", key, **kwargs))  # type: ignore[arg-type]


async def test_a_small_plain_body_has_no_file_and_reads_back(fs: FilesystemBackend) -> None:
    data = b"small and plain"
    info = await fs.put_object("bk", "k", body(data), ObjectMeta(content_type="text/plain"))
    assert info.etag == hashlib.md5(data).hexdigest()
    assert data_files(fs) == []
    assert is_inline(fs.find("bk", "k").data_id)
    assert stored_data(fs) == [data]
    assert await get(fs, "k") == data
    head = await fs.head_object("bk", "k")
    assert (head.size, head.etag, head.meta.content_type) == (len(data), info.etag, "text/plain")
    read = await fs.get_object("bk", "k")
    assert read.fileno() is None  # no file to sendfile from
    await read.aclose()


async def test_ranges_and_the_empty_object(fs: FilesystemBackend) -> None:
    await fs.put_object("bk", "k", body(b"0123456789"), ObjectMeta())
    read = await fs.get_object("bk", "k", byte_range=ByteRange(2, 5))
    assert (read.first, read.last, read.partial) == (2, 5, True)
    assert await read_all(read) == b"2345"
    assert await get(fs, "k", byte_range=ByteRange(suffix=3)) == b"789"
    assert await get(fs, "k", part_number=1) == b"0123456789"
    await fs.put_object("bk", "empty", body(b""), ObjectMeta())
    assert await get(fs, "empty") == b""
    assert is_inline(fs.find("bk", "empty").data_id)


async def test_the_limit_is_inclusive_and_larger_bodies_get_a_file(fs: FilesystemBackend) -> None:
    await fs.put_object("bk", "at", body(b"a" * LIMIT, chunk=300), ObjectMeta())
    await fs.put_object("bk", "past", body(b"b" * (LIMIT + 1), chunk=300), ObjectMeta())
    assert is_inline(fs.find("bk", "at").data_id)
    assert not is_inline(fs.find("bk", "past").data_id)
    assert [p.read_bytes() for p in data_files(fs)] == [b"b" * (LIMIT + 1)]
    assert await get(fs, "at") == b"a" * LIMIT
    assert await get(fs, "past") == b"b" * (LIMIT + 1)


async def test_zero_keeps_every_body_in_a_file(tmp_path: Path) -> None:
    b = FilesystemBackend(tmp_path, fsync=False, inline_max=0)
    await b.start()
    try:
        await b.create_bucket("bk")
        await b.put_object("bk", "k", body(b"x"), ObjectMeta())
        await b.put_object("bk", "empty", body(b""), ObjectMeta())
        assert not any(is_inline(b.find("bk", k).data_id) for k in ("k", "empty"))
        assert inline_rows(b) == 0
    finally:
        await b.close()


def customer(key: bytes) -> CustomerKey:
    return CustomerKey(key=key, key_md5=base64.b64encode(hashlib.md5(key).digest()).decode())


async def test_an_encrypted_body_is_kept_as_ciphertext(fs: FilesystemBackend) -> None:
    secret = b"payroll " * 100
    info = await fs.put_object(
        "bk", "k", body(secret), ObjectMeta(), encryption=Encryption(algorithm="AES256")
    )
    assert info.meta.server_side_encryption == "AES256"
    assert info.etag == hashlib.md5(secret).hexdigest()
    assert is_inline(fs.find("bk", "k").data_id)
    assert data_files(fs) == []
    assert secret[:16] not in stored_bytes(fs, "bk", "k")
    assert await get(fs, "k") == secret
    assert await get(fs, "k", byte_range=ByteRange(8, 15)) == b"payroll "
    await fs.put_object(
        "bk", "e", body(b""), ObjectMeta(), encryption=Encryption(algorithm="AES256")
    )
    assert await get(fs, "e") == b""


async def test_a_customer_key_opens_its_inline_object_and_no_other(fs: FilesystemBackend) -> None:
    mine, other = customer(os.urandom(32)), customer(os.urandom(32))
    await fs.put_object(
        "bk", "c", body(b"mine"), ObjectMeta(), encryption=Encryption(customer=mine)
    )
    assert is_inline(fs.find("bk", "c").data_id)
    assert b"mine" not in stored_bytes(fs, "bk", "c")
    assert await get(fs, "c", encryption=Encryption(customer=mine)) == b"mine"
    with pytest.raises(BackendError) as caught:
        await fs.get_object("bk", "c", encryption=Encryption(customer=other))
    assert caught.value.code == "AccessDenied"
    copied = await fs.copy_object(
        CopySource("bk", "c"), "bk", "plain", encryption=Encryption(copy_source_customer=mine)
    )
    assert copied.meta.sse_customer_algorithm is None
    assert await get(fs, "plain") == b"mine"


async def test_replacing_and_deleting_release_the_bytes(fs: FilesystemBackend) -> None:
    await fs.put_object("bk", "k", body(b"first"), ObjectMeta())
    await fs.put_object("bk", "k", body(b"second"), ObjectMeta())
    assert stored_data(fs) == [b"second"]
    await fs.put_object("bk", "k", body(b"L" * (LIMIT + 1)), ObjectMeta())  # inline -> file
    assert stored_data(fs) == [b"L" * (LIMIT + 1)]
    await fs.put_object("bk", "k", body(b"small again"), ObjectMeta())  # file -> inline
    assert stored_data(fs) == [b"small again"]
    assert data_files(fs) == []
    await fs.delete_object("bk", "k")
    assert stored_data(fs) == []
    with pytest.raises(BackendError) as caught:
        await fs.get_object("bk", "k")
    assert caught.value.code == "NoSuchKey"


async def test_a_bad_digest_keeps_the_old_object_and_stores_nothing(fs: FilesystemBackend) -> None:
    await fs.put_object("bk", "k", body(b"old"), ObjectMeta())
    with pytest.raises(BackendError) as caught:
        await fs.put_object(
            "bk", "k", body(b"new"), ObjectMeta(), content_md5=hashlib.md5(b"other").digest()
        )
    assert caught.value.code == "BadDigest"
    assert await get(fs, "k") == b"old"
    assert stored_data(fs) == [b"old"]
    assert list(fs.files.tmp_dir.iterdir()) == []


async def test_versions_keep_their_bytes_until_removed(fs: FilesystemBackend) -> None:
    await fs.put_bucket_versioning("bk", "Enabled")
    v1 = (await fs.put_object("bk", "k", body(b"one"), ObjectMeta())).version_id
    v2 = (await fs.put_object("bk", "k", body(b"two"), ObjectMeta())).version_id
    assert v1 and v2
    marker = await fs.delete_object("bk", "k")  # a delete marker: both versions stay
    assert marker.delete_marker
    assert stored_data(fs) == [b"one", b"two"]
    assert await get(fs, "k", version_id=v1) == b"one"
    await fs.delete_object("bk", "k", version_id=v2)
    assert stored_data(fs) == [b"one"]
    await fs.delete_object("bk", "k", version_id=marker.delete_marker_version_id)  # v1 again
    assert await get(fs, "k") == b"one"
    await fs.delete_object("bk", "k", version_id=v1)
    assert stored_data(fs) == []


async def test_a_suspended_bucket_replaces_the_null_version(fs: FilesystemBackend) -> None:
    await fs.put_bucket_versioning("bk", "Enabled")
    await fs.put_object("bk", "k", body(b"kept"), ObjectMeta())
    await fs.put_bucket_versioning("bk", "Suspended")
    await fs.put_object("bk", "k", body(b"null 1"), ObjectMeta())
    await fs.put_object("bk", "k", body(b"null 2"), ObjectMeta())
    assert stored_data(fs) == [b"kept", b"null 2"]


async def test_copies_of_an_inline_object(fs: FilesystemBackend) -> None:
    data = b"copy me"
    src = await fs.put_object("bk", "src", body(data), ObjectMeta())
    plain = await fs.copy_object(CopySource("bk", "src"), "bk", "plain")
    assert plain.etag == src.etag
    assert is_inline(fs.find("bk", "plain").data_id)
    sealed = await fs.copy_object(
        CopySource("bk", "src"), "bk", "sealed", encryption=Encryption(algorithm="AES256")
    )
    assert sealed.etag == src.etag  # SSE-S3 keeps the MD5 ETag
    assert data not in stored_bytes(fs, "bk", "sealed")
    fs.inline_max = 0  # a copy where inline objects are no longer made: a file
    filed = await fs.copy_object(CopySource("bk", "src"), "bk", "filed")
    assert filed.etag == src.etag
    assert not is_inline(fs.find("bk", "filed").data_id)
    for key in ("plain", "sealed", "filed"):
        assert await get(fs, key) == data
    await fs.delete_object("bk", "src")
    assert await get(fs, "plain") == data  # its own bytes, not the source's


async def test_upload_part_copy_from_an_inline_object(tmp_path: Path) -> None:
    fs = FilesystemBackend(tmp_path, fsync=False, inline_max=LIMIT, min_part_size=1)
    await fs.start()
    try:
        await fs.create_bucket("bk")
        await _part_copies(fs)
    finally:
        await fs.close()


async def _part_copies(fs: FilesystemBackend) -> None:
    await fs.put_object("bk", "src", body(b"0123456789"), ObjectMeta())
    up = await fs.create_multipart_upload("bk", "mp", ObjectMeta())
    ranged = CopySource("bk", "src", byte_range=(2, 5))
    p1 = await fs.upload_part_copy(ranged, "bk", "mp", up.upload_id, 1)
    p2 = await fs.upload_part_copy(CopySource("bk", "src"), "bk", "mp", up.upload_id, 2)
    await fs.complete_multipart_upload("bk", "mp", up.upload_id, [(1, p1.etag), (2, p2.etag)])
    assert await get(fs, "mp") == b"2345" + b"0123456789"


async def test_the_bytes_survive_a_restart(tmp_path: Path) -> None:
    b = FilesystemBackend(tmp_path, fsync=True)
    await b.start()
    await b.create_bucket("bk")
    await b.put_object("bk", "k", body(b"durable"), ObjectMeta())
    await b.close()
    b = FilesystemBackend(tmp_path, fsync=True)
    await b.start()  # recovery removes unreferenced files; inline bytes stay
    try:
        assert await read_all(await b.get_object("bk", "k")) == b"durable"
    finally:
        await b.close()
