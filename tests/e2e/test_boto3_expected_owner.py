"""``ExpectedBucketOwner`` / ``ExpectedSourceBucketOwner`` through boto3 and the aws CLI.

A client names the account it expects to own the bucket (``x-amz-expected-bucket-owner``,
``x-amz-source-expected-bucket-owner`` for a copy's source); another owner is 403
AccessDenied, as S3 answers, and nothing is read or written. It is the client's guard
against a bucket of the same name held by someone else. On every backend: the check is
the gateway's (the upstream store's accounts are not the gateway's).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import ADMIN
from tests.e2e.s3util import client_error, expect_error, keys_of, unique, urlopen
from tests.e2e.test_awscli import AwsCli

OTHER = "acct_someoneelse"


def _account(gateway: Gateway) -> str:
    reply = urlopen(gateway, f"{gateway.api_url}/v1/me", headers=ADMIN)
    assert reply.status == 200, reply.body
    account: str = json.loads(reply.body)["account"]["id"]
    return account


def test_the_owner_named_goes_ahead_another_is_refused(
    any_gateway: Gateway, s3: Any, bucket: str
) -> None:
    owner = _account(any_gateway)
    s3.put_object(Bucket=bucket, Key="k", Body=b"data", ExpectedBucketOwner=owner)
    got = s3.get_object(Bucket=bucket, Key="k", ExpectedBucketOwner=owner)
    assert got["Body"].read() == b"data"
    assert s3.list_objects_v2(Bucket=bucket, ExpectedBucketOwner=owner)["KeyCount"] == 1

    # a HEAD has no body: the code travels in x-amz-error-code
    head = client_error(s3.head_bucket, Bucket=bucket, ExpectedBucketOwner=OTHER)
    assert head.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert head.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-error-code"] == "AccessDenied"
    refused: list[tuple[Any, dict[str, Any]]] = [
        (s3.get_object, {"Key": "k"}),
        (s3.put_object, {"Key": "k", "Body": b"overwritten"}),
        (s3.put_object, {"Key": "new", "Body": b"x"}),
        (s3.delete_object, {"Key": "k"}),
        (s3.delete_objects, {"Delete": {"Objects": [{"Key": "k"}]}}),
        (s3.put_bucket_tagging, {"Tagging": {"TagSet": [{"Key": "a", "Value": "b"}]}}),
    ]
    for call, arguments in refused:
        expect_error(
            "AccessDenied", 403, call, Bucket=bucket, ExpectedBucketOwner=OTHER, **arguments
        )
    assert keys_of(s3, bucket) == ["k"]
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"


def test_a_copy_checks_both_buckets(any_gateway: Gateway, s3: Any, bucket: str) -> None:
    owner = _account(any_gateway)
    s3.put_object(Bucket=bucket, Key="src", Body=b"source")
    source = {"Bucket": bucket, "Key": "src"}
    expect_error(
        "AccessDenied",
        403,
        s3.copy_object,
        Bucket=bucket,
        Key="dst",
        CopySource=source,
        ExpectedSourceBucketOwner=OTHER,
    )
    expect_error(
        "AccessDenied",
        403,
        s3.copy_object,
        Bucket=bucket,
        Key="dst",
        CopySource=source,
        ExpectedBucketOwner=OTHER,
        ExpectedSourceBucketOwner=owner,
    )
    assert keys_of(s3, bucket) == ["src"]
    s3.copy_object(
        Bucket=bucket,
        Key="dst",
        CopySource=source,
        ExpectedBucketOwner=owner,
        ExpectedSourceBucketOwner=owner,
    )
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"source"


def test_a_missing_bucket_is_still_no_such_bucket(any_gateway: Gateway, s3: Any) -> None:
    expect_error(
        "NoSuchBucket",
        404,
        s3.list_objects_v2,
        Bucket=unique(),
        ExpectedBucketOwner=OTHER,
    )


def test_aws_cli_expected_bucket_owner(gateway: Gateway, tmp_path: Path) -> None:
    home = tmp_path / "aws-home"
    home.mkdir()
    cli = AwsCli(gateway, home)
    s3 = gateway.client()
    bucket = unique("cli")
    s3.create_bucket(Bucket=bucket)
    owner = _account(gateway)
    args = ("s3api", "put-object", "--bucket", bucket, "--key", "k", "--expected-bucket-owner")
    refused = cli(*args, OTHER, check=False)
    assert refused.returncode != 0 and "AccessDenied" in refused.stderr, refused.stderr
    assert keys_of(s3, bucket) == []
    cli(*args, owner)
    assert keys_of(s3, bucket) == ["k"]
