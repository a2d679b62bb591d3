"""Scope x S3 operation family, through boto3, with keys made by the REST API.

The expectation table is written out here (not derived from the gateway's operation
table) so that a change to either shows up as a failing cell.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import make_key

SCOPES = [
    "read:objects",
    "write:objects",
    "delete:objects",
    "read:buckets",
    "write:buckets",
    "admin",
    "read:agents",  # no storage rights at all
]

# Operation -> the scopes (any one of which suffices, beyond admin) it needs. CopyObject
# needs both read and write of objects.
NEEDS: dict[str, set[str] | tuple[str, str]] = {
    "ListBuckets": {"read:buckets"},
    "CreateBucket": {"write:buckets"},
    "DeleteBucket": {"write:buckets"},
    "HeadBucket": {"read:buckets"},
    "PutObject": {"write:objects"},
    "GetObject": {"read:objects"},
    "HeadObject": {"read:objects"},
    "ListObjectsV2": {"read:objects"},
    "DeleteObject": {"delete:objects", "write:objects"},
    "DeleteObjects": {"delete:objects", "write:objects"},
    "CopyObject": ("read:objects", "write:objects"),
    "CreateMultipartUpload": {"write:objects"},
}


def allowed(scope: str, operation: str) -> bool:
    if scope == "admin":
        return True
    need = NEEDS[operation]
    if isinstance(need, tuple):
        return False  # one scope never holds both
    return scope in need


def _new_bucket(admin: Any) -> str:
    name = f"mx-{uuid.uuid4().hex[:12]}"
    admin.create_bucket(Bucket=name)
    return name


Op = Callable[[Any, Any, str], None]


def _create_bucket(s3: Any, admin: Any, bucket: str) -> None:
    s3.create_bucket(Bucket=f"mx-{uuid.uuid4().hex[:12]}")


def _delete_bucket(s3: Any, admin: Any, bucket: str) -> None:
    s3.delete_bucket(Bucket=_new_bucket(admin))


def _copy(s3: Any, admin: Any, bucket: str) -> None:
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "seed"})


def _multipart(s3: Any, admin: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")
    admin.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload["UploadId"])


OPERATIONS: dict[str, Op] = {
    "ListBuckets": lambda s3, admin, b: s3.list_buckets(),
    "CreateBucket": _create_bucket,
    "DeleteBucket": _delete_bucket,
    "HeadBucket": lambda s3, admin, b: s3.head_bucket(Bucket=b),
    "PutObject": lambda s3, admin, b: s3.put_object(Bucket=b, Key="new", Body=b"x"),
    "GetObject": lambda s3, admin, b: s3.get_object(Bucket=b, Key="seed")["Body"].read(),
    "HeadObject": lambda s3, admin, b: s3.head_object(Bucket=b, Key="seed"),
    "ListObjectsV2": lambda s3, admin, b: s3.list_objects_v2(Bucket=b),
    "DeleteObject": lambda s3, admin, b: s3.delete_object(Bucket=b, Key="seed"),
    "DeleteObjects": lambda s3, admin, b: s3.delete_objects(
        Bucket=b, Delete={"Objects": [{"Key": "seed"}]}
    ),
    "CopyObject": _copy,
    "CreateMultipartUpload": _multipart,
}


@pytest.fixture(scope="module")
def scope_clients(gateway: Gateway) -> dict[str, Any]:
    return {
        scope: gateway.client(made["access_key_id"], made["secret_access_key"])
        for scope in SCOPES
        for made in [make_key(gateway, name=f"matrix {scope}", scopes=[scope])]
    }


def test_expectation_table_covers_every_family() -> None:
    assert set(NEEDS) == set(OPERATIONS)


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("scope", SCOPES)
def test_scope_operation(
    gateway: Gateway, scope_clients: dict[str, Any], scope: str, operation: str
) -> None:
    admin = gateway.client()
    bucket = _new_bucket(admin)
    admin.put_object(Bucket=bucket, Key="seed", Body=b"seed")
    s3 = scope_clients[scope]
    if allowed(scope, operation):
        OPERATIONS[operation](s3, admin, bucket)
        return
    with pytest.raises(ClientError) as info:
        OPERATIONS[operation](s3, admin, bucket)
    error = info.value.response["Error"]["Code"]
    status = info.value.response["ResponseMetadata"]["HTTPStatusCode"]
    assert (error, status) in {("AccessDenied", 403), ("403", 403)}, info.value.response
    # A denied write left nothing behind.
    assert admin.get_object(Bucket=bucket, Key="seed")["Body"].read() == b"seed"
    keys = [o["Key"] for o in admin.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["seed"]
