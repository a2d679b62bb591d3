"""Bucket operations through boto3 against the real gateway (HTTP and HTTPS)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.s3util import expect_error, seaweedfs, unique


def test_create_list_head_delete(s3: Any) -> None:
    name = unique()
    created = s3.create_bucket(Bucket=name)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert created["Location"] == f"/{name}"
    listed = s3.list_buckets()
    names = [b["Name"] for b in listed["Buckets"]]
    assert name in names
    entry = next(b for b in listed["Buckets"] if b["Name"] == name)
    assert entry["CreationDate"].tzinfo is not None
    assert listed["Owner"]["ID"]
    head = s3.head_bucket(Bucket=name)
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert s3.delete_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    exc = expect_error("404", 404, s3.head_bucket, Bucket=name)
    assert exc.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]


def test_create_with_location_constraint(s3: Any, request: pytest.FixtureRequest) -> None:
    name = unique()
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    if seaweedfs(request):
        # SeaweedFS deviation: it accepts a LocationConstraint but keeps no region; the
        # bucket reports the gateway's upstream region (docs/upstream-backend.md).
        assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
        return
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
    head = s3.head_bucket(Bucket=name)
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "eu-west-1"


def test_default_location_is_us_east_1(s3: Any, bucket: str) -> None:
    # us-east-1 is reported as an empty LocationConstraint, which boto3 returns as None.
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None


def test_bucket_already_owned_by_you(s3: Any, bucket: str) -> None:
    expect_error("BucketAlreadyOwnedByYou", 409, s3.create_bucket, Bucket=bucket)


def test_delete_nonempty_bucket(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    refused = expect_error("BucketNotEmpty", 409, s3.delete_bucket, Bucket=bucket)
    assert refused.response["Error"]["BucketName"] == bucket  # the client's name, as AWS
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)


def test_no_such_bucket(s3: Any) -> None:
    name = unique("missing")
    for call, kwargs in (
        (s3.delete_bucket, {}),
        (s3.list_objects_v2, {}),
        (s3.put_object, {"Key": "k", "Body": b"x"}),
        (s3.get_object, {"Key": "k"}),
        (s3.get_bucket_location, {}),
    ):
        refused = expect_error("NoSuchBucket", 404, call, Bucket=name, **kwargs)
        assert refused.response["Error"].get("BucketName") == name, call  # as AWS
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "a" * 64,
        "UpperCase",
        "192.168.1.1",
        "bad_underscore",
        "-leading",
        "trailing-",
        "double..dot",
        "xn--punycode",
        # reserved by AWS for what it makes itself: refused for new buckets
        "amzn-s3-demo-bucket",
        "name--table-s3",
        "name.mrap",
    ],
)
def test_invalid_bucket_name(s3: Any, name: str) -> None:
    expect_error("InvalidBucketName", 400, s3.create_bucket, Bucket=name)
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_valid_edge_bucket_names(s3: Any) -> None:
    token = uuid.uuid4().hex  # lower-case letters and digits: valid anywhere in a name
    shortest, longest, dotted = token[:3], (token * 2)[:63], f"{token[:8]}.with.dots"
    assert (len(shortest), len(longest)) == (3, 63)
    for name in (shortest, longest, dotted):
        s3.create_bucket(Bucket=name)
        s3.head_bucket(Bucket=name)
        s3.delete_bucket(Bucket=name)
