"""Regression class: a policy action the gateway accepts but never decides.

``s3:BypassGovernanceRetention`` was accepted in bucket policies, but whether
``x-amz-bypass-governance-retention: true`` took effect was read from the caller's own
``bypass:governance`` scope alone. A Deny on the action in the bucket policy stopped
nobody, and another account allowed only ``s3:DeleteObjectVersion`` (or
``s3:PutObjectRetention``) deleted or shortened versions the bucket owner's Object Lock
protected, with its own admin key. AWS decides the bypass as an action of its own: the
bucket policy's Deny refuses it, another account needs its Allow.

The table test keeps the class closed: every action a policy may name is either decided
on some request path or is one the gateway never performs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.authz.actions import ACTIONS, versioned_action
from gateway.s3.operations import OPERATIONS
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import expect_error, unique
from tests.e2e.tenants import Tenant, new_tenant

DECIDED_BESIDE_ROWS = frozenset(
    {
        "s3:GetObject",  # a copy's source, GetObjectAttributes, conditional deletes
        "s3:PutObjectTagging",  # a write carrying x-amz-tagging
        "s3:BypassGovernanceRetention",  # x-amz-bypass-governance-retention: true
    }
)
"""Actions ``gateway/s3/access.py`` decides besides the operation rows' own."""
NEVER_PERFORMED = frozenset(
    {
        "s3:GetAccountPublicAccessBlock",
        "s3:PutAccountPublicAccessBlock",
        "s3:GetObjectVersionForReplication",
        "s3:InitiateReplication",
        "s3:ReplicateDelete",
        "s3:ReplicateObject",
        "s3:ReplicateTags",
        "s3:ObjectOwnerOverrideToBucketOwner",
        "s3:ListObjectAnnotations",
    }
)
"""Accepted so that policies written for AWS validate; no request of the gateway does
what they govern (account-level settings are the gateway's configuration, replication
and annotation listing do not exist)."""


def test_every_action_a_policy_names_is_decided_or_never_performed() -> None:
    decided: set[str] = set(DECIDED_BESIDE_ROWS)
    for op in OPERATIONS:
        decided |= {op.action, versioned_action(op.action, version_id="v")}
    assert set(ACTIONS) - decided == NEVER_PERFORMED
    assert not NEVER_PERFORMED & decided


@pytest.fixture(scope="module")
def tenants(gateway: Gateway) -> tuple[Tenant, Tenant]:
    return new_tenant(gateway, "lockowner"), new_tenant(gateway, "partner")


def _locked_bucket(s3: Any) -> str:
    name = unique("bypass")
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def _governed(s3: Any, bucket: str, key: str) -> str:
    until = datetime.now(UTC) + timedelta(days=1)
    put = s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=b"kept",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=until,
    )
    return str(put["VersionId"])


def _policy(bucket: str, *statements: dict[str, Any]) -> str:
    for statement in statements:
        statement.setdefault("Resource", f"arn:aws:s3:::{bucket}/*")
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _versions(s3: Any, bucket: str) -> list[str]:
    return [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket).get("Versions", [])]


def test_a_deny_on_the_bypass_holds_for_the_owner_too(tenants: tuple[Tenant, Tenant]) -> None:
    owner, _ = tenants
    s3 = owner.client()
    bucket = _locked_bucket(s3)
    version = _governed(s3, bucket, "k")
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:BypassGovernanceRetention"}
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, deny))
    expect_error(
        "AccessDenied", 403, s3.delete_object, Bucket=bucket, Key="k", VersionId=version,
        BypassGovernanceRetention=True,
    )  # fmt: skip
    shorter = {"Mode": "GOVERNANCE", "RetainUntilDate": datetime.now(UTC) + timedelta(hours=1)}
    expect_error(
        "AccessDenied", 403, s3.put_object_retention, Bucket=bucket, Key="k",
        VersionId=version, Retention=shorter, BypassGovernanceRetention=True,
    )  # fmt: skip
    answer = s3.delete_objects(
        Bucket=bucket,
        BypassGovernanceRetention=True,
        Delete={"Objects": [{"Key": "k", "VersionId": version}]},
    )
    assert [e["Code"] for e in answer.get("Errors", [])] == ["AccessDenied"]
    assert _versions(s3, bucket) == [version]
    s3.delete_bucket_policy(Bucket=bucket)
    s3.delete_object(Bucket=bucket, Key="k", VersionId=version, BypassGovernanceRetention=True)
    assert _versions(s3, bucket) == []


def test_another_account_bypasses_only_with_the_policys_allow(
    tenants: tuple[Tenant, Tenant],
) -> None:
    owner, partner = tenants
    s3, p3 = owner.client(), partner.client()
    bucket = _locked_bucket(s3)
    first, second = _governed(s3, bucket, "a"), _governed(s3, bucket, "b")
    delete = {
        "Effect": "Allow",
        "Principal": {"AWS": partner.id},
        "Action": ["s3:DeleteObjectVersion", "s3:PutObjectRetention"],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, dict(delete)))
    # The partner's own admin key carries bypass:governance; the bucket never allowed it.
    expect_error(
        "AccessDenied", 403, p3.delete_object, Bucket=bucket, Key="a", VersionId=first,
        BypassGovernanceRetention=True,
    )  # fmt: skip
    expect_error(
        "AccessDenied", 403, p3.put_object_retention, Bucket=bucket, Key="a",
        VersionId=first, Retention={}, BypassGovernanceRetention=True,
    )  # fmt: skip
    answer = p3.delete_objects(
        Bucket=bucket,
        BypassGovernanceRetention=True,
        Delete={"Objects": [{"Key": "b", "VersionId": second}]},
    )
    assert [e["Code"] for e in answer.get("Errors", [])] == ["AccessDenied"]
    assert sorted(_versions(s3, bucket)) == sorted([first, second])
    bypass = {
        "Effect": "Allow",
        "Principal": {"AWS": partner.id},
        "Action": "s3:BypassGovernanceRetention",
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, dict(delete), bypass))
    p3.delete_object(Bucket=bucket, Key="a", VersionId=first, BypassGovernanceRetention=True)
    answer = p3.delete_objects(
        Bucket=bucket,
        BypassGovernanceRetention=True,
        Delete={"Objects": [{"Key": "b", "VersionId": second}]},
    )
    assert "Errors" not in answer
    assert _versions(s3, bucket) == []
