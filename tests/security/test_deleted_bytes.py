"""A deleted or replaced object's bytes do not live on in the data directory.

Small plain objects are kept in the metadata database (``backends/filesystem/inline.py``):
a database frees pages rather than files, and a freed page keeps its old content until
reused, in the file and in every copy of it. The writers zero what a delete frees
(``PRAGMA secure_delete``; Debian's SQLite is built to do so by default, others are
not), so once the gateway has stopped (its WAL checkpointed into the database) no byte
of a deleted or overwritten object's body is left in any file of the data directory.
Driven through boto3 against the real gateway, and through the backend on a SQLite whose
connections start with ``secure_delete`` off, as other builds' do: on Debian's alone the
first test would pass without the gateway's own pragma."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from backends.filesystem import FilesystemBackend
from backends.types import ObjectMeta
from tests.backends.fs_helpers import body, read_all
from tests.e2e.gateway_process import start_gateway


def _files_holding(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_deleted_and_replaced_small_objects_leave_no_bytes(tmp_path: Path) -> None:
    gateway = start_gateway(tmp_path / "data")
    deleted = b"deleted-" + os.urandom(12).hex().encode()
    replaced = b"replaced-" + os.urandom(12).hex().encode()
    kept = b"kept-" + os.urandom(12).hex().encode()
    try:
        s3 = gateway.client()
        s3.create_bucket(Bucket="bkt")
        # bodies of several database pages each; the replacement is smaller, so it cannot
        # simply take the pages of the body it replaces
        s3.put_object(Bucket="bkt", Key="gone", Body=deleted * 1000)
        s3.put_object(Bucket="bkt", Key="over", Body=replaced * 1000)
        s3.put_object(Bucket="bkt", Key="over", Body=kept * 100)
        s3.delete_object(Bucket="bkt", Key="gone")
        assert s3.get_object(Bucket="bkt", Key="over")["Body"].read() == kept * 100
    finally:
        gateway.stop()
    storage = gateway.data_dir / "storage"
    assert _files_holding(storage, kept), "the live object's bytes are where this test looks"
    assert _files_holding(storage, deleted) == []
    assert _files_holding(storage, replaced) == []


async def test_every_writer_zeroes_what_it_frees_whatever_sqlite_s_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every connection the backend opens (the loop's, the group committer's) starts with
    ``secure_delete`` off, as on a SQLite built without ``SQLITE_SECURE_DELETE``; the
    deleted and replaced bodies must still be gone from every file once it closed."""
    connect = sqlite3.connect

    def connect_without_secure_delete(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn: sqlite3.Connection = connect(*args, **kwargs)
        conn.execute("PRAGMA secure_delete = OFF")
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect_without_secure_delete)
    deleted = b"deleted-" + os.urandom(12).hex().encode()
    replaced = b"replaced-" + os.urandom(12).hex().encode()
    kept = b"kept-" + os.urandom(12).hex().encode()
    backend = FilesystemBackend(tmp_path, fsync=False)
    await backend.start()
    try:
        await backend.create_bucket("bkt")
        await backend.put_object("bkt", "gone", body(deleted * 1000), ObjectMeta())
        await backend.put_object("bkt", "over", body(replaced * 1000), ObjectMeta())
        await backend.put_object("bkt", "over", body(kept * 100), ObjectMeta())
        await backend.delete_object("bkt", "gone")
        assert await read_all(await backend.get_object("bkt", "over")) == kept * 100
    finally:
        await backend.close()
    assert _files_holding(tmp_path, kept), "the live object's bytes are where this test looks"
    assert _files_holding(tmp_path, deleted) == []
    assert _files_holding(tmp_path, replaced) == []
