"""Conditional deletes through boto3 and the aws CLI: DeleteObject's ``If-Match`` and the
``ETag`` of DeleteObjects keys, on every gateway (filesystem over HTTP and HTTPS, the s3
backend in front of moto and in front of SeaweedFS), and who may send them (s3:GetObject
for the ETag form; bucket policies with ``s3:if-match``).

In front of moto, DeleteObjects keys with an ETag are deleted one by one with
DeleteObject (moto ignores the element; docs/upstream-backend.md): the answers are the
same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import make_key
from tests.e2e.s3util import added_header, expect_error, keys_of, unique
from tests.e2e.tenants import Tenant, new_tenant, policy
from tests.e2e.test_awscli import AwsCli

WRONG = '"0123456789abcdef0123456789abcdef"'


def test_delete_if_match(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["ETag"]
    exc = expect_error(
        "PreconditionFailed", 412, s3.delete_object, Bucket=bucket, Key="k", IfMatch=WRONG
    )
    assert exc.response["Error"]["Condition"] == "If-Match"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v1"
    answer = s3.delete_object(Bucket=bucket, Key="k", IfMatch=etag)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert keys_of(s3, bucket) == []
    # a key without a current object: 404 NoSuchKey (unconditional deletes answer 204)
    expect_error("NoSuchKey", 404, s3.delete_object, Bucket=bucket, Key="k", IfMatch=etag)
    expect_error("NoSuchKey", 404, s3.delete_object, Bucket=bucket, Key="k", IfMatch="*")
    s3.put_object(Bucket=bucket, Key="k", Body=b"v2")
    s3.delete_object(Bucket=bucket, Key="k", IfMatch="*")
    assert keys_of(s3, bucket) == []


def test_delete_if_match_an_unquoted_etag(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["ETag"]
    s3.delete_object(Bucket=bucket, Key="k", IfMatch=etag.strip('"'))
    assert keys_of(s3, bucket) == []


def test_conditional_delete_in_a_versioned_bucket(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    old = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["ETag"]
    latest = s3.put_object(Bucket=bucket, Key="k", Body=b"v2")
    expect_error("PreconditionFailed", 412, s3.delete_object, Bucket=bucket, Key="k", IfMatch=old)
    # S3 evaluates conditional deletes against the current version only: not with a version id
    exc = expect_error(
        "NotImplemented",
        501,
        s3.delete_object,
        Bucket=bucket,
        Key="k",
        VersionId=latest["VersionId"],
        IfMatch=latest["ETag"],
    )
    assert exc.response["Error"]["Header"] == "If-Match,versionId"
    done = s3.delete_object(Bucket=bucket, Key="k", IfMatch=latest["ETag"])
    assert done["DeleteMarker"] is True
    marker = done["VersionId"]
    # the latest version is now a delete marker: no current object
    expect_error("NoSuchKey", 404, s3.delete_object, Bucket=bucket, Key="k", IfMatch="*")
    versions = s3.list_object_versions(Bucket=bucket)
    assert len(versions["Versions"]) == 2
    assert [m["VersionId"] for m in versions["DeleteMarkers"]] == [marker]


def test_delete_objects_with_etags(s3: Any, bucket: str) -> None:
    etags = {k: s3.put_object(Bucket=bucket, Key=k, Body=k.encode())["ETag"] for k in "abde"}
    result = s3.delete_objects(
        Bucket=bucket,
        Delete={
            "Objects": [
                {"Key": "a", "ETag": etags["a"]},
                {"Key": "b", "ETag": WRONG},
                {"Key": "c", "ETag": etags["a"]},
                {"Key": "d"},
                {"Key": "e", "ETag": "*"},
            ]
        },
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["a", "d", "e"]
    errors = {e["Key"]: e["Code"] for e in result["Errors"]}
    assert errors == {"b": "PreconditionFailed", "c": "NoSuchKey"}
    assert keys_of(s3, bucket) == ["b"]


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"IfMatchSize": 2}, "x-amz-if-match-size"),
        (
            {"IfMatchLastModifiedTime": datetime(2025, 1, 1, tzinfo=UTC)},
            "x-amz-if-match-last-modified-time",
        ),
    ],
)
def test_directory_bucket_conditions_are_not_implemented(
    s3: Any, bucket: str, extra: dict[str, Any], named: str
) -> None:
    """S3 evaluates these only in directory buckets: 501 naming the header, and the
    object stays (ignoring them would delete what the client conditioned)."""
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["ETag"]
    for conditions in (extra, {**extra, "IfMatch": etag}):
        exc = expect_error(
            "NotImplemented", 501, s3.delete_object, Bucket=bucket, Key="k", **conditions
        )
        assert exc.response["Error"]["Header"] == named
    assert keys_of(s3, bucket) == ["k"]


def test_if_none_match_on_delete_is_not_implemented(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"v1")
    with added_header(s3, "If-None-Match", "*"):
        exc = expect_error("NotImplemented", 501, s3.delete_object, Bucket=bucket, Key="k")
    assert exc.response["Error"]["Header"] == "If-None-Match"
    assert keys_of(s3, bucket) == ["k"]


@pytest.mark.parametrize(
    "condition",
    [{"Size": 2}, {"LastModifiedTime": datetime(2025, 1, 1, tzinfo=UTC)}],
    ids=["Size", "LastModifiedTime"],
)
def test_delete_objects_directory_bucket_elements_are_not_implemented(
    s3: Any, bucket: str, condition: dict[str, Any]
) -> None:
    """The whole request is refused before any key is deleted, naming the element."""
    for key in ("a", "b"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"xy")
    exc = expect_error(
        "NotImplemented",
        501,
        s3.delete_objects,
        Bucket=bucket,
        Delete={"Objects": [{"Key": "a"}, {"Key": "b", **condition}]},
    )
    assert exc.response["Error"]["Element"] == next(iter(condition))
    assert keys_of(s3, bucket) == ["a", "b"]


def test_aws_cli_delete_object_if_match(gateway: Gateway, tmp_path: Path) -> None:
    home = tmp_path / "aws-home"
    home.mkdir()
    cli = AwsCli(gateway, home)
    bucket = unique("cli")
    s3 = gateway.client()
    s3.create_bucket(Bucket=bucket)
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["ETag"]
    args = ("s3api", "delete-object", "--bucket", bucket, "--key", "k", "--if-match")
    refused = cli(*args, WRONG, check=False)
    assert refused.returncode != 0
    assert "PreconditionFailed" in refused.stderr
    assert keys_of(s3, bucket) == ["k"]
    cli(*args, etag)
    assert keys_of(s3, bucket) == []
    missing = cli(*args, etag, check=False)
    assert missing.returncode != 0
    assert "NoSuchKey" in missing.stderr


# -- who may send them ------------------------------------------------------------------------


def test_the_etag_form_needs_read_rights_too(gateway: Gateway) -> None:
    """S3: a conditional delete with an ETag needs s3:DeleteObject and s3:GetObject (the
    comparison tells what the object is). A key with delete:objects only may delete, and
    with ``If-Match: *``, but not compare ETags."""
    admin = gateway.client()
    bucket = unique("cdperm")
    admin.create_bucket(Bucket=bucket)
    etag = admin.put_object(Bucket=bucket, Key="k", Body=b"v1")["ETag"]
    made = make_key(gateway, name="deleter", scopes=["delete:objects"])
    deleter = gateway.client(made["id"], made["secret"])
    expect_error("AccessDenied", 403, deleter.delete_object, Bucket=bucket, Key="k", IfMatch=etag)
    expect_error("AccessDenied", 403, deleter.delete_object, Bucket=bucket, Key="k", IfMatch=WRONG)
    result = deleter.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k", "ETag": etag}]})
    assert [e["Code"] for e in result["Errors"]] == ["AccessDenied"]
    assert keys_of(admin, bucket) == ["k"]
    deleter.delete_object(Bucket=bucket, Key="k", IfMatch="*")
    assert keys_of(admin, bucket) == []
    reader_deleter = make_key(gateway, name="both", scopes=["delete:objects", "read:objects"])
    both = gateway.client(reader_deleter["id"], reader_deleter["secret"])
    etag = admin.put_object(Bucket=bucket, Key="k", Body=b"v2")["ETag"]
    both.delete_object(Bucket=bucket, Key="k", IfMatch=etag)
    assert keys_of(admin, bucket) == []


def _shared_bucket(alice: Tenant, bob: Tenant, *, with_get: bool) -> str:
    """Alice's bucket; her policy lets Bob delete only conditionally (AWS's example
    "Only allow conditional deletes using the If-Match header"), and read if ``with_get``."""
    s3 = alice.client()
    bucket = unique("cdpol")
    s3.create_bucket(Bucket=bucket)
    bob_arn = f"arn:aws:iam::{bob.id}:root"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AllowConditionalDeletes",
            "Effect": "Allow",
            "Principal": {"AWS": bob_arn},
            "Action": "s3:DeleteObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"Null": {"s3:if-match": "false"}},
        }
    ]
    if with_get:
        statements.append(
            {
                "Sid": "AllowGetObjectBecauseConditionalDeleteIfMatchETag",
                "Effect": "Allow",
                "Principal": {"AWS": bob_arn},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        )
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(*statements))
    return bucket


def test_a_policy_can_allow_conditional_deletes_only(gateway: Gateway) -> None:
    alice, bob = new_tenant(gateway, "alice"), new_tenant(gateway, "bob")
    bucket = _shared_bucket(alice, bob, with_get=True)
    owner, other = alice.client(), bob.client()
    etags = {k: owner.put_object(Bucket=bucket, Key=k, Body=k.encode())["ETag"] for k in "abc"}
    expect_error("AccessDenied", 403, other.delete_object, Bucket=bucket, Key="a")
    other.delete_object(Bucket=bucket, Key="a", IfMatch=etags["a"])
    result = other.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "b"}, {"Key": "c", "ETag": etags["c"]}]}
    )
    assert [d["Key"] for d in result["Deleted"]] == ["c"]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("b", "AccessDenied")]
    assert keys_of(owner, bucket) == ["b"]


def test_without_get_object_only_the_star_form_is_allowed(gateway: Gateway) -> None:
    alice, bob = new_tenant(gateway, "alice"), new_tenant(gateway, "bob")
    bucket = _shared_bucket(alice, bob, with_get=False)
    owner, other = alice.client(), bob.client()
    etag = owner.put_object(Bucket=bucket, Key="k", Body=b"v1")["ETag"]
    expect_error("AccessDenied", 403, other.delete_object, Bucket=bucket, Key="k", IfMatch=etag)
    result = other.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k", "ETag": etag}]})
    assert [e["Code"] for e in result["Errors"]] == ["AccessDenied"]
    assert keys_of(owner, bucket) == ["k"]
    other.delete_object(Bucket=bucket, Key="k", IfMatch="*")
    assert keys_of(owner, bucket) == []


def test_a_deny_policy_refuses_unconditional_deletes_even_to_the_owner(gateway: Gateway) -> None:
    s3 = gateway.client()
    bucket = unique("cdneed")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=policy(
            {
                "Sid": "DenyUnconditionalDeletes",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:DeleteObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": {"Null": {"s3:if-match": "true"}},
            },
            {
                "Sid": "DenyUnconditionalWrites",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": {"Null": {"s3:if-none-match": "true", "s3:if-match": "true"}},
            },
        ),
    )
    expect_error("AccessDenied", 403, s3.put_object, Bucket=bucket, Key="k", Body=b"v0")
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"v1", IfNoneMatch="*")["ETag"]
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"v2", IfMatch=etag)["ETag"]
    s3.put_object(Bucket=bucket, Key="other", Body=b"x", IfNoneMatch="*")
    expect_error("AccessDenied", 403, s3.delete_object, Bucket=bucket, Key="k")
    result = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "k"}, {"Key": "other", "ETag": "*"}]}
    )
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("k", "AccessDenied")]
    s3.delete_object(Bucket=bucket, Key="k", IfMatch=etag)
    assert keys_of(s3, bucket) == []
