"""The largest request documents S3 accepts are accepted: DeleteObjects with 1,000 keys of
1,024 bytes, CompleteMultipartUpload naming 10,000 parts with their checksums. Both are
above the general XML cap (``s3.max_xml_body``, 1 MiB) as an SDK writes them."""

from __future__ import annotations

from typing import Any

from tests.e2e.s3util import expect_error


def test_delete_objects_with_a_thousand_longest_keys(s3: Any, bucket: str) -> None:
    # '&' is written as '&amp;': about 5 MiB of XML, as botocore sends it (segments of
    # 255 bytes: SeaweedFS refuses longer ones)
    keys = [f"{n:04d}" + ("/" + "&" * 254) * 4 for n in range(1000)]
    assert {len(key) for key in keys} == {1024}
    for key in keys[:2]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
    assert "Errors" not in answer
    assert sorted(d["Key"] for d in answer["Deleted"]) == keys
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_completion_naming_ten_thousand_parts_with_checksums(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="CRC32")[
        "UploadId"
    ]
    first = s3.upload_part(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        PartNumber=1,
        Body=b"a",
        ChecksumAlgorithm="CRC32",
    )
    parts = [
        {"PartNumber": n, "ETag": first["ETag"], "ChecksumCRC32": first["ChecksumCRC32"]}
        for n in range(1, 10_001)
    ]
    # About 1.3 MB of XML: read and decided (parts 2 to 10,000 were never uploaded)
    expect_error(
        "InvalidPart",
        400,
        s3.complete_multipart_upload,
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        MultipartUpload={"Parts": parts},
    )
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
