"""The filesystem backend's per-bucket counters: kept on every write path, migrated once.

``bucket_stats`` must equal a count of the rows after any mix of writes; each test
compares it with ``count(*)``/``sum(size)`` computed independently.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backends.filesystem import FilesystemBackend
from backends.types import CopySource, ObjectMeta
from tests.backends.fs_helpers import body

MiB = 1024 * 1024


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[FilesystemBackend]:
    b = FilesystemBackend(tmp_path, fsync=False, min_part_size=1)
    await b.start()
    await b.create_bucket("bk")
    await b.create_bucket("other")
    yield b
    await b.close()


def counted(b: FilesystemBackend, bucket: str) -> tuple[int, int]:
    count, total = b.db.conn.execute(
        "SELECT count(*), coalesce(sum(size), 0) FROM objects WHERE bucket = ?", (bucket,)
    ).fetchone()
    return int(count), int(total)


async def check(b: FilesystemBackend) -> None:
    for bucket in ("bk", "other"):
        assert await b.bucket_stats(bucket) == counted(b, bucket)


async def test_put_overwrite_and_concurrent_group_commits(backend: FilesystemBackend) -> None:
    await backend.put_object("bk", "a", body(b"12345"), ObjectMeta())
    await backend.put_object("bk", "a", body(b"1"), ObjectMeta())  # overwrite: size changes
    await asyncio.gather(  # concurrent PUTs share group commits
        *(backend.put_object("bk", f"k{i % 7}", body(b"x" * i), ObjectMeta()) for i in range(40))
    )
    assert await backend.bucket_stats("bk") == (8, 1 + sum(range(33, 40)))
    await check(backend)


async def test_copies_and_deletes(backend: FilesystemBackend) -> None:
    for key in ("a", "b", "c"):
        await backend.put_object("bk", key, body(key.encode() * 10), ObjectMeta())
    await backend.copy_object(CopySource("bk", "a"), "other", "a-copy")
    await backend.copy_object(CopySource("bk", "b"), "bk", "c")  # replaces c
    await backend.delete_object("bk", "a")
    await backend.delete_object("bk", "missing")
    await backend.delete_objects("bk", [("b", None), ("nope", None), ("c", None)])
    assert await backend.bucket_stats("bk") == (0, 0)
    assert await backend.bucket_stats("other") == (1, 10)
    await check(backend)


async def test_multipart_completion_counts_the_object_not_the_parts(
    backend: FilesystemBackend,
) -> None:
    await backend.put_object("bk", "big", body(b"old"), ObjectMeta())
    upload = await backend.create_multipart_upload("bk", "big", ObjectMeta())
    parts = []
    for number in (1, 2):
        part = await backend.upload_part("bk", "big", upload.upload_id, number, body(b"p" * 100))
        parts.append((number, part.etag))
    assert await backend.bucket_stats("bk") == (1, 3)  # parts are not objects
    await backend.complete_multipart_upload("bk", "big", upload.upload_id, parts)
    assert await backend.bucket_stats("bk") == (1, 200)
    await check(backend)


async def test_deleted_bucket_starts_from_zero(backend: FilesystemBackend) -> None:
    await backend.put_object("other", "x", body(b"xyz"), ObjectMeta())
    await backend.delete_object("other", "x")
    await backend.delete_bucket("other")
    await backend.create_bucket("other")
    assert await backend.bucket_stats("other") == (0, 0)


async def test_a_database_from_before_the_counters_is_counted_at_start(tmp_path: Path) -> None:
    first = FilesystemBackend(tmp_path, fsync=False)
    await first.start()
    await first.create_bucket("bk")
    for i in range(25):
        await first.put_object("bk", f"k{i}", body(b"y" * i), ObjectMeta())
    await first.close()
    # What a gateway without the counters left behind: no table, no triggers.
    db = sqlite3.connect(tmp_path / "meta" / "meta.sqlite3")
    for trigger in ("insert", "delete", "update", "drop"):
        db.execute(f"DROP TRIGGER bucket_stats_{trigger}")
    db.execute("DROP TABLE bucket_stats")
    db.execute(
        "INSERT INTO objects (bucket, key, size, etag, last_modified, meta, checksums, parts,"
        " data_id) SELECT bucket, key || '-more', size, etag, last_modified, meta,"
        " checksums, parts, data_id FROM objects"
    )
    db.commit()
    db.close()
    again = FilesystemBackend(tmp_path, fsync=False)
    await again.start()
    try:
        assert await again.bucket_stats("bk") == (50, 2 * sum(range(25)))
        await again.put_object("bk", "new", body(b"z" * MiB), ObjectMeta())
        assert await again.bucket_stats("bk") == (51, 2 * sum(range(25)) + MiB)
    finally:
        await again.close()
