"""Checksums through boto3 with its current defaults (CRC32 on every PutObject and
UploadPart; over HTTPS as aws-chunked trailers), on every gateway: single PUTs
(FULL_OBJECT), multipart uploads of both checksum types, listings, and AWS's errors.

The gateway in front of moto keeps its own checksum record (moto keeps none): single PUTs
carry theirs, multipart objects none. In front of SeaweedFS it runs with native
checksums (the store checks and keeps them). See docs/upstream-backend.md.
"""

from __future__ import annotations

import base64
import os
import zlib
from pathlib import Path
from typing import Any

import pytest
from awscrt import checksums as crt
from boto3.s3.transfer import TransferConfig

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import expect_error, seaweedfs, upstream

MIB = 1024 * 1024


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def crc64(data: bytes) -> str:
    return base64.b64encode(int(crt.crc64nvme(data)).to_bytes(8, "big")).decode()


def composite_crc32(parts: list[bytes]) -> str:
    raw = b"".join(base64.b64decode(crc32(p)) for p in parts)
    return f"{crc32(raw)}-{len(parts)}"


def record_mode(request: pytest.FixtureRequest) -> bool:
    """moto keeps no checksums: the gateway's own record, which multipart objects lack."""
    return upstream(request)


# -- single PUT ----------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_put_checksum_is_full_object(s3: Any, bucket: str, algorithm: str) -> None:
    data = os.urandom(3000)
    put = s3.put_object(Bucket=bucket, Key="k", Body=data, ChecksumAlgorithm=algorithm)
    value = put[f"Checksum{algorithm}"]
    assert put["ChecksumType"] == "FULL_OBJECT"
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert (head[f"Checksum{algorithm}"], head["ChecksumType"]) == (value, "FULL_OBJECT")
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")  # botocore validates
    assert got["Body"].read() == data
    assert got["ChecksumType"] == "FULL_OBJECT"


def test_put_checksum_errors_are_aws_s(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"original")
    exc = expect_error(
        "BadDigest",
        400,
        s3.put_object,
        Bucket=bucket,
        Key="k",
        Body=b"replacement",
        ChecksumCRC32=crc32(b"something else"),
    )
    assert exc.response["Error"]["Message"] == (
        "The CRC32 you specified did not match the calculated checksum."
    )
    exc = expect_error(
        "InvalidRequest", 400, s3.put_object, Bucket=bucket, Key="k", Body=b"x", ChecksumCRC32="AA"
    )
    assert exc.response["Error"]["Message"] == "Value for x-amz-checksum-crc32 header is invalid."
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"original"


def test_listings_name_the_algorithm_and_type(
    s3: Any, bucket: str, request: pytest.FixtureRequest
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ChecksumAlgorithm="SHA256")
    entry = s3.list_objects_v2(Bucket=bucket)["Contents"][0]
    if upstream(request) or seaweedfs(request):
        # the s3 backend's listings come from the store's listing, which carries no
        # checksum record (a documented limit)
        return
    assert (entry["ChecksumAlgorithm"], entry["ChecksumType"]) == (["SHA256"], "FULL_OBJECT")
    version = s3.list_object_versions(Bucket=bucket)["Versions"][0]
    assert (version["ChecksumAlgorithm"], version["ChecksumType"]) == (["SHA256"], "FULL_OBJECT")


# -- multipart -----------------------------------------------------------------------------


def _parts(
    s3: Any, bucket: str, key: str, upload_id: str, chunks: list[bytes], algorithm: str
) -> list[dict[str, Any]]:
    done = []
    for number, data in enumerate(chunks, start=1):
        answer = s3.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm=algorithm,
        )
        done.append(
            {
                "PartNumber": number,
                "ETag": answer["ETag"],
                f"Checksum{algorithm}": answer[f"Checksum{algorithm}"],
            }
        )
    return done


def test_full_object_crc64nvme_multipart(
    s3: Any, bucket: str, request: pytest.FixtureRequest
) -> None:
    """What the 2025 SDKs do by default for large uploads: CRC64NVME, FULL_OBJECT, the
    whole object's value sent with the completion and checked against the parts."""
    chunks = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(1234)]
    whole = crc64(b"".join(chunks))
    created = s3.create_multipart_upload(
        Bucket=bucket, Key="f", ChecksumAlgorithm="CRC64NVME", ChecksumType="FULL_OBJECT"
    )
    assert (created["ChecksumAlgorithm"], created["ChecksumType"]) == ("CRC64NVME", "FULL_OBJECT")
    upload_id = created["UploadId"]
    parts = _parts(s3, bucket, "f", upload_id, chunks, "CRC64NVME")
    listed = s3.list_parts(Bucket=bucket, Key="f", UploadId=upload_id)
    if not upstream(request) and not seaweedfs(request):
        # SeaweedFS deviation: its ListParts names neither the algorithm nor part checksums
        assert (listed["ChecksumAlgorithm"], listed["ChecksumType"]) == ("CRC64NVME", "FULL_OBJECT")
        assert [p["ChecksumCRC64NVME"] for p in listed["Parts"]] == [crc64(c) for c in chunks]
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="f",
        UploadId=upload_id,
        MultipartUpload={"Parts": parts},
        ChecksumCRC64NVME=whole,
        ChecksumType="FULL_OBJECT",
    )
    if record_mode(request):
        assert "ChecksumCRC64NVME" not in done
        return
    assert (done["ChecksumCRC64NVME"], done["ChecksumType"]) == (whole, "FULL_OBJECT")
    head = s3.head_object(Bucket=bucket, Key="f", ChecksumMode="ENABLED")
    assert (head["ChecksumCRC64NVME"], head["ChecksumType"]) == (whole, "FULL_OBJECT")
    got = s3.get_object(Bucket=bucket, Key="f", ChecksumMode="ENABLED")  # validated by botocore
    assert got["Body"].read() == b"".join(chunks)


def test_composite_crc32_multipart(s3: Any, bucket: str, request: pytest.FixtureRequest) -> None:
    chunks = [os.urandom(5 * MIB), b"tail"]
    created = s3.create_multipart_upload(Bucket=bucket, Key="c", ChecksumAlgorithm="CRC32")
    assert created["ChecksumType"] == "COMPOSITE"  # CRC32's default
    parts = _parts(s3, bucket, "c", created["UploadId"], chunks, "CRC32")
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="c", UploadId=created["UploadId"], MultipartUpload={"Parts": parts}
    )
    if record_mode(request):
        return
    want = composite_crc32(chunks)
    assert (done["ChecksumCRC32"], done["ChecksumType"]) == (want, "COMPOSITE")
    head = s3.head_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert (head["ChecksumCRC32"], head["ChecksumType"]) == (want, "COMPOSITE")


def test_transfer_manager_uploads_carry_checksums(
    s3: Any, bucket: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """boto3's upload_file (s3transfer): CRC32 COMPOSITE by default, FULL_OBJECT when the
    caller gives the whole file's CRC64NVME (what the CRT-based CLIs do)."""
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(11 * MIB))
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    s3.upload_file(str(source), bucket, "default", Config=config)
    whole = crc64(source.read_bytes())
    s3.upload_file(
        str(source), bucket, "full", Config=config, ExtraArgs={"ChecksumCRC64NVME": whole}
    )
    for key in ("default", "full"):
        target = tmp_path / f"{key}.out"
        s3.download_file(bucket, key, str(target))
        assert target.read_bytes() == source.read_bytes()
    if record_mode(request):
        return
    head = s3.head_object(Bucket=bucket, Key="default", ChecksumMode="ENABLED")
    assert head["ChecksumType"] == "COMPOSITE" and head["ChecksumCRC32"].endswith("-3")
    head = s3.head_object(Bucket=bucket, Key="full", ChecksumMode="ENABLED")
    assert (head["ChecksumCRC64NVME"], head["ChecksumType"]) == (whole, "FULL_OBJECT")


@pytest.mark.parametrize(
    ("algorithm", "checksum_type", "message"),
    [
        (
            "CRC64NVME",
            "COMPOSITE",
            "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.",
        ),
        (
            "SHA256",
            "FULL_OBJECT",
            "The FULL_OBJECT checksum type cannot be used with the sha256 checksum algorithm.",
        ),
    ],
)
def test_checksum_types_s3_refuses(
    s3: Any, bucket: str, algorithm: str, checksum_type: str, message: str
) -> None:
    exc = expect_error(
        "InvalidRequest",
        400,
        s3.create_multipart_upload,
        Bucket=bucket,
        Key="k",
        ChecksumAlgorithm=algorithm,
        ChecksumType=checksum_type,
    )
    assert exc.response["Error"]["Message"] == message
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_parts_must_carry_the_announced_checksum(
    any_gateway: Gateway, bucket: str, request: pytest.FixtureRequest
) -> None:
    if upstream(request) or seaweedfs(request):
        pytest.skip("the s3 backend cannot know an upload's algorithm at UploadPart")
    plain = any_gateway.client(request_checksum_calculation="when_required")
    upload_id = plain.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="SHA1")[
        "UploadId"
    ]
    exc = expect_error(
        "InvalidRequest",
        400,
        plain.upload_part,
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        PartNumber=1,
        Body=b"no checksum",
    )
    assert exc.response["Error"]["Message"] == (
        "Checksum Type mismatch occurred, expected checksum Type: sha1, actual checksum Type: null"
    )
    assert plain.list_parts(Bucket=bucket, Key="k", UploadId=upload_id).get("Parts", []) == []


def test_completion_is_checked_against_the_parts(
    s3: Any, bucket: str, request: pytest.FixtureRequest
) -> None:
    if upstream(request) or seaweedfs(request):
        pytest.skip("moto never sees the part checksums; SeaweedFS does not check them")
    chunks = [os.urandom(5 * MIB), b"tail"]
    created = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="CRC32")
    upload_id = created["UploadId"]
    parts = _parts(s3, bucket, "k", upload_id, chunks, "CRC32")
    common = {"Bucket": bucket, "Key": "k", "UploadId": upload_id}
    bad = [dict(parts[0], ChecksumCRC32=crc32(b"other")), parts[1]]
    expect_error(
        "InvalidPart", 400, s3.complete_multipart_upload, **common, MultipartUpload={"Parts": bad}
    )
    missing = [parts[0], {"PartNumber": 2, "ETag": parts[1]["ETag"]}]
    exc = expect_error(
        "InvalidRequest",
        400,
        s3.complete_multipart_upload,
        **common,
        MultipartUpload={"Parts": missing},
    )
    assert exc.response["Error"]["Message"] == (
        "The upload was created using a crc32 checksum. The complete request must include "
        "the checksum for each part. It was missing for part 2 in the request."
    )
    expect_error(
        "BadDigest",
        400,
        s3.complete_multipart_upload,
        **common,
        MultipartUpload={"Parts": parts},
        ChecksumCRC32=f"{crc32(b'wrong')}-2",
    )
    expect_error("404", 404, s3.head_object, Bucket=bucket, Key="k")  # nothing written
    done = s3.complete_multipart_upload(**common, MultipartUpload={"Parts": parts})
    assert done["ChecksumCRC32"] == composite_crc32(chunks)
