"""Conditional writes through boto3: ``If-None-Match: *`` and ``If-Match: <etag>`` on
PutObject, CopyObject's destination and CompleteMultipartUpload, on every gateway.

The gateway in front of moto passes on only what moto decides (PutObject, and
CompleteMultipartUpload's If-None-Match); the rest answers 501 there rather than being
ignored (docs/upstream-backend.md). SeaweedFS decides them all.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import added_header, expect_error, upstream

MIB = 1024 * 1024


def test_put_if_none_match(s3: Any, bucket: str) -> None:
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"first", IfNoneMatch="*")
    exc = expect_error(
        "PreconditionFailed", 412, s3.put_object, Bucket=bucket, Key="k", Body=b"2", IfNoneMatch="*"
    )
    assert exc.response["Error"]["Message"] == (
        "At least one of the pre-conditions you specified did not hold"
    )
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"first"
    assert got["ETag"] == first["ETag"]


def test_put_if_match(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["ETag"]
    expect_error(
        "PreconditionFailed",
        412,
        s3.put_object,
        Bucket=bucket,
        Key="k",
        Body=b"v2",
        IfMatch='"0123456789abcdef0123456789abcdef"',
    )
    second = s3.put_object(Bucket=bucket, Key="k", Body=b"v2", IfMatch=etag)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v2"
    # the old ETag no longer names the object
    expect_error(
        "PreconditionFailed", 412, s3.put_object, Bucket=bucket, Key="k", Body=b"v3", IfMatch=etag
    )
    s3.put_object(Bucket=bucket, Key="k", Body=b"v3", IfMatch=second["ETag"])
    # If-Match on a key that does not exist: 404 NoSuchKey, as S3 answers
    expect_error(
        "NoSuchKey", 404, s3.put_object, Bucket=bucket, Key="nope", Body=b"x", IfMatch=etag
    )


def test_conditional_put_in_a_versioned_bucket_compares_the_latest(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    old = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["ETag"]
    latest = s3.put_object(Bucket=bucket, Key="k", Body=b"v2")["ETag"]
    expect_error(
        "PreconditionFailed", 412, s3.put_object, Bucket=bucket, Key="k", Body=b"x", IfMatch=old
    )
    made = s3.put_object(Bucket=bucket, Key="k", Body=b"v3", IfMatch=latest)
    assert made["VersionId"]
    s3.delete_object(Bucket=bucket, Key="k")  # a delete marker is no current object
    s3.put_object(Bucket=bucket, Key="k", Body=b"v4", IfNoneMatch="*")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v4"
    assert len(s3.list_object_versions(Bucket=bucket)["Versions"]) == 4


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"If-None-Match": '"abc"'}, "If-None-Match"),
        ({"If-Match": "*"}, "If-Match"),
        ({"If-None-Match": "*", "If-Match": '"abc"'}, "If-Match,If-None-Match"),
    ],
)
def test_conditions_s3_does_not_take_are_not_implemented(
    s3: Any, bucket: str, headers: dict[str, str], named: str
) -> None:
    """Only ``If-None-Match: *`` and an ETag in ``If-Match``, one at a time (S3's 501,
    naming the header); nothing is written."""
    for name, value in headers.items():
        s3.meta.events.register(
            "before-sign.s3.PutObject",
            lambda request, _n=name, _v=value, **_: request.headers.__setitem__(_n, _v),
        )
    exc = expect_error("NotImplemented", 501, s3.put_object, Bucket=bucket, Key="k", Body=b"x")
    assert exc.response["Error"]["Header"] == named
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_racing_conditional_puts_have_exactly_one_winner(any_gateway: Gateway, bucket: str) -> None:
    """32 clients create one key with If-None-Match: * at once: one 200, the rest 412 or
    409, and the stored object is the winner's."""
    bodies = [os.urandom(2048) + bytes([i]) for i in range(32)]

    def attempt(data: bytes) -> tuple[int, str]:
        client = any_gateway.client()
        try:
            answer = client.put_object(Bucket=bucket, Key="race", Body=data, IfNoneMatch="*")
        except Exception as exc:
            response = getattr(exc, "response", {})
            return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]
        return answer["ResponseMetadata"]["HTTPStatusCode"], answer["ETag"]

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(attempt, bodies))
    winners = [i for i, (status, _) in enumerate(results) if status == 200]
    assert len(winners) == 1, results
    losers = {(status, code) for i, (status, code) in enumerate(results) if i not in winners}
    assert losers <= {(412, "PreconditionFailed"), (409, "ConditionalRequestConflict")}, losers
    s3 = any_gateway.client()
    got = s3.get_object(Bucket=bucket, Key="race")
    assert got["Body"].read() == bodies[winners[0]]
    assert got["ETag"] == results[winners[0]][1]


def test_copy_destination_conditions(s3: Any, bucket: str, request: pytest.FixtureRequest) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"source")
    dst = s3.put_object(Bucket=bucket, Key="dst", Body=b"taken")["ETag"]
    source = {"Bucket": bucket, "Key": "src"}
    if upstream(request):
        # moto deviation: CopyObject ignores both headers, so the gateway does not pass
        # them on (backend.conditional_writes) and refuses instead of overwriting
        expect_error(
            "NotImplemented",
            501,
            s3.copy_object,
            Bucket=bucket,
            Key="dst",
            CopySource=source,
            IfNoneMatch="*",
        )
        assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"taken"
        return
    expect_error(
        "PreconditionFailed",
        412,
        s3.copy_object,
        Bucket=bucket,
        Key="dst",
        CopySource=source,
        IfNoneMatch="*",
    )
    s3.copy_object(Bucket=bucket, Key="new", CopySource=source, IfNoneMatch="*")
    assert s3.get_object(Bucket=bucket, Key="new")["Body"].read() == b"source"
    expect_error(
        "PreconditionFailed",
        412,
        s3.copy_object,
        Bucket=bucket,
        Key="dst",
        CopySource=source,
        IfMatch='"0123456789abcdef0123456789abcdef"',
    )
    s3.copy_object(Bucket=bucket, Key="dst", CopySource=source, IfMatch=dst)
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"source"


def _upload(s3: Any, bucket: str, key: str) -> tuple[str, list[dict[str, Any]]]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"mp")
    return upload_id, [{"PartNumber": 1, "ETag": part["ETag"]}]


def test_complete_multipart_upload_conditions(
    s3: Any, bucket: str, request: pytest.FixtureRequest
) -> None:
    existing = s3.put_object(Bucket=bucket, Key="k", Body=b"existing")["ETag"]
    upload_id, parts = _upload(s3, bucket, "k")
    done = {"Parts": parts}
    common = {"Bucket": bucket, "Key": "k", "UploadId": upload_id, "MultipartUpload": done}
    expect_error("PreconditionFailed", 412, s3.complete_multipart_upload, **common, IfNoneMatch="*")
    wrong = '"0123456789abcdef0123456789abcdef"'
    if upstream(request):
        # moto deviation: CompleteMultipartUpload ignores If-Match (not passed on: 501)
        expect_error("NotImplemented", 501, s3.complete_multipart_upload, **common, IfMatch=wrong)
    else:
        expect_error(
            "PreconditionFailed", 412, s3.complete_multipart_upload, **common, IfMatch=wrong
        )
        s3.complete_multipart_upload(**common, IfMatch=existing)
        assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"mp"
    # the upload is still there after a refused completion
    upload_id, parts = _upload(s3, bucket, "fresh")
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="fresh",
        UploadId=upload_id,
        MultipartUpload={"Parts": parts},
        IfNoneMatch="*",
    )
    assert s3.get_object(Bucket=bucket, Key="fresh")["Body"].read() == b"mp"


def test_conditional_put_of_a_large_streamed_body(s3: Any, bucket: str) -> None:
    """The condition is checked before the body is read: a refused 9 MiB PUT (streamed
    upstream, received to a temp file on the filesystem backend) leaves nothing."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"small")
    big = os.urandom(9 * MIB)
    expect_error(
        "PreconditionFailed", 412, s3.put_object, Bucket=bucket, Key="k", Body=big, IfNoneMatch="*"
    )
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"small"
    s3.put_object(Bucket=bucket, Key="big", Body=big, IfNoneMatch="*")
    assert s3.head_object(Bucket=bucket, Key="big")["ContentLength"] == len(big)


def test_if_modified_since_on_a_write_is_ignored(s3: Any, bucket: str) -> None:
    """Date conditions mean nothing to a write (S3 ignores them)."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"1")
    with added_header(s3, "If-Unmodified-Since", "Wed, 01 Jan 2020 00:00:00 GMT"):
        s3.put_object(Bucket=bucket, Key="k", Body=b"2")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"2"
