"""Whether a bucket policy is public (GetBucketPolicyStatus, BlockPublicPolicy,
RestrictPublicBuckets), after AWS's "The meaning of public"."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.authz import is_public
from tests.gateway.authz.builders import OTHER, policy, stmt


def cond(**block: Any) -> dict[str, Any]:
    return {"Condition": block}


CASES: list[tuple[str, list[dict[str, Any]], bool]] = [
    ("principal star", [stmt()], True),
    ("AWS star", [stmt(principal={"AWS": "*"})], True),
    ("star among fixed principals", [stmt(principal={"AWS": [OTHER.account_id, "*"]})], True),
    ("fixed account", [stmt(principal={"AWS": OTHER.account_id})], False),
    ("fixed user", [stmt(principal={"AWS": f"arn:aws:iam::{OTHER.account_id}:user/u"})], False),
    ("canonical user", [stmt(principal={"CanonicalUser": OTHER.canonical_id})], False),
    ("deny to everyone", [stmt("Deny")], False),
    (
        "NotPrincipal allow reaches unnamed callers",
        [stmt(NotPrincipal={"AWS": OTHER.account_id})],
        True,
    ),
    ("NotPrincipal deny", [stmt("Deny", NotPrincipal={"AWS": OTHER.account_id})], False),
    ("source IP range", [stmt(**cond(IpAddress={"aws:SourceIp": "192.0.2.0/24"}))], False),
    (
        "source IP list",
        [stmt(**cond(IpAddress={"aws:SourceIp": ["192.0.2.0/24", "2001:db8::/32"]}))],
        False,
    ),
    (
        "the whole IPv4 space pins nothing",
        [stmt(**cond(IpAddress={"aws:SourceIp": "0.0.0.0/0"}))],
        True,
    ),
    (
        "the whole IPv6 space pins nothing",
        [stmt(**cond(IpAddress={"aws:SourceIp": ["10.0.0.0/8", "::/0"]}))],
        True,
    ),
    ("an IPv4 /8 pins", [stmt(**cond(IpAddress={"aws:SourceIp": "10.0.0.0/8"}))], False),
    ("an IPv4 /7 is public", [stmt(**cond(IpAddress={"aws:SourceIp": "10.0.0.0/7"}))], True),
    ("half the IPv4 space", [stmt(**cond(IpAddress={"aws:SourceIp": "0.0.0.0/1"}))], True),
    (
        "two halves are the whole IPv4 space",
        [stmt(**cond(IpAddress={"aws:SourceIp": ["0.0.0.0/1", "128.0.0.0/1"]}))],
        True,
    ),
    (
        "narrow CIDRs that add up past a /8",
        [stmt(**cond(IpAddress={"aws:SourceIp": ["10.0.0.0/8", "11.0.0.0/9"]}))],
        True,
    ),
    (
        "overlapping CIDRs count once",
        [stmt(**cond(IpAddress={"aws:SourceIp": ["10.0.0.0/8", "10.1.0.0/16", "10.2.3.4"]}))],
        False,
    ),
    ("an IPv6 /32 pins", [stmt(**cond(IpAddress={"aws:SourceIp": "2001:db8::/32"}))], False),
    ("an IPv6 /31 is public", [stmt(**cond(IpAddress={"aws:SourceIp": "2001:db8::/31"}))], True),
    ("half the IPv6 space", [stmt(**cond(IpAddress={"aws:SourceIp": "::/1"}))], True),
    (
        "each IP version within its bound pins",
        [stmt(**cond(IpAddress={"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}))],
        False,
    ),
    (
        "one wide IP version is public",
        [stmt(**cond(IpAddress={"aws:SourceIp": ["192.0.2.0/24", "2000::/3"]}))],
        True,
    ),
    (
        "NotIpAddress pins nothing",
        [stmt(**cond(NotIpAddress={"aws:SourceIp": "192.0.2.0/24"}))],
        True,
    ),
    (
        "IpAddressIfExists pins nothing",
        [stmt(**cond(IpAddressIfExists={"aws:SourceIp": "192.0.2.0/24"}))],
        True,
    ),
    (
        "fixed principal account",
        [stmt(**cond(StringEquals={"aws:PrincipalAccount": OTHER.account_id}))],
        False,
    ),
    (
        "principal account with a wildcard",
        [stmt(**cond(StringLike={"aws:PrincipalAccount": "acct_*"}))],
        True,
    ),
    (
        "StringLike without wildcard pins",
        [stmt(**cond(StringLike={"aws:PrincipalAccount": OTHER.account_id}))],
        False,
    ),
    ("fixed userid", [stmt(**cond(StringEquals={"aws:userid": "usr_1"}))], False),
    (
        "userid from a variable",
        [stmt(**cond(StringEquals={"aws:userid": "${aws:username}"}))],
        True,
    ),
    (
        "negated account test pins nothing",
        [stmt(**cond(StringNotEquals={"aws:PrincipalAccount": OTHER.account_id}))],
        True,
    ),
    (
        "ForAllValues pins nothing",
        [stmt(**cond(**{"ForAllValues:StringEquals": {"aws:PrincipalAccount": OTHER.account_id}}))],
        True,
    ),
    ("secure transport pins nothing", [stmt(**cond(Bool={"aws:SecureTransport": "true"}))], True),
    (
        "a prefix condition pins nothing",
        [stmt(**cond(StringEquals={"s3:x-amz-acl": "private"}))],
        True,
    ),
    (
        "one public statement among private ones",
        [stmt(principal={"AWS": OTHER.account_id}), stmt(Sid="pub")],
        True,
    ),
    ("any action counts", [stmt(action="s3:GetBucketLocation", resource="arn:aws:s3:::b")], True),
]


@pytest.mark.parametrize(("name", "statements", "public"), CASES, ids=[c[0] for c in CASES])
def test_is_public(name: str, statements: list[dict[str, Any]], public: bool) -> None:
    assert is_public(policy(*statements)) is public


def test_no_policy_is_not_public() -> None:
    assert is_public(None) is False
