"""Regression class: the bucket policy managed from outside the bucket owner's account.

A bucket policy granting ``s3:PutBucketPolicy`` (or ``s3:*`` on the bucket) to another
account, or to ``*``, let that caller replace the policy, granting itself everything or
removing the owner's Denys, and read or delete it. AWS keeps GetBucketPolicy,
PutBucketPolicy and DeleteBucketPolicy to identities of the bucket owner's account: a
caller without the permission hears 403, one with it but from elsewhere
``405 MethodNotAllowed``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import expect_error
from tests.e2e.tenants import Tenant, anonymous_client, new_tenant

MANAGE = ["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"]


@pytest.fixture(scope="module")
def tenants(gateway: Gateway) -> tuple[Tenant, Tenant]:
    return new_tenant(gateway, "polowner"), new_tenant(gateway, "polguest")


def _document(bucket: str, principal: object, actions: list[str]) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": principal,
        "Action": actions,
        "Resource": f"arn:aws:s3:::{bucket}",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _calls(client: Any, bucket: str) -> list[tuple[Any, dict[str, Any]]]:
    takeover = _document(bucket, "*", ["s3:*"])
    return [
        (client.get_bucket_policy, {"Bucket": bucket}),
        (client.put_bucket_policy, {"Bucket": bucket, "Policy": takeover}),
        (client.delete_bucket_policy, {"Bucket": bucket}),
    ]


@pytest.mark.parametrize("grantee", ["account", "everyone"])
def test_only_the_owners_account_manages_the_policy(
    gateway: Gateway, tenants: tuple[Tenant, Tenant], grantee: str
) -> None:
    owner, guest = tenants
    s3 = owner.client()
    bucket = f"polmgmt-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    caller = guest.client() if grantee == "account" else anonymous_client(gateway)
    for call, kwargs in _calls(caller, bucket):  # no grant yet
        expect_error("AccessDenied", 403, call, **kwargs)
    principal = {"AWS": guest.id} if grantee == "account" else "*"
    document = _document(bucket, principal, [*MANAGE, "s3:ListBucket"])
    s3.put_bucket_policy(Bucket=bucket, Policy=document)
    caller.list_objects_v2(Bucket=bucket)  # the same policy's other grants work
    for call, kwargs in _calls(caller, bucket):
        expect_error("MethodNotAllowed", 405, call, **kwargs)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(document)
    s3.delete_bucket_policy(Bucket=bucket)
