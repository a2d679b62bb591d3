"""Regression class: a condition counted as pinning a policy's callers that admits the
public.

A policy is public unless its conditions pin callers to fixed values; ``aws:userid``
with a fixed value pins, but ``anonymous`` is the fixed value of every anonymous caller.
``"StringEquals": {"aws:userid": "anonymous"}`` on ``Principal: "*"`` was judged
non-public: BlockPublicPolicy accepted it, GetBucketPolicyStatus said ``false``, and
RestrictPublicBuckets did not apply, so anyone read the bucket the block was to close.

The same for source addresses: only a ``/0`` counted as public, so ``0.0.0.0/1`` (half
the Internet, this test's caller included), or ``0.0.0.0/1`` with ``128.0.0.0/1`` (all of
it), passed BlockPublicPolicy and kept RestrictPublicBuckets from applying. An
``aws:SourceIp`` set pins only up to an IPv4 ``/8`` and an IPv6 ``/32`` of addresses
(docs/access-control.md).

The invariant: with RestrictPublicBuckets on, no condition the gateway counts as pinning
lets an anonymous caller in (a narrow CIDR aside: AWS counts one as a pin, and the tests'
caller is outside the one used here).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import expect_error
from tests.e2e.tenants import (
    Tenant,
    anonymous_client,
    bucket_with_object,
    new_tenant,
    public_read,
)

ANONYMOUS_PINS: list[dict[str, Any]] = [
    {"StringEquals": {"aws:userid": "anonymous"}},
    {"StringEqualsIgnoreCase": {"aws:userid": "ANONYMOUS"}},
    {"StringLike": {"aws:userid": "anonymous"}},
    {"StringEquals": {"aws:userid": ["acct_nobody", "anonymous"]}},
    {"IpAddress": {"aws:SourceIp": "0.0.0.0/1"}},
    {"IpAddress": {"aws:SourceIp": ["0.0.0.0/1", "128.0.0.0/1"]}},
    {"IpAddress": {"aws:SourceIp": "64.0.0.0/2"}},
    {"IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "2001:db8::/31"]}},
]
"""Conditions that name the public while looking fixed (the caller is 127.0.0.1)."""
REAL_PINS: list[dict[str, Any]] = [
    {"StringEquals": {"aws:userid": "acct_nobody"}},
    {"StringEquals": {"aws:PrincipalAccount": "acct_nobody"}},
    {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}},
    {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}},
    {"StringLike": {"aws:userid": "AROAEXAMPLEROLEID:*"}},
    {"StringLike": {"aws:userid": ["AROAEXAMPLEROLEID:*", "acct_nobody"]}},
]
"""Conditions that do pin (and keep the policy non-public). ``AROLEID:*`` is every
session of one role: AWS's "The meaning of public" counts it as fixed."""
NOT_ROLE_SESSIONS: list[dict[str, Any]] = [
    {"StringLike": {"aws:userid": "*:*"}},
    {"StringLike": {"aws:userid": "AROA*:*"}},
    {"StringLike": {"aws:userid": "AROAEXAMPLE?ROLEID:*"}},
    {"StringLike": {"aws:userid": "AROAEXAMPLEROLEID*"}},
    {"StringLike": {"aws:userid": "AROAEXAMPLEROLEID:*x"}},
    {"StringLike": {"aws:userid": ":*"}},
    {"StringLike": {"aws:userid": "${aws:username}:*"}},
    {"StringLike": {"aws:PrincipalAccount": "AROAEXAMPLEROLEID:*"}},
]
"""Wildcards that are not the role-session form (an id not fixed, a wildcard elsewhere,
another key): public, as before."""


@pytest.fixture(scope="module")
def owner(gateway: Gateway) -> Tenant:
    return new_tenant(gateway, "pins")


@pytest.mark.parametrize("condition", ANONYMOUS_PINS + REAL_PINS, ids=json.dumps)
def test_restrict_public_buckets_lets_no_anonymous_caller_in(
    gateway: Gateway, owner: Tenant, condition: dict[str, Any]
) -> None:
    s3, bucket = bucket_with_object(owner, "pins", b"private", RestrictPublicBuckets=True)
    s3.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket, condition))
    public = s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"]
    assert public is (condition in ANONYMOUS_PINS)
    anon = anonymous_client(gateway)
    expect_error("AccessDenied", 403, anon.get_object, Bucket=bucket, Key="k")


@pytest.mark.parametrize("condition", ANONYMOUS_PINS, ids=json.dumps)
def test_block_public_policy_refuses_a_policy_admitting_the_public(
    owner: Tenant, condition: dict[str, Any]
) -> None:
    s3, bucket = bucket_with_object(owner, "pins", b"private", BlockPublicPolicy=True)
    expect_error(
        "AccessDenied",
        403,
        s3.put_bucket_policy,
        Bucket=bucket,
        Policy=public_read(bucket, condition),
    )


@pytest.mark.parametrize("condition", NOT_ROLE_SESSIONS, ids=json.dumps)
def test_only_a_fixed_role_id_then_colon_star_pins(
    owner: Tenant, condition: dict[str, Any]
) -> None:
    s3, bucket = bucket_with_object(owner, "pins", b"private", BlockPublicPolicy=True)
    expect_error(
        "AccessDenied",
        403,
        s3.put_bucket_policy,
        Bucket=bucket,
        Policy=public_read(bucket, condition),
    )
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket, condition))
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True


def test_a_narrow_source_range_pins_even_for_its_own_callers(owner: Tenant) -> None:
    """The threshold's other side: a ``/8`` holding the caller is a pin (AWS's "set of
    CIDRs"), so BlockPublicPolicy accepts it and the policy's grant stands."""
    s3, bucket = bucket_with_object(owner, "pins", b"private", BlockPublicPolicy=True)
    condition = {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}
    s3.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket, condition))
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False


@pytest.mark.parametrize(
    "key", ["aws:SourceVpc", "aws:SourceArn", "s3:x-amz-server-side-encryption-aws-kms-key-id"]
)
def test_pins_the_gateway_cannot_evaluate_are_refused(owner: Tenant, key: str) -> None:
    """AWS lists more keys whose fixed values pin; the gateway has no callers with them,
    and a policy naming one is malformed here rather than judged private on a value no
    request carries."""
    s3, bucket = bucket_with_object(owner, "pins", b"private")
    policy = public_read(bucket, {"StringEquals": {key: "fixed-value"}})
    expect_error("MalformedPolicy", 400, s3.put_bucket_policy, Bucket=bucket, Policy=policy)
