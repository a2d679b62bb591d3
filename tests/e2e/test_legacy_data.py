"""The gateway started on a data directory written before versioning existed (the
checked-in schema-0 storage of tests/backends/testdata) serves every object unchanged."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backends import legacy_data as legacy
from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.s3util import keys_of

V0 = Path(__file__).resolve().parents[1] / "backends" / "testdata" / "datadir-v0" / "storage"


@pytest.fixture
def legacy_gateway(tmp_path: Path) -> Iterator[Gateway]:
    """A fresh copy of the old data directory for each test: one test writes to it
    (test_old_objects_are_null_versions), the other asserts that nothing changed."""
    data = tmp_path / "data"
    shutil.copytree(V0, data / "storage")
    running = start_gateway(data)
    yield running
    running.stop()


def test_old_objects_are_served_unchanged(legacy_gateway: Gateway) -> None:
    s3 = legacy_gateway.client()
    assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == set(legacy.BUCKETS)
    for obj in legacy.OBJECTS:
        got = s3.get_object(Bucket=obj.bucket, Key=obj.key, ChecksumMode="ENABLED")
        assert got["Body"].read() == obj.data
        assert got["ETag"] == f'"{hashlib.md5(obj.data).hexdigest()}"'
        assert got["ContentType"] == obj.content_type
        assert got["Metadata"] == obj.user_metadata
        assert "VersionId" not in got
        if obj.checksum:
            assert got["ChecksumCRC32"] == legacy.crc32(obj.data)
    bucket, key, parts = legacy.MULTIPART
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"".join(parts)
    assert legacy.DELETED[1] not in keys_of(s3, legacy.DELETED[0])


def test_old_objects_are_null_versions(legacy_gateway: Gateway) -> None:
    s3 = legacy_gateway.client()
    versions = s3.list_object_versions(Bucket="legacy-two")["Versions"]
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in versions] == [
        ("k1", "null", True),
        ("k2", "null", True),
    ]
    s3.put_bucket_versioning(Bucket="legacy-two", VersioningConfiguration={"Status": "Enabled"})
    new = s3.put_object(Bucket="legacy-two", Key="k1", Body=b"after the upgrade")
    k1 = [v for v in s3.list_object_versions(Bucket="legacy-two", Prefix="k1")["Versions"]]
    assert [v["VersionId"] for v in k1] == [new["VersionId"], "null"]
    old = s3.get_object(Bucket="legacy-two", Key="k1", VersionId="null")["Body"].read()
    assert old == next(o.data for o in legacy.OBJECTS if o.key == "k1")
