"""A deleted or replaced object's bytes do not live on in the data directory.

Small plain objects are kept in the metadata database (``backends/filesystem/inline.py``):
a database frees pages rather than files, and a freed page keeps its old content until
reused, in the file and in every copy of it. The writers zero what a delete frees
(``PRAGMA secure_delete``; Debian's SQLite is built to do so by default, others are
not), so once the gateway has stopped (its WAL checkpointed into the database) no byte
of a deleted or overwritten object's body is left in any file of the data directory.
Driven through boto3 against the real gateway."""

from __future__ import annotations

import os
from pathlib import Path

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
