"""The schema migration: a data directory written before versioning (schema version 0,
``testdata/datadir-v0``, made by the old code) opens, keeps every object as its ``null``
version and serves it unchanged; versioning then works on it."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backends import BackendError
from backends.filesystem import FilesystemBackend
from backends.filesystem.metadb import SCHEMA_LOCK, MetaDB
from backends.filesystem.migrations import MIGRATIONS, SCHEMA_VERSION, migrate
from backends.types import ObjectMeta
from tests.backends import legacy_data as legacy
from tests.backends.test_contract import payload, read_all

V0 = Path(__file__).parent / "testdata" / "datadir-v0" / "storage"


@pytest.fixture
def copy_of_v0(tmp_path: Path) -> Path:
    target = tmp_path / "storage"
    shutil.copytree(V0, target)
    return target


@pytest.fixture
async def backend(copy_of_v0: Path) -> AsyncIterator[FilesystemBackend]:
    fs = FilesystemBackend(copy_of_v0, fsync=False, min_part_size=legacy.PART_SIZE)
    await fs.start()
    try:
        yield fs
    finally:
        await fs.close()


def _version(path: Path) -> int:
    with sqlite3.connect(path / "meta" / "meta.sqlite3") as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def test_the_checked_in_directory_is_schema_zero() -> None:
    assert _version(V0) == 0


async def test_migration_keeps_every_object_and_its_bytes(
    backend: FilesystemBackend, copy_of_v0: Path
) -> None:
    assert _version(copy_of_v0) == SCHEMA_VERSION
    assert {b.name: b.region for b in await backend.list_buckets()} == legacy.BUCKETS
    for obj in legacy.OBJECTS:
        info = await backend.head_object(obj.bucket, obj.key)
        assert info.etag == hashlib.md5(obj.data).hexdigest()
        assert info.size == len(obj.data)
        assert info.version_id is None  # never versioned: no version header, as before
        assert info.meta.content_type == obj.content_type
        assert dict(info.meta.user_metadata) == obj.user_metadata
        assert info.meta.cache_control == obj.cache_control
        assert info.meta.content_disposition == obj.content_disposition
        if obj.checksum:
            assert dict(info.checksums) == {"CRC32": legacy.crc32(obj.data)}
        assert await read_all(await backend.get_object(obj.bucket, obj.key)) == obj.data
        by_null = await backend.get_object(obj.bucket, obj.key, version_id="null")
        assert await read_all(by_null) == obj.data
    bucket, key, source = legacy.COPIED
    source_data = next(o.data for o in legacy.OBJECTS if o.key == source)
    assert await read_all(await backend.get_object(bucket, key)) == source_data
    bucket, key, parts = legacy.MULTIPART
    read = await backend.get_object(bucket, key, part_number=2)
    assert (await read_all(read), read.info.parts_count) == (parts[1], 2)
    assert read.info.etag.endswith("-2")
    with pytest.raises(BackendError) as gone:
        await backend.head_object(*legacy.DELETED)
    assert gone.value.code == "NoSuchKey"


async def test_listings_show_the_null_versions(backend: FilesystemBackend) -> None:
    expected = sorted(
        [o.key for o in legacy.OBJECTS if o.bucket == "legacy-one"]
        + [legacy.COPIED[1], legacy.MULTIPART[1]],
        key=str.encode,
    )
    page = await backend.list_objects("legacy-one")
    assert [o.key for o in page.objects] == expected
    versions = await backend.list_object_versions("legacy-one")
    assert [v.info.key for v in versions.versions] == expected
    assert all(v.info.version_id == "null" and v.is_latest for v in versions.versions)
    assert await backend.get_bucket_versioning("legacy-one") is None


async def test_start_up_recovery_keeps_the_old_files(copy_of_v0: Path) -> None:
    """Recovery must count the migrated rows as references: nothing the old code wrote
    is an orphan (the pending upload's part included)."""
    files_before = sorted(p for p in copy_of_v0.rglob("*") if p.is_file())
    fs = FilesystemBackend(copy_of_v0, fsync=False, min_part_size=legacy.PART_SIZE)
    await fs.start()
    try:
        assert await fs.recover() == 0
    finally:
        await fs.close()
    data_files = [p for p in files_before if "meta" not in p.parts]
    assert all(p.exists() for p in data_files)


async def test_an_upload_started_before_completes_after(backend: FilesystemBackend) -> None:
    bucket, key, first = legacy.PENDING_UPLOAD
    uploads = (await backend.list_multipart_uploads(bucket)).uploads
    assert [u.key for u in uploads] == [key]
    upload_id = uploads[0].upload_id
    (part1,) = (await backend.list_parts(bucket, key, upload_id)).parts
    assert part1.etag == hashlib.md5(first).hexdigest()
    done = await backend.complete_multipart_upload(bucket, key, upload_id, [(1, part1.etag)])
    assert done.version_id is None
    assert await read_all(await backend.get_object(bucket, key)) == first


async def test_versioning_on_a_migrated_bucket(backend: FilesystemBackend) -> None:
    """The pre-versioning object becomes the null version below the new ones."""
    obj = legacy.OBJECTS[0]
    await backend.put_bucket_versioning(obj.bucket, "Enabled")
    new = await backend.put_object(obj.bucket, obj.key, payload(b"new"), ObjectMeta())
    assert new.version_id not in (None, "null")
    page = await backend.list_object_versions(obj.bucket, prefix=obj.key)
    assert [(v.info.version_id, v.is_latest) for v in page.versions] == [
        (new.version_id, True),
        ("null", False),
    ]
    old = await backend.get_object(obj.bucket, obj.key, version_id="null")
    assert await read_all(old) == obj.data
    await backend.delete_object(obj.bucket, obj.key, version_id=new.version_id)
    assert await read_all(await backend.get_object(obj.bucket, obj.key)) == obj.data


async def test_buckets_versioned_before_schema_5_name_their_null_versions(
    copy_of_v0: Path,
) -> None:
    """Schema 5: the pre-versioning rows of a bucket that was versioned under schema 4
    are its null version (``x-amz-version-id: null``); a never-versioned bucket's stay
    unnamed (no header, as before)."""
    versioned = legacy.OBJECTS[0]
    plain = next(o for o in legacy.OBJECTS if o.bucket != versioned.bucket)
    conn = sqlite3.connect(copy_of_v0 / "meta" / "meta.sqlite3", isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for step in MIGRATIONS[:4]:
            for statement in step:
                conn.execute(statement)
        conn.execute(
            "UPDATE buckets SET versioning = 'Suspended' WHERE name = ?", (versioned.bucket,)
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA user_version = 4")
    finally:
        conn.close()
    fs = FilesystemBackend(copy_of_v0, fsync=False, min_part_size=legacy.PART_SIZE)
    await fs.start()
    try:
        assert (await fs.head_object(versioned.bucket, versioned.key)).version_id == "null"
        assert (await fs.head_object(plain.bucket, plain.key)).version_id is None
    finally:
        await fs.close()


async def test_versioning_names_the_objects_written_before(backend: FilesystemBackend) -> None:
    obj = legacy.OBJECTS[0]
    assert (await backend.head_object(obj.bucket, obj.key)).version_id is None
    await backend.put_bucket_versioning(obj.bucket, "Suspended")
    assert (await backend.head_object(obj.bucket, obj.key)).version_id == "null"
    read = await backend.get_object(obj.bucket, obj.key)
    assert (await read_all(read), read.info.version_id) == (obj.data, "null")


def test_migrate_is_idempotent_and_refuses_a_newer_schema(tmp_path: Path) -> None:
    shutil.copytree(V0, tmp_path / "s")
    conn = sqlite3.connect(tmp_path / "s" / "meta" / "meta.sqlite3", isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        assert migrate(conn) == 0
        assert migrate(conn) == SCHEMA_VERSION  # already there: nothing to do
        conn.execute("COMMIT")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        with pytest.raises(RuntimeError, match="newer"):
            migrate(conn)
    finally:
        conn.close()


async def test_migrated_objects_are_untagged_and_can_be_tagged(backend: FilesystemBackend) -> None:
    """Schema 2 adds the tags columns: every older row reads as untagged, and tags set on
    it afterwards stay with it (the data unchanged)."""
    obj = legacy.OBJECTS[0]
    info = await backend.head_object(obj.bucket, obj.key)
    assert info.tag_count == 0
    assert (await backend.get_object_tagging(obj.bucket, obj.key)).tags == ()
    await backend.put_object_tagging(obj.bucket, obj.key, (("migrated", "yes"),))
    assert (await backend.head_object(obj.bucket, obj.key)).tag_count == 1
    assert await read_all(await backend.get_object(obj.bucket, obj.key)) == obj.data
    bucket, key, _ = legacy.PENDING_UPLOAD
    upload_id = (await backend.list_multipart_uploads(bucket)).uploads[0].upload_id
    (part1,) = (await backend.list_parts(bucket, key, upload_id)).parts
    await backend.complete_multipart_upload(bucket, key, upload_id, [(1, part1.etag)])
    assert (await backend.get_object_tagging(bucket, key)).tags == ()


SEEDED_NULL_VERSIONS = 1_000_000
"""Enough unnamed null versions that schema 5's UPDATE runs long enough to be killed."""


def _null_ids(db: Path, bucket: str) -> tuple[int, int]:
    """(user_version, how many of ``bucket``'s rows have no version id)."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        (unnamed,) = conn.execute(
            "SELECT count(*) FROM objects WHERE bucket = ? AND version_id IS NULL", (bucket,)
        ).fetchone()
        return version, int(unnamed)
    finally:
        conn.close()


def test_a_migration_killed_midway_is_rerun_by_the_next_start(copy_of_v0: Path) -> None:
    """Schema 5 over a million null versions, the migrating process SIGKILLed while it
    holds the schema lock: the database is at schema 4 with every row as it was, or at 5
    with all of them named (never half), and the next open finishes the job."""
    bucket = legacy.OBJECTS[0].bucket
    db = copy_of_v0 / "meta" / "meta.sqlite3"
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for step in MIGRATIONS[:4]:
            for statement in step:
                conn.execute(statement)
        conn.execute("UPDATE buckets SET versioning = 'Enabled' WHERE name = ?", (bucket,))
        conn.execute(
            "INSERT INTO objects (bucket, key, size, etag, last_modified, meta, checksums,"
            " data_id) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
            " WHERE i < ?) SELECT o.bucket, CAST(printf('seeded/%08d', i) AS BLOB), o.size,"
            " o.etag, o.last_modified, o.meta, o.checksums, o.data_id FROM n, objects o"
            " WHERE o.bucket = ? AND o.key = ?",
            (SEEDED_NULL_VERSIONS, bucket, legacy.OBJECTS[0].key.encode()),
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA user_version = 4")
    finally:
        conn.close()
    rows = _null_ids(db, bucket)[1]
    assert rows > SEEDED_NULL_VERSIONS
    opener = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, pathlib; from backends.filesystem.metadb import"
            " MetaDB; MetaDB(pathlib.Path(sys.argv[1])); sys.stdin.read()",
            str(db),
        ],
        stdin=subprocess.PIPE,
    )
    fd = os.open(db.with_name(SCHEMA_LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        while opener.poll() is None:  # until it holds the lock (or, late, is done)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                break
            fcntl.flock(fd, fcntl.LOCK_UN)
        opener.send_signal(signal.SIGKILL)
        opener.wait()
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # went with its holder
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    assert _null_ids(db, bucket) in {(4, rows), (SCHEMA_VERSION, 0)}
    MetaDB(db).close()
    assert _null_ids(db, bucket) == (SCHEMA_VERSION, 0)
