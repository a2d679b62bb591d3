"""CopyObject: directives, copy onto itself, encoded source keys, copy-source conditions."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.s3util import expect_error, keys_of


def test_copy_directive_copy(s3: Any, bucket: str) -> None:
    s3.put_object(
        Bucket=bucket,
        Key="src",
        Body=b"payload",
        ContentType="text/x-src",
        Metadata={"origin": "src"},
        CacheControl="max-age=1",
    )
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"payload").hexdigest()}"'
    assert copied["CopyObjectResult"]["LastModified"]
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert head["ContentType"] == "text/x-src"
    assert head["Metadata"] == {"origin": "src"}
    assert head["CacheControl"] == "max-age=1"
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"payload"
    # Explicit COPY ignores new metadata headers.
    s3.copy_object(
        Bucket=bucket,
        Key="dst2",
        CopySource=f"{bucket}/src",
        MetadataDirective="COPY",
        Metadata={"ignored": "yes"},
        ContentType="text/ignored",
    )
    head2 = s3.head_object(Bucket=bucket, Key="dst2")
    assert head2["Metadata"] == {"origin": "src"}
    assert head2["ContentType"] == "text/x-src"


def test_copy_directive_replace(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"payload", Metadata={"origin": "src"})
    s3.copy_object(
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket, "Key": "src"},
        MetadataDirective="REPLACE",
        Metadata={"new": "meta"},
        ContentType="text/new",
    )
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert head["Metadata"] == {"new": "meta"}
    assert head["ContentType"] == "text/new"
    assert s3.head_object(Bucket=bucket, Key="src")["Metadata"] == {"origin": "src"}


def test_copy_across_buckets(s3: Any, bucket: str) -> None:
    other = bucket + "-b"
    s3.create_bucket(Bucket=other)
    s3.put_object(Bucket=bucket, Key="src", Body=b"cross")
    s3.copy_object(Bucket=other, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert s3.get_object(Bucket=other, Key="dst")["Body"].read() == b"cross"


def test_copy_onto_itself(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="self", Body=b"me", Metadata={"v": "1"})
    expect_error(
        "InvalidRequest",
        400,
        s3.copy_object,
        Bucket=bucket,
        Key="self",
        CopySource={"Bucket": bucket, "Key": "self"},
    )
    assert s3.head_object(Bucket=bucket, Key="self")["Metadata"] == {"v": "1"}
    s3.copy_object(
        Bucket=bucket,
        Key="self",
        CopySource={"Bucket": bucket, "Key": "self"},
        MetadataDirective="REPLACE",
        Metadata={"v": "2"},
    )
    assert s3.head_object(Bucket=bucket, Key="self")["Metadata"] == {"v": "2"}
    assert s3.get_object(Bucket=bucket, Key="self")["Body"].read() == b"me"


@pytest.mark.parametrize(
    "key", ["with space.txt", "plus+sign", "ünïcödé/ключ", "a%20b", "q?x=1&y", "a//b", "#hash"]
)
def test_copy_encoded_source_keys(s3: Any, bucket: str, key: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    # boto3 URL-encodes the dict form itself.
    s3.copy_object(Bucket=bucket, Key="dst1", CopySource={"Bucket": bucket, "Key": key})
    assert s3.get_object(Bucket=bucket, Key="dst1")["Body"].read() == key.encode()
    # String form: botocore percent-encodes it too.
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource=f"{bucket}/{key}")
    assert s3.get_object(Bucket=bucket, Key="dst2")["Body"].read() == key.encode()


def test_copy_source_version_null(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"v")
    answer = s3.copy_object(
        Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src", "VersionId": "null"}
    )
    assert answer["CopySourceVersionId"] == "null"
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"v"


def test_copy_missing_source(s3: Any, bucket: str) -> None:
    expect_error(
        "NoSuchKey",
        404,
        s3.copy_object,
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket, "Key": "missing"},
    )
    expect_error(
        "NoSuchBucket",
        404,
        s3.copy_object,
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket + "-nope", "Key": "missing"},
    )
    assert keys_of(s3, bucket) == []


def test_copy_source_conditions(s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="src", Body=b"cond")
    etag = put["ETag"]
    modified = s3.head_object(Bucket=bucket, Key="src")["LastModified"]
    past, future = modified - timedelta(hours=1), modified + timedelta(hours=1)
    source = {"Bucket": bucket, "Key": "src"}
    failing: list[dict[str, Any]] = [
        {"CopySourceIfMatch": '"0000"'},
        {"CopySourceIfNoneMatch": etag},
        {"CopySourceIfModifiedSince": future},
        {"CopySourceIfUnmodifiedSince": past},
    ]
    for condition in failing:
        expect_error(
            "PreconditionFailed",
            412,
            s3.copy_object,
            Bucket=bucket,
            Key="dst",
            CopySource=source,
            **condition,
        )
    assert keys_of(s3, bucket) == ["src"]
    passing: list[dict[str, Any]] = [
        {"CopySourceIfMatch": etag},
        {"CopySourceIfNoneMatch": '"0000"'},
        {"CopySourceIfModifiedSince": past},
        {"CopySourceIfUnmodifiedSince": future},
        {"CopySourceIfMatch": etag, "CopySourceIfUnmodifiedSince": past},
    ]
    for i, condition in enumerate(passing):
        s3.copy_object(Bucket=bucket, Key=f"ok{i}", CopySource=source, **condition)
        assert s3.get_object(Bucket=bucket, Key=f"ok{i}")["Body"].read() == b"cond"


def test_copy_invalid_directive(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")

    def bad_directive(request: Any, **_: Any) -> None:
        request.headers.replace_header("x-amz-metadata-directive", "MOVE")

    s3.meta.events.register("before-sign.s3.CopyObject", bad_directive)
    expect_error(
        "InvalidArgument",
        400,
        s3.copy_object,
        Bucket=bucket,
        Key="dst",
        CopySource=f"{bucket}/src",
        MetadataDirective="COPY",
    )
