"""Class: a retried CompleteMultipartUpload keeps the checksum rules of the first.

A completion retried after it succeeded is answered with the object it made. The
filesystem backend answered it whatever whole-object checksum it carried
(``x-amz-checksum-crc32`` ..., ``x-amz-checksum-type``): a value the first completion
would have refused with 400 ``BadDigest`` (or a type it would have refused with
``InvalidRequest``) was answered 200 with the object, confirming a checksum that is not
the object's. AWS compares; the retry now applies the rules of a fresh completion to the
object it answers (``backends.filesystem.completion.retried``).
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

import pytest
from botocore.exceptions import ClientError

PART = b"p" * (5 * 1024 * 1024)


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.mark.parametrize("checksum_type", ["FULL_OBJECT", "COMPOSITE"])
def test_a_retried_completion_compares_the_whole_object_checksum(
    s3: Any, bucket: str, checksum_type: str
) -> None:
    upload_id = s3.create_multipart_upload(
        Bucket=bucket, Key="k", ChecksumAlgorithm="CRC32", ChecksumType=checksum_type
    )["UploadId"]
    parts = []
    for number, body in ((1, PART), (2, b"tail")):
        sent = s3.upload_part(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            PartNumber=number,
            Body=body,
            ChecksumCRC32=_crc32(body),
        )
        parts.append({"PartNumber": number, "ETag": sent["ETag"], "ChecksumCRC32": _crc32(body)})
    listed = {"Parts": parts}
    first = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload=listed
    )
    value = first["ChecksumCRC32"]

    again = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        MultipartUpload=listed,
        ChecksumCRC32=value,
        ChecksumType=checksum_type,
    )
    assert again["ETag"] == first["ETag"]

    wrong = _crc32(b"not the object")
    with pytest.raises(ClientError) as bad:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            MultipartUpload=listed,
            ChecksumCRC32=wrong,
            ChecksumType=checksum_type,
        )
    assert bad.value.response["Error"]["Code"] == "BadDigest"

    other = "COMPOSITE" if checksum_type == "FULL_OBJECT" else "FULL_OBJECT"
    with pytest.raises(ClientError) as mode:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            MultipartUpload=listed,
            ChecksumType=other,
        )
    assert mode.value.response["Error"]["Code"] == "InvalidRequest"
    got = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["ETag"] == first["ETag"] and got["ChecksumCRC32"] == value
