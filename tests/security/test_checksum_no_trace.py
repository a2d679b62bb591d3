"""A body or completion that fails a checksum (or a write that fails its condition) leaves
no trace: no object, no version, no part, no file under the data directory, and the
previous object intact. Driven as a client would (boto3 and raw requests) against the
real gateway; the data directory is inspected between the steps."""

from __future__ import annotations

import base64
import contextlib
import os
import sqlite3
import zlib
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import expect_error

MIB = 1024 * 1024


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def stored_files(gateway: Gateway) -> set[str]:
    """Every file of object or part data, every temp file, and every small object's bytes
    kept in the metadata database (``inline:<data id>``)."""
    storage = gateway.data_dir / "storage"
    files = {
        str(p)
        for directory in ("objects", "parts", "tmp")
        for p in (storage / directory).rglob("*")
        if p.is_file()
    }
    db = storage / "meta" / "meta.sqlite3"
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT data_id FROM inline_data").fetchall()
    return files | {f"inline:{row[0]}" for row in rows}


@pytest.mark.parametrize("size", [10, 9 * MIB])
def test_a_put_with_a_wrong_checksum_stores_nothing(
    gateway: Gateway, s3: Any, bucket: str, size: int
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"original")
    before = stored_files(gateway)
    assert before  # the original's bytes at least: the look is at the right place
    data = os.urandom(size)
    for key in ("k", "new"):
        expect_error(
            "BadDigest",
            400,
            s3.put_object,
            Bucket=bucket,
            Key=key,
            Body=data,
            ChecksumCRC32=crc32(data + b"!"),
        )
    assert stored_files(gateway) == before
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"original"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]


def test_a_part_with_a_wrong_checksum_stores_nothing(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="CRC32")[
        "UploadId"
    ]
    before = stored_files(gateway)
    data = os.urandom(MIB)
    expect_error(
        "BadDigest",
        400,
        s3.upload_part,
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        PartNumber=1,
        Body=data,
        ChecksumCRC32=crc32(b"other"),
    )
    assert stored_files(gateway) == before
    assert s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id).get("Parts", []) == []


def test_a_completion_with_a_wrong_checksum_writes_nothing(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    """The whole-object value is checked before the parts are joined: no object, no
    version, no joined file; the upload stays, and completes with the right value."""
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    chunks = [os.urandom(5 * MIB), b"tail"]
    created = s3.create_multipart_upload(
        Bucket=bucket, Key="k", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT"
    )
    parts = []
    for number, data in enumerate(chunks, start=1):
        answer = s3.upload_part(
            Bucket=bucket,
            Key="k",
            UploadId=created["UploadId"],
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm="CRC32",
        )
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    before = stored_files(gateway)
    common = {"Bucket": bucket, "Key": "k", "UploadId": created["UploadId"]}
    expect_error(
        "BadDigest",
        400,
        s3.complete_multipart_upload,
        **common,
        MultipartUpload={"Parts": parts},
        ChecksumCRC32=crc32(b"not the object"),
        ChecksumType="FULL_OBJECT",
    )
    assert stored_files(gateway) == before
    assert "Versions" not in s3.list_object_versions(Bucket=bucket)
    done = s3.complete_multipart_upload(
        **common,
        MultipartUpload={"Parts": parts},
        ChecksumCRC32=crc32(b"".join(chunks)),
        ChecksumType="FULL_OBJECT",
    )
    assert done["ChecksumCRC32"] == crc32(b"".join(chunks))


def test_a_refused_conditional_write_stores_nothing(gateway: Gateway, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"original")
    before = stored_files(gateway)
    for body in (b"small", os.urandom(9 * MIB)):
        expect_error(
            "PreconditionFailed",
            412,
            s3.put_object,
            Bucket=bucket,
            Key="k",
            Body=body,
            IfNoneMatch="*",
        )
        expect_error(
            "NoSuchKey", 404, s3.put_object, Bucket=bucket, Key="new", Body=body, IfMatch='"0a"'
        )
    expect_error(
        "PreconditionFailed",
        412,
        s3.copy_object,
        Bucket=bucket,
        Key="k",
        CopySource={"Bucket": bucket, "Key": "k"},
        IfNoneMatch="*",
        MetadataDirective="REPLACE",
    )
    assert stored_files(gateway) == before
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"original"
