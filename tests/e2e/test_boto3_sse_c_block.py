"""Blocking SSE-C for a bucket (PutBucketEncryption's ``BlockedEncryptionTypes``), on
every backend, through boto3 and browser form uploads.

Before it was read, a bucket owner who blocked SSE-C got a success and SSE-C writes went
on being accepted: a security setting taken and not enforced. Now every write that names
a customer key is 403 ``AccessDenied`` and stores nothing, while objects already written
with SSE-C stay readable with their key (decided by the gateway, so the s3 backend's
store need not know the setting).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.e2e.post_util import post_form, presigned_post
from tests.e2e.rest_util import api_json
from tests.e2e.s3util import expect_error, keys_of, unique, upstream

KEY = hashlib.sha256(b"sse-c block test key").digest()
SSEC = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": KEY}
SOURCE_SSEC = {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": KEY}
DEFAULT_AES = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}


def _block(s3: Any, bucket: str, value: str, *, default: bool = True) -> None:
    rule: dict[str, Any] = {"BlockedEncryptionTypes": {"EncryptionType": [value]}}
    if default:
        rule.update(DEFAULT_AES)
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [rule]})


def _rule(s3: Any, bucket: str) -> dict[str, Any]:
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert len(rules) == 1
    rule: dict[str, Any] = rules[0]
    return rule


def _blocked_writes(s3: Any, bucket: str) -> dict[str, Any]:
    """Each write S3 refuses once SSE-C is blocked, as a callable."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    return {
        "PutObject": lambda: s3.put_object(Bucket=bucket, Key="new", Body=b"x", **SSEC),
        "CopyObject": lambda: s3.copy_object(
            Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "plain"}, **SSEC
        ),
        "CreateMultipartUpload": lambda: s3.create_multipart_upload(
            Bucket=bucket, Key="mp2", **SSEC
        ),
        "UploadPart": lambda: s3.upload_part(
            Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"x", **SSEC
        ),
        "UploadPartCopy": lambda: s3.upload_part_copy(
            Bucket=bucket,
            Key="mp",
            UploadId=upload,
            PartNumber=1,
            CopySource={"Bucket": bucket, "Key": "plain"},
            **SSEC,
        ),
    }


def test_a_blocked_bucket_refuses_every_sse_c_write(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="plain", Body=b"plain")
    _block(s3, bucket, "SSE-C", default=False)  # (SeaweedFS here has no SSE-S3 keys)
    assert _rule(s3, bucket)["BlockedEncryptionTypes"] == {"EncryptionType": ["SSE-C"]}
    for name, write in _blocked_writes(s3, bucket).items():
        error = expect_error("AccessDenied", 403, write)
        assert "SSE-C" in error.response["Error"]["Message"], name
    assert keys_of(s3, bucket) == ["plain"]
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [u["Key"] for u in uploads] == ["mp"]  # the one made before, without SSE-C
    assert (
        s3.list_parts(Bucket=bucket, Key="mp", UploadId=uploads[0]["UploadId"]).get("Parts", [])
        == []
    )
    # writes without a customer key go on
    s3.put_object(Bucket=bucket, Key="other", Body=b"y")
    assert keys_of(s3, bucket) == ["other", "plain"]


def test_a_blocked_form_upload_stores_nothing(any_gateway: Gateway, s3: Any, bucket: str) -> None:
    _block(s3, bucket, "SSE-C", default=False)
    fields = {
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": base64.b64encode(KEY).decode(),
        "x-amz-server-side-encryption-customer-key-MD5": base64.b64encode(
            hashlib.md5(KEY).digest()
        ).decode(),
    }
    form = presigned_post(
        any_gateway.client(signature_version="s3v4"),
        bucket,
        "form.bin",
        Fields=fields,
        Conditions=[{name: value} for name, value in fields.items()],
    )
    reply = post_form(any_gateway, bucket, form, os.urandom(100))
    assert reply.status == 403, reply.body
    assert b"<Code>AccessDenied</Code>" in reply.body
    assert keys_of(s3, bucket) == []


def test_none_allows_sse_c_again_and_old_objects_stay_readable(
    s3: Any, bucket: str, request: pytest.FixtureRequest
) -> None:
    if upstream(request):
        # moto ignores SSE-C, so the s3 backend refuses it (docs/upstream-backend.md):
        # allowing SSE-C on the bucket must not change that
        _block(s3, bucket, "NONE", default=False)
        expect_error(
            "NotImplemented", 501, s3.put_object, Bucket=bucket, Key="k", Body=b"x", **SSEC
        )
        assert keys_of(s3, bucket) == []
        return
    s3.put_object(Bucket=bucket, Key="sealed", Body=b"secret", **SSEC)
    _block(s3, bucket, "SSE-C", default=False)
    got = s3.get_object(Bucket=bucket, Key="sealed", **SSEC)
    assert got["Body"].read() == b"secret"  # reads with the key stay allowed
    s3.copy_object(  # so does a copy out of it, to a write without a customer key
        Bucket=bucket, Key="opened", CopySource={"Bucket": bucket, "Key": "sealed"}, **SOURCE_SSEC
    )
    assert s3.get_object(Bucket=bucket, Key="opened")["Body"].read() == b"secret"
    _block(s3, bucket, "NONE", default=False)
    expect_error(
        "ServerSideEncryptionConfigurationNotFoundError", 404, s3.get_bucket_encryption,
        Bucket=bucket,
    )  # fmt: skip
    s3.put_object(Bucket=bucket, Key="again", Body=b"again", **SSEC)
    assert s3.get_object(Bucket=bucket, Key="again", **SSEC)["Body"].read() == b"again"


def test_what_leaves_the_block_alone(s3: Any, bucket: str) -> None:
    """Our choices where S3 is silent: a rule without BlockedEncryptionTypes leaves the
    block as it was, a rule with only it changes only it, and DeleteBucketEncryption
    removes the default but not the block."""
    _block(s3, bucket, "SSE-C", default=False)  # only the block: no default is set
    assert _rule(s3, bucket) == {"BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}
    s3.put_bucket_encryption(
        Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [DEFAULT_AES]}
    )
    rule = _rule(s3, bucket)
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert rule["BlockedEncryptionTypes"] == {"EncryptionType": ["SSE-C"]}
    s3.delete_bucket_encryption(Bucket=bucket)
    assert _rule(s3, bucket) == {"BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}
    expect_error("AccessDenied", 403, s3.put_object, Bucket=bucket, Key="k", Body=b"x", **SSEC)
    _block(s3, bucket, "NONE", default=False)
    expect_error(
        "ServerSideEncryptionConfigurationNotFoundError", 404, s3.get_bucket_encryption,
        Bucket=bucket,
    )  # fmt: skip


@pytest.mark.parametrize(
    "types",
    [["SSE-KMS"], ["SSE-C", "NONE"], []],
    ids=["unknown", "both", "empty"],
)
def test_a_malformed_block_changes_nothing(s3: Any, bucket: str, types: list[str]) -> None:
    rule: dict[str, Any] = {**DEFAULT_AES, "BlockedEncryptionTypes": {"EncryptionType": types}}
    expect_error(
        "MalformedXML", 400, s3.put_bucket_encryption, Bucket=bucket,
        ServerSideEncryptionConfiguration={"Rules": [rule]},
    )  # fmt: skip
    expect_error(
        "ServerSideEncryptionConfigurationNotFoundError", 404, s3.get_bucket_encryption,
        Bucket=bucket,
    )  # fmt: skip


def test_the_block_needs_the_encryption_permission(gateway: Gateway) -> None:
    """Blocking or allowing SSE-C is PutBucketEncryption: s3:PutEncryptionConfiguration;
    a policy denying it keeps SSE-C as it is."""
    s3 = gateway.client()
    bucket = unique("ssec")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=(
            '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*",'
            '"Action":"s3:PutEncryptionConfiguration",'
            f'"Resource":"arn:aws:s3:::{bucket}"}}]}}'
        ),
    )
    expect_error(
        "AccessDenied", 403, s3.put_bucket_encryption, Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}]
        },
    )  # fmt: skip
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", **SSEC)


@pytest.fixture(scope="module")
def blocking_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(
        tmp_path_factory, "ssec-block", extra_env={"NFYIO_S3_BLOCK_SSE_C_ON_NEW_BUCKETS": "true"}
    )


def test_new_buckets_can_start_blocked(blocking_gateway: Gateway) -> None:
    """``[s3] block_sse_c_on_new_buckets``: what AWS's new buckets do since April 2026."""
    s3 = blocking_gateway.client()
    bucket = unique("ssec")
    s3.create_bucket(Bucket=bucket)
    assert _rule(s3, bucket) == {"BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}
    expect_error("AccessDenied", 403, s3.put_object, Bucket=bucket, Key="k", Body=b"x", **SSEC)
    _block(s3, bucket, "NONE", default=False)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", **SSEC)
    assert s3.get_object(Bucket=bucket, Key="k", **SSEC)["Body"].read() == b"x"
    made_by_rest = unique("ssec")  # the REST API's creations start blocked too
    api_json(blocking_gateway, "POST", "/v1/buckets", body={"name": made_by_rest}, expect=201)
    assert _rule(s3, made_by_rest) == {"BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}
