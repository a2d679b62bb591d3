"""CopyObject's ``x-amz-checksum-algorithm`` (boto3's ``ChecksumAlgorithm``), on every
backend.

S3 gives the copy a checksum of the algorithm asked for. The gateway used to read the
header nowhere and answer with the source's checksum (a CRC32 to a client that asked for
SHA256): a success for something else than asked. Now the filesystem backend computes it
while it copies (the source's value is carried when it already is a full-object value of
that algorithm), and the s3 backend, which would have to read every byte through the
gateway, carries a matching value or answers 501 naming the header, creating nothing.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.checksum_oracle import checksum
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import expect_error, keys_of, seaweedfs, unique, upstream

MIB = 1024 * 1024
KEY = os.urandom(32)
SSEC = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": KEY}


def _copy(s3: Any, bucket: str, key: str, algorithm: str, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = s3.copy_object(
        Bucket=bucket,
        Key=key,
        CopySource={"Bucket": bucket, "Key": "source"},
        ChecksumAlgorithm=algorithm,
        **extra,
    )["CopyObjectResult"]
    return result


def _stored(s3: Any, bucket: str, key: str, **extra: Any) -> dict[str, str]:
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED", **extra)
    return {k: v for k, v in head.items() if k.startswith("Checksum")}


def test_the_sources_own_algorithm_is_carried(s3: Any, bucket: str) -> None:
    body = os.urandom(3000)
    s3.put_object(Bucket=bucket, Key="source", Body=body, ChecksumAlgorithm="CRC32")
    copied = _copy(s3, bucket, "copy", "CRC32")
    assert copied["ChecksumCRC32"] == checksum("CRC32", body)
    assert _stored(s3, bucket, "copy") == {
        "ChecksumCRC32": checksum("CRC32", body),
        "ChecksumType": "FULL_OBJECT",
    }


@pytest.fixture(params=["gateway", "tls_gateway"])
def filesystem_s3(request: pytest.FixtureRequest) -> Any:
    gw: Gateway = request.getfixturevalue(request.param)
    return gw.client()


@pytest.mark.parametrize("size", [3000, 2 * MIB], ids=["inline", "file"])
@pytest.mark.parametrize("algorithm", ["SHA256", "CRC64NVME", "SHA512", "XXHASH128"])
def test_another_algorithm_is_computed(filesystem_s3: Any, algorithm: str, size: int) -> None:
    s3 = filesystem_s3
    bucket = unique()
    s3.create_bucket(Bucket=bucket)
    body = os.urandom(size)
    s3.put_object(Bucket=bucket, Key="source", Body=body, ChecksumAlgorithm="CRC32")
    copied = _copy(s3, bucket, "copy", algorithm)
    want = checksum(algorithm, body)
    assert copied[f"Checksum{algorithm}"] == want
    assert "ChecksumCRC32" not in copied
    assert _stored(s3, bucket, "copy") == {
        f"Checksum{algorithm}": want,
        "ChecksumType": "FULL_OBJECT",
    }
    got = s3.get_object(Bucket=bucket, Key="copy", ChecksumMode="ENABLED")
    assert got["Body"].read() == body  # botocore validated the new value on the way
    # the source keeps its own
    assert _stored(s3, bucket, "source")["ChecksumCRC32"] == checksum("CRC32", body)


def test_a_multipart_sources_composite_value_becomes_a_full_object_one(
    filesystem_s3: Any,
) -> None:
    s3 = filesystem_s3
    bucket = unique()
    s3.create_bucket(Bucket=bucket)
    chunks = [os.urandom(5 * MIB), os.urandom(1000)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="source", ChecksumAlgorithm="SHA256")
    parts = []
    for number, chunk in enumerate(chunks, start=1):
        part = s3.upload_part(
            Bucket=bucket,
            Key="source",
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=chunk,
            ChecksumAlgorithm="SHA256",
        )
        parts.append(
            {"PartNumber": number, "ETag": part["ETag"], "ChecksumSHA256": part["ChecksumSHA256"]}
        )
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="source",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": parts},
    )
    assert _stored(s3, bucket, "source")["ChecksumType"] == "COMPOSITE"
    copied = _copy(s3, bucket, "copy", "SHA256")
    assert copied["ChecksumSHA256"] == checksum("SHA256", b"".join(chunks))
    assert _stored(s3, bucket, "copy")["ChecksumType"] == "FULL_OBJECT"


def test_an_sse_c_source_is_read_with_its_key(filesystem_s3: Any) -> None:
    s3 = filesystem_s3
    bucket = unique()
    s3.create_bucket(Bucket=bucket)
    body = os.urandom(100_000)
    s3.put_object(Bucket=bucket, Key="source", Body=body, **SSEC)
    copied = _copy(
        s3,
        bucket,
        "copy",
        "SHA1",
        CopySourceSSECustomerAlgorithm="AES256",
        CopySourceSSECustomerKey=KEY,
        **SSEC,
    )
    assert copied["ChecksumSHA1"] == checksum("SHA1", body)
    assert _stored(s3, bucket, "copy", **SSEC)["ChecksumSHA1"] == checksum("SHA1", body)


def test_another_algorithm_on_the_s3_backend_is_refused_and_creates_nothing(
    s3: Any, bucket: str, request: pytest.FixtureRequest
) -> None:
    """What every backend answers to an algorithm the source lacks: the filesystem
    backend computes it (above); the s3 backend refuses."""
    body = os.urandom(3000)
    s3.put_object(Bucket=bucket, Key="source", Body=body, ChecksumAlgorithm="CRC32")
    if not (upstream(request) or seaweedfs(request)):
        assert _copy(s3, bucket, "copy", "SHA256")["ChecksumSHA256"] == checksum("SHA256", body)
        return
    error = expect_error("NotImplemented", 501, _copy, s3, bucket, "copy", "SHA256")
    assert error.response["Error"].get("Header") == "x-amz-checksum-algorithm"
    assert keys_of(s3, bucket) == ["source"]


def test_an_unknown_algorithm_is_invalid_request(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="source", Body=b"x")
    expect_error("InvalidRequest", 400, _copy, s3, bucket, "copy", "BLAKE3")
    assert keys_of(s3, bucket) == ["source"]
