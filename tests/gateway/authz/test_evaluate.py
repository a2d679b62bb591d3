"""Bucket policy evaluation, one row per tricky case: (statements, caller, action,
resource, request) -> explicit deny, allow, or nothing (implicit deny)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from gateway.authz import PrincipalFacts, evaluate, resource_arn
from tests.gateway.authz.builders import (
    ANONYMOUS,
    NOW,
    OTHER,
    OWNER,
    THIRD,
    account,
    ctx,
    policy,
    stmt,
    user,
)

ALLOW, DENY, NONE = "allow", "deny", "none"
B = "arn:aws:s3:::b"
OBJECTS = "arn:aws:s3:::b/*"


@dataclass
class Case:
    name: str
    statements: list[dict[str, Any]]
    expected: str
    caller: PrincipalFacts = field(default_factory=lambda: account(OTHER))
    action: str = "s3:GetObject"
    key: str | None = "k"
    context: dict[str, Any] = field(default_factory=dict)
    version: str = "2012-10-17"


def _cond(**block: Any) -> dict[str, Any]:
    return {"Condition": block}


CASES = [
    # --- effect ranking ----------------------------------------------------------------
    Case("allow matches", [stmt()], ALLOW),
    Case("nothing matches: implicit deny", [stmt(action="s3:PutObject")], NONE),
    Case("deny after allow wins", [stmt(), stmt("Deny")], DENY),
    Case("deny before allow wins", [stmt("Deny"), stmt()], DENY),
    Case(
        "deny for another action leaves allow", [stmt(), stmt("Deny", action="s3:PutObject")], ALLOW
    ),
    # --- actions ---------------------------------------------------------------------------
    Case("action names are case-insensitive", [stmt(action="S3:getobject")], ALLOW),
    Case("prefix wildcard", [stmt(action="s3:Get*")], ALLOW),
    Case(
        "prefix wildcard misses other verbs", [stmt(action="s3:Get*")], NONE, action="s3:PutObject"
    ),
    Case(
        "wildcard at the start of the name",
        [stmt(action="s3:*Object")],
        ALLOW,
        action="s3:DeleteObject",
    ),
    Case("wildcard in the middle", [stmt(action="s3:Get*Acl")], ALLOW, action="s3:GetObjectAcl"),
    Case("wildcard in the middle misses", [stmt(action="s3:Get*Acl")], NONE, action="s3:GetObject"),
    Case("single-character wildcard", [stmt(action="s3:GetO?ject")], ALLOW),
    Case("star alone is every action", [stmt(action="*")], ALLOW, action="s3:DeleteObject"),
    Case("action list is ORed", [stmt(action=["s3:PutObject", "s3:GetObject"])], ALLOW),
    Case(
        "NotAction with Deny denies everything else",
        [stmt(action="s3:*"), stmt("Deny", NotAction="s3:GetObject")],
        DENY,
        action="s3:PutObject",
    ),
    Case(
        "NotAction with Deny spares the listed action",
        [stmt(action="s3:*"), stmt("Deny", NotAction="s3:GetObject")],
        ALLOW,
    ),
    Case(
        "NotAction with Deny spares nothing it does not list, even bucket actions",
        [stmt("Deny", NotAction="s3:GetObject", resource=[B, OBJECTS])],
        DENY,
        action="s3:ListBucket",
        key=None,
    ),
    Case("NotAction with Allow grants the rest", [stmt(NotAction="s3:DeleteObject")], ALLOW),
    Case(
        "NotAction with Allow withholds the listed action",
        [stmt(NotAction="s3:Delete*")],
        NONE,
        action="s3:DeleteObject",
    ),
    # --- resources ---------------------------------------------------------------------------
    Case(
        "bucket ARN names the bucket",
        [stmt(action="s3:ListBucket", resource=B)],
        ALLOW,
        action="s3:ListBucket",
        key=None,
    ),
    Case(
        "objects ARN does not name the bucket",
        [stmt(action="s3:*", resource=OBJECTS)],
        NONE,
        action="s3:ListBucket",
        key=None,
    ),
    Case("bucket ARN does not name objects", [stmt(action="s3:*", resource=B)], NONE),
    Case("prefix resource", [stmt(resource="arn:aws:s3:::b/shared/*")], ALLOW, key="shared/x/y"),
    Case(
        "prefix resource misses other keys",
        [stmt(resource="arn:aws:s3:::b/shared/*")],
        NONE,
        key="private/x",
    ),
    Case("star crosses slashes", [stmt(resource="arn:aws:s3:::b/*.txt")], ALLOW, key="a/b/c.txt"),
    Case(
        "wildcard in the middle of a key",
        [stmt(resource="arn:aws:s3:::b/home/*/private/*")],
        ALLOW,
        key="home/alice/private/notes",
    ),
    Case(
        "wildcard in the middle of a key misses",
        [stmt(resource="arn:aws:s3:::b/home/*/private/*")],
        NONE,
        key="home/alice/public/notes",
    ),
    Case(
        "single-character wildcard in a key",
        [stmt(resource="arn:aws:s3:::b/log-202?.gz")],
        ALLOW,
        key="log-2024.gz",
    ),
    Case("keys are case-sensitive", [stmt(resource="arn:aws:s3:::b/Docs/*")], NONE, key="docs/a"),
    Case(
        "keys match as stored, spaces and all",
        [stmt(resource="arn:aws:s3:::b/a key/*")],
        ALLOW,
        key="a key/x",
    ),
    Case("resource star", [stmt(resource="*")], ALLOW),
    Case(
        "NotResource with Deny denies outside the listed prefix",
        [stmt(), stmt("Deny", NotResource="arn:aws:s3:::b/public/*")],
        DENY,
        key="private/x",
    ),
    Case(
        "NotResource with Deny spares the listed prefix",
        [stmt(), stmt("Deny", NotResource="arn:aws:s3:::b/public/*")],
        ALLOW,
        key="public/x",
    ),
    Case(
        "NotResource with Allow", [stmt(NotResource="arn:aws:s3:::b/secret/*")], ALLOW, key="open/x"
    ),
    Case(
        "NotResource with Allow withholds",
        [stmt(NotResource="arn:aws:s3:::b/secret/*")],
        NONE,
        key="secret/x",
    ),
    # --- principals --------------------------------------------------------------------------
    Case("star includes anonymous", [stmt()], ALLOW, caller=ANONYMOUS),
    Case("AWS star includes anonymous", [stmt(principal={"AWS": "*"})], ALLOW, caller=ANONYMOUS),
    Case("account id", [stmt(principal={"AWS": OTHER.account_id})], ALLOW),
    Case(
        "account id excludes others",
        [stmt(principal={"AWS": OTHER.account_id})],
        NONE,
        caller=account(THIRD),
    ),
    Case(
        "account id excludes anonymous",
        [stmt(principal={"AWS": OTHER.account_id})],
        NONE,
        caller=ANONYMOUS,
    ),
    Case("root ARN", [stmt(principal={"AWS": f"arn:aws:iam::{OTHER.account_id}:root"})], ALLOW),
    Case(
        "account covers its users",
        [stmt(principal={"AWS": OTHER.account_id})],
        ALLOW,
        caller=user(OTHER, "alice"),
    ),
    Case(
        "user ARN",
        [stmt(principal={"AWS": f"arn:aws:iam::{OTHER.account_id}:user/alice"})],
        ALLOW,
        caller=user(OTHER, "alice"),
    ),
    Case(
        "user ARN excludes other users",
        [stmt(principal={"AWS": f"arn:aws:iam::{OTHER.account_id}:user/alice"})],
        NONE,
        caller=user(OTHER, "bob"),
    ),
    Case(
        "user ARN excludes the account's own keys",
        [stmt(principal={"AWS": f"arn:aws:iam::{OTHER.account_id}:user/alice"})],
        NONE,
    ),
    Case(
        "user ARN of another account",
        [stmt(principal={"AWS": f"arn:aws:iam::{THIRD.account_id}:user/alice"})],
        NONE,
        caller=user(OTHER, "alice"),
    ),
    Case(
        "canonical user, any case",
        [stmt(principal={"CanonicalUser": OTHER.canonical_id.upper()})],
        ALLOW,
    ),
    Case("principal list", [stmt(principal={"AWS": [THIRD.account_id, OTHER.account_id]})], ALLOW),
    Case(
        "NotPrincipal with Deny denies everyone else",
        [stmt(), stmt("Deny", NotPrincipal={"AWS": OTHER.account_id})],
        DENY,
        caller=account(THIRD),
    ),
    Case(
        "NotPrincipal with Deny denies anonymous",
        [stmt(), stmt("Deny", NotPrincipal={"AWS": OTHER.account_id})],
        DENY,
        caller=ANONYMOUS,
    ),
    Case(
        "NotPrincipal with Deny spares the listed account",
        [stmt(), stmt("Deny", NotPrincipal={"AWS": OTHER.account_id})],
        ALLOW,
    ),
    Case(
        "NotPrincipal naming only a user still denies that user (its account is not listed)",
        [stmt(), stmt("Deny", NotPrincipal={"AWS": f"arn:aws:iam::{OTHER.account_id}:user/alice"})],
        DENY,
        caller=user(OTHER, "alice"),
    ),
    Case(
        "NotPrincipal naming the user and its account spares the user",
        [
            stmt(),
            stmt(
                "Deny",
                NotPrincipal={
                    "AWS": [f"arn:aws:iam::{OTHER.account_id}:user/alice", OTHER.account_id]
                },
            ),
        ],
        ALLOW,
        caller=user(OTHER, "alice"),
    ),
    Case(
        "NotPrincipal naming a user and its account still denies the account's other users",
        [
            stmt(),
            stmt(
                "Deny",
                NotPrincipal={
                    "AWS": [f"arn:aws:iam::{OTHER.account_id}:user/alice", OTHER.account_id]
                },
            ),
        ],
        DENY,
        caller=user(OTHER, "bob"),
    ),
    Case(
        "NotPrincipal with Allow grants everyone else",
        [stmt(NotPrincipal={"AWS": THIRD.account_id})],
        ALLOW,
        caller=ANONYMOUS,
    ),
    Case(
        "NotPrincipal with Allow withholds the listed",
        [stmt(NotPrincipal={"AWS": THIRD.account_id})],
        NONE,
        caller=account(THIRD),
    ),
    # --- conditions: missing keys ---------------------------------------------------------
    Case(
        "positive operator, key missing: false",
        [stmt(**_cond(StringEquals={"s3:x-amz-acl": "private"}))],
        NONE,
    ),
    Case(
        "negated operator, key missing: true",
        [stmt(**_cond(StringNotEquals={"s3:x-amz-acl": "public-read"}))],
        ALLOW,
    ),
    Case(
        "require encryption: Deny StringNotEquals catches requests without the header",
        [
            stmt(action="s3:PutObject"),
            stmt(
                "Deny",
                action="s3:PutObject",
                **_cond(StringNotEquals={"s3:x-amz-server-side-encryption": "AES256"}),
            ),
        ],
        DENY,
        action="s3:PutObject",
    ),
    Case(
        "require encryption: the header satisfies it",
        [
            stmt(action="s3:PutObject"),
            stmt(
                "Deny",
                action="s3:PutObject",
                **_cond(StringNotEquals={"s3:x-amz-server-side-encryption": "AES256"}),
            ),
        ],
        ALLOW,
        action="s3:PutObject",
        context={"server_side_encryption": "AES256"},
    ),
    Case(
        "IfExists on a missing key holds",
        [stmt(**_cond(StringEqualsIfExists={"s3:x-amz-acl": "private"}))],
        ALLOW,
    ),
    Case(
        "IfExists on a present key tests it",
        [stmt(**_cond(StringEqualsIfExists={"s3:x-amz-acl": "private"}))],
        NONE,
        context={"acl": "public-read"},
    ),
    Case(
        "IfExists on a present matching key",
        [stmt(**_cond(StringEqualsIfExists={"s3:x-amz-acl": "private"}))],
        ALLOW,
        context={"acl": "private"},
    ),
    Case(
        "Null true: key absent",
        [stmt("Deny", **_cond(Null={"s3:x-amz-server-side-encryption": "true"})), stmt()],
        DENY,
    ),
    Case(
        "Null true: key present",
        [stmt("Deny", **_cond(Null={"s3:x-amz-server-side-encryption": True})), stmt()],
        ALLOW,
        context={"server_side_encryption": "AES256"},
    ),
    Case(
        "Null false: key present",
        [stmt(**_cond(Null={"s3:x-amz-acl": "false"}))],
        ALLOW,
        context={"acl": "private"},
    ),
    Case("Null false: key absent", [stmt(**_cond(Null={"s3:x-amz-acl": "false"}))], NONE),
    # --- conditions: multiple values ------------------------------------------------------
    Case(
        "values of one key are ORed",
        [stmt(**_cond(StringEquals={"s3:x-amz-acl": ["private", "bucket-owner-read"]}))],
        ALLOW,
        context={"acl": "bucket-owner-read"},
    ),
    Case(
        "keys of one operator are ANDed",
        [
            stmt(
                **_cond(
                    StringEquals={
                        "s3:x-amz-acl": "private",
                        "s3:x-amz-server-side-encryption": "AES256",
                    }
                )
            )
        ],
        NONE,
        context={"acl": "private"},
    ),
    Case(
        "operators are ANDed",
        [
            stmt(
                **_cond(
                    StringEquals={"s3:x-amz-acl": "private"}, Bool={"aws:SecureTransport": "true"}
                )
            )
        ],
        ALLOW,
        context={"acl": "private", "secure_transport": True},
    ),
    Case(
        "ForAllValues on an empty set holds (vacuously)",
        [stmt(**_cond(**{"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]}}))],
        ALLOW,
    ),
    Case(
        "ForAllValues with no tags given holds too",
        [stmt(**_cond(**{"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]}}))],
        ALLOW,
        context={"request_object_tags": {}},
    ),
    Case(
        "ForAllValues: every value listed",
        [stmt(**_cond(**{"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]}}))],
        ALLOW,
        context={"request_object_tags": {"a": "1", "b": "2"}},
    ),
    Case(
        "ForAllValues: one value not listed",
        [stmt(**_cond(**{"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]}}))],
        NONE,
        context={"request_object_tags": {"a": "1", "c": "2"}},
    ),
    Case(
        "ForAnyValue on an empty set is false",
        [stmt(**_cond(**{"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": "a"}}))],
        NONE,
    ),
    Case(
        "ForAnyValue: one value listed",
        [stmt(**_cond(**{"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": "a"}}))],
        ALLOW,
        context={"request_object_tags": {"z": "1", "a": "2"}},
    ),
    Case(
        "ForAnyValue with Deny catches a forbidden tag among others",
        [
            stmt(),
            stmt(
                "Deny",
                **_cond(**{"ForAnyValue:StringLike": {"s3:RequestObjectTagKeys": "secret*"}}),
            ),
        ],
        DENY,
        context={"request_object_tags": {"x": "1", "secret-level": "2"}},
    ),
    Case(
        "ForAllValues with a negated operator: no value may be listed",
        [stmt(**_cond(**{"ForAllValues:StringNotEquals": {"s3:RequestObjectTagKeys": "secret"}}))],
        NONE,
        context={"request_object_tags": {"x": "1", "secret": "2"}},
    ),
    Case(
        "ForAnyValue IfExists on a missing key holds",
        [stmt(**_cond(**{"ForAnyValue:StringEqualsIfExists": {"s3:RequestObjectTagKeys": "a"}}))],
        ALLOW,
    ),
    # --- conditions: case rules -------------------------------------------------------------
    Case(
        "key names are case-insensitive",
        [stmt(**_cond(StringEquals={"S3:X-AMZ-ACL": "private"}))],
        ALLOW,
        context={"acl": "private"},
    ),
    Case(
        "StringEquals values are case-sensitive",
        [stmt(**_cond(StringEquals={"s3:x-amz-acl": "Private"}))],
        NONE,
        context={"acl": "private"},
    ),
    Case(
        "StringEqualsIgnoreCase",
        [stmt(**_cond(StringEqualsIgnoreCase={"s3:x-amz-acl": "PRIVATE"}))],
        ALLOW,
        context={"acl": "private"},
    ),
    Case(
        "StringNotEqualsIgnoreCase",
        [stmt(**_cond(StringNotEqualsIgnoreCase={"s3:x-amz-acl": "PRIVATE"}))],
        NONE,
        context={"acl": "private"},
    ),
    Case(
        "StringEquals takes star literally",
        [stmt(**_cond(StringEquals={"s3:prefix": "home/*"}))],
        NONE,
        context={"prefix": "home/a"},
    ),
    Case(
        "StringLike star",
        [stmt(**_cond(StringLike={"s3:prefix": "home/*"}))],
        ALLOW,
        context={"prefix": "home/a"},
    ),
    Case(
        "StringLike is case-sensitive",
        [stmt(**_cond(StringLike={"s3:prefix": "Home/*"}))],
        NONE,
        context={"prefix": "home/a"},
    ),
    Case(
        "StringNotLike",
        [stmt(**_cond(StringNotLike={"s3:prefix": "private/*"}))],
        ALLOW,
        context={"prefix": "public/"},
    ),
    Case(
        "empty prefix value matches the empty prefix",
        [stmt(**_cond(StringEquals={"s3:prefix": ["", "home/"]}))],
        ALLOW,
        context={"prefix": ""},
    ),
    # --- conditions: numbers, dates, booleans, addresses ---------------------------------
    Case(
        "NumericLessThanEquals",
        [stmt(**_cond(NumericLessThanEquals={"s3:max-keys": "100"}))],
        ALLOW,
        context={"max_keys": "100"},
    ),
    Case(
        "NumericLessThanEquals exceeded",
        [stmt(**_cond(NumericLessThanEquals={"s3:max-keys": 100}))],
        NONE,
        context={"max_keys": "101"},
    ),
    Case(
        "Numeric on a non-number request value matches nothing",
        [stmt(**_cond(NumericLessThan={"s3:max-keys": "100"}))],
        NONE,
        context={"max_keys": "abc"},
    ),
    Case(
        "NumericNotEquals",
        [stmt(**_cond(NumericNotEquals={"s3:max-keys": "10"}))],
        ALLOW,
        context={"max_keys": "11"},
    ),
    Case(
        "NumericGreaterThan on epoch time",
        [stmt(**_cond(NumericGreaterThan={"aws:EpochTime": "1700000000"}))],
        ALLOW,
    ),
    Case(
        "DateGreaterThan",
        [stmt(**_cond(DateGreaterThan={"aws:CurrentTime": "2025-01-01T00:00:00Z"}))],
        ALLOW,
    ),
    Case(
        "DateLessThan",
        [stmt(**_cond(DateLessThan={"aws:CurrentTime": "2025-01-01T00:00:00Z"}))],
        NONE,
    ),
    Case(
        "Date with a plain date",
        [stmt(**_cond(DateGreaterThanEquals={"aws:CurrentTime": "2025-06-01"}))],
        ALLOW,
    ),
    Case(
        "Date with an offset",
        [stmt(**_cond(DateLessThan={"aws:CurrentTime": "2025-06-01T13:30:00+01:00"}))],
        ALLOW,
    ),
    Case(
        "Date with epoch seconds",
        [stmt(**_cond(DateLessThan={"aws:CurrentTime": "1748779201"}))],
        ALLOW,
    ),
    Case(
        "DateEquals on epoch time",
        [stmt(**_cond(DateEquals={"aws:EpochTime": "2025-06-01T12:00:00Z"}))],
        ALLOW,
    ),
    Case("Bool", [stmt("Deny", **_cond(Bool={"aws:SecureTransport": "false"})), stmt()], DENY),
    Case(
        "Bool over TLS",
        [stmt("Deny", **_cond(Bool={"aws:SecureTransport": False})), stmt()],
        ALLOW,
        context={"secure_transport": True},
    ),
    Case(
        "IpAddress IPv4",
        [stmt(**_cond(IpAddress={"aws:SourceIp": "192.0.2.0/24"}))],
        ALLOW,
        context={"source_ip": "192.0.2.7"},
    ),
    Case(
        "IpAddress IPv4 outside",
        [stmt(**_cond(IpAddress={"aws:SourceIp": "192.0.2.0/24"}))],
        NONE,
        context={"source_ip": "198.51.100.1"},
    ),
    Case(
        "IpAddress single address",
        [stmt(**_cond(IpAddress={"aws:SourceIp": "192.0.2.7"}))],
        ALLOW,
        context={"source_ip": "192.0.2.7"},
    ),
    Case(
        "IpAddress IPv6",
        [stmt(**_cond(IpAddress={"aws:SourceIp": "2001:db8::/32"}))],
        ALLOW,
        context={"source_ip": "2001:db8:1::5"},
    ),
    Case(
        "IpAddress IPv4-mapped IPv6 peer",
        [stmt(**_cond(IpAddress={"aws:SourceIp": "192.0.2.0/24"}))],
        ALLOW,
        context={"source_ip": "::ffff:192.0.2.9"},
    ),
    Case(
        "IpAddress IPv4 peer against IPv6 range",
        [stmt(**_cond(IpAddress={"aws:SourceIp": "2001:db8::/32"}))],
        NONE,
        context={"source_ip": "192.0.2.7"},
    ),
    Case(
        "IpAddress list mixes families",
        [stmt(**_cond(IpAddress={"aws:SourceIp": ["2001:db8::/32", "192.0.2.0/24"]}))],
        ALLOW,
        context={"source_ip": "192.0.2.7"},
    ),
    Case(
        "NotIpAddress with Deny: outside the range is denied",
        [stmt(), stmt("Deny", **_cond(NotIpAddress={"aws:SourceIp": "192.0.2.0/24"}))],
        DENY,
        context={"source_ip": "203.0.113.5"},
    ),
    Case(
        "IpAddress with NotIpAddress carves an exception",
        [
            stmt(
                **_cond(
                    IpAddress={"aws:SourceIp": "192.0.2.0/24"},
                    NotIpAddress={"aws:SourceIp": "192.0.2.188/32"},
                )
            )
        ],
        NONE,
        context={"source_ip": "192.0.2.188"},
    ),
    # --- conditions: principal and request keys -------------------------------------------
    Case(
        "PrincipalAccount pins an open principal",
        [stmt(**_cond(StringEquals={"aws:PrincipalAccount": OTHER.account_id}))],
        ALLOW,
    ),
    Case(
        "PrincipalAccount is absent for anonymous",
        [stmt(**_cond(StringEquals={"aws:PrincipalAccount": OTHER.account_id}))],
        NONE,
        caller=ANONYMOUS,
    ),
    Case(
        "userid of anonymous",
        [stmt(**_cond(StringEquals={"aws:userid": "anonymous"}))],
        ALLOW,
        caller=ANONYMOUS,
    ),
    Case(
        "userid of a user",
        [stmt(**_cond(StringEquals={"aws:userid": "usr_alice"}))],
        ALLOW,
        caller=user(OTHER, "alice"),
    ),
    Case(
        "username",
        [stmt(**_cond(StringEquals={"aws:username": "alice"}))],
        ALLOW,
        caller=user(OTHER, "alice"),
    ),
    Case(
        "PrincipalType",
        [stmt("Deny", **_cond(StringEquals={"aws:PrincipalType": "Anonymous"})), stmt()],
        DENY,
        caller=ANONYMOUS,
    ),
    Case(
        "ExistingObjectTag",
        [stmt(**_cond(StringEquals={"s3:ExistingObjectTag/class": "public"}))],
        ALLOW,
        context={"existing_object_tags": {"class": "public"}},
    ),
    Case(
        "ExistingObjectTag names are case-sensitive",
        [stmt(**_cond(StringEquals={"s3:ExistingObjectTag/Class": "public"}))],
        NONE,
        context={"existing_object_tags": {"class": "public"}},
    ),
    Case(
        "the key prefix of a tag key is not",
        [stmt(**_cond(StringEquals={"S3:EXISTINGOBJECTTAG/class": "public"}))],
        ALLOW,
        context={"existing_object_tags": {"class": "public"}},
    ),
    Case(
        "RequestObjectTag",
        [stmt(**_cond(StringEquals={"s3:RequestObjectTag/team": "a"}))],
        ALLOW,
        context={"request_object_tags": {"team": "a"}},
    ),
    Case(
        "VersionId",
        [stmt(**_cond(StringEquals={"s3:VersionId": "v1"}))],
        ALLOW,
        context={"version_id": "v1"},
    ),
    Case(
        "delimiter",
        [stmt(**_cond(StringEquals={"s3:delimiter": "/"}))],
        ALLOW,
        context={"delimiter": "/"},
    ),
    Case(
        "signatureversion",
        [
            stmt("Deny", **_cond(StringNotEquals={"s3:signatureversion": "AWS4-HMAC-SHA256"})),
            stmt(),
        ],
        DENY,
        context={"signature_version": "AWS"},
    ),
    Case(
        "authType",
        [stmt("Deny", **_cond(StringEquals={"s3:authType": "REST-QUERY-STRING"})), stmt()],
        DENY,
        context={"auth_type": "REST-QUERY-STRING"},
    ),
    Case(
        "x-amz-content-sha256",
        [
            stmt("Deny", **_cond(StringEquals={"s3:x-amz-content-sha256": "UNSIGNED-PAYLOAD"})),
            stmt(),
        ],
        DENY,
        context={"content_sha256": "UNSIGNED-PAYLOAD"},
    ),
    # --- policy variables -----------------------------------------------------------------
    Case(
        "variable in a resource",
        [stmt(resource="arn:aws:s3:::b/home/${aws:username}/*")],
        ALLOW,
        caller=user(OTHER, "alice"),
        key="home/alice/x",
    ),
    Case(
        "variable in a resource: another home",
        [stmt(resource="arn:aws:s3:::b/home/${aws:username}/*")],
        NONE,
        caller=user(OTHER, "alice"),
        key="home/bob/x",
    ),
    Case(
        "variable without a value matches nothing",
        [stmt(resource="arn:aws:s3:::b/home/${aws:username}/*")],
        NONE,
        key="home/alice/x",
    ),
    Case(
        "substituted text is literal",
        [stmt(resource="arn:aws:s3:::b/home/${aws:username}")],
        NONE,
        caller=user(OTHER, "a*"),
        key="home/abc",
    ),
    Case(
        "variable in a condition value",
        [
            stmt(
                action="s3:ListBucket",
                resource=B,
                **_cond(StringLike={"s3:prefix": "home/${aws:username}/*"}),
            )
        ],
        ALLOW,
        caller=user(OTHER, "alice"),
        action="s3:ListBucket",
        key=None,
        context={"prefix": "home/alice/docs"},
    ),
    Case("escaped star", [stmt(resource="arn:aws:s3:::b/${*}")], ALLOW, key="*"),
    Case("escaped star is not a wildcard", [stmt(resource="arn:aws:s3:::b/${*}")], NONE, key="x"),
    Case(
        "2008-10-17 has no variables",
        [stmt(resource="arn:aws:s3:::b/home/${aws:username}/*")],
        ALLOW,
        caller=user(OTHER, "alice"),
        key="home/${aws:username}/x",
        version="2008-10-17",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_policy_evaluation(case: Case) -> None:
    doc = policy(*case.statements, version=case.version)
    result = evaluate(
        doc, case.caller, case.action, resource_arn("b", case.key), ctx(**case.context)
    )
    got = DENY if result.explicit_deny else ALLOW if result.allowed else NONE
    assert got == case.expected


def test_case_names_are_unique() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))


def test_result_names_the_deciding_statements() -> None:
    doc = policy(
        stmt(Sid="Read"), stmt("Deny", Sid="NoHttp", **_cond(Bool={"aws:SecureTransport": "false"}))
    )
    result = evaluate(doc, account(OTHER), "s3:GetObject", resource_arn("b", "k"), ctx())
    assert result.denied_by is not None and result.denied_by.sid == "NoHttp"
    assert result.allowed_by is not None and result.allowed_by.sid == "Read"
    assert not result.allowed


def test_no_policy_decides_nothing() -> None:
    result = evaluate(None, account(OWNER), "s3:GetObject", resource_arn("b", "k"), ctx())
    assert not result.explicit_deny and not result.allowed


def test_remembered_outcomes_never_leak_between_requests() -> None:
    """A parsed policy is shared by every request of its bucket, and its conditions
    remember outcomes by the request's values: each case's policy, evaluated first with
    every other case's caller, action, key and request (filling those memos), still
    decides its own case as a fresh one does."""
    others = [(c.caller, c.action, c.key, ctx(**c.context)) for c in CASES]
    for case in CASES:
        doc = policy(*case.statements, version=case.version)
        for caller, action, key, context in others:
            evaluate(doc, caller, action, resource_arn("b", key), context)
        result = evaluate(
            doc, case.caller, case.action, resource_arn("b", case.key), ctx(**case.context)
        )
        got = DENY if result.explicit_deny else ALLOW if result.allowed else NONE
        assert got == case.expected, case.name


def test_address_conditions_decide_each_address() -> None:
    doc = policy(
        stmt(),
        stmt("Deny", **_cond(IpAddress={"aws:SourceIp": "203.0.113.0/24"})),
    )
    verdicts = []
    for address in ("203.0.113.9", "198.51.100.7", "203.0.113.200", "198.51.100.7"):
        result = evaluate(
            doc, account(OTHER), "s3:GetObject", resource_arn("b", "k"), ctx(source_ip=address)
        )
        verdicts.append(result.explicit_deny)
    assert verdicts == [True, False, True, False]


def test_variable_conditions_are_decided_per_caller() -> None:
    """The same request value, two callers: a condition naming a policy variable
    depends on who asks, so its outcome is never remembered by the value alone."""
    doc = policy(
        stmt(
            principal="*",
            action="s3:ListBucket",
            resource=B,
            **_cond(StringLike={"s3:prefix": "home/${aws:username}/*"}),
        )
    )
    verdicts = []
    for name in ("alice", "bob", "alice", "bob"):
        result = evaluate(
            doc, user(OTHER, name), "s3:ListBucket", resource_arn("b"), ctx(prefix="home/alice/x")
        )
        verdicts.append(result.allowed)
    assert verdicts == [True, False, True, False]


def test_remembered_outcomes_stay_bounded() -> None:
    """Every caller address is a new memo entry: however many a client sends, the memo
    of a condition holds at most ``_OUTCOMES`` and still decides each one."""
    from gateway.authz import conditions

    doc = policy(stmt(), stmt("Deny", **_cond(IpAddress={"aws:SourceIp": "10.0.0.0/8"})))
    (condition,) = doc.statements[1].conditions
    for i in range(3 * conditions._OUTCOMES):
        address = f"10.0.{i // 250}.{i % 250}" if i % 2 else f"192.0.{i // 250}.{i % 250}"
        result = evaluate(
            doc, account(OTHER), "s3:GetObject", resource_arn("b", "k"), ctx(source_ip=address)
        )
        assert result.explicit_deny is bool(i % 2)
        assert condition.outcomes is not None
        assert len(condition.outcomes) <= conditions._OUTCOMES


def _verdict(doc: Any, caller: PrincipalFacts, key: str | None, **context: Any) -> str:
    result = evaluate(doc, caller, "s3:GetObject", resource_arn("b", key), ctx(**context))
    return DENY if result.explicit_deny else ALLOW if result.allowed else NONE


def test_remembered_results_follow_the_resource_and_every_key_read() -> None:
    """A result is remembered by which resource elements name the object and by the
    values of every condition key the addressed statements read: a request differing in
    any one of them is decided afresh."""
    doc = policy(
        stmt(resource="arn:aws:s3:::b/public/*", Sid="Public"),
        stmt(
            "Deny",
            resource=[B, "arn:aws:s3:::b/*"],
            **_cond(IpAddress={"aws:SourceIp": "203.0.113.0/24"}),
        ),
        stmt(
            "Deny",
            resource=[B, "arn:aws:s3:::b/*"],
            **_cond(Bool={"aws:SecureTransport": "false"}),
        ),
    )
    caller = account(OTHER)
    seen = []
    for key, ip, tls in [
        ("public/a", "198.51.100.1", True),
        ("private/a", "198.51.100.1", True),
        ("public/b", "198.51.100.1", True),
        ("public/b", "203.0.113.5", True),
        ("public/b", "198.51.100.1", False),
        ("public/c", "198.51.100.2", True),
    ]:
        seen.append(_verdict(doc, caller, key, source_ip=ip, secure_transport=tls))
    assert seen == [ALLOW, NONE, ALLOW, DENY, DENY, ALLOW]
    addressed = next(iter(doc.candidates.values()))
    assert len(addressed.resources) == 2 and len(addressed.keys) == 2
    assert addressed.outcomes is not None and len(addressed.outcomes) == 5  # one hit


def test_clock_conditions_are_decided_per_request() -> None:
    """``aws:CurrentTime`` changes by itself: its statements are never remembered."""
    doc = policy(stmt(**_cond(DateLessThan={"aws:CurrentTime": "2025-06-01T12:00:00Z"})))
    before = NOW - timedelta(seconds=1)
    verdicts = [_verdict(doc, account(OTHER), "k", now=when) for when in (before, NOW, before, NOW)]
    assert verdicts == [ALLOW, NONE, ALLOW, NONE]
    assert next(iter(doc.candidates.values())).outcomes is None


def test_variable_resources_are_decided_per_caller() -> None:
    doc = policy(stmt(resource="arn:aws:s3:::b/home/${aws:username}/*"))
    verdicts = [
        _verdict(doc, user(OTHER, name), "home/alice/x") for name in ("alice", "bob", "alice")
    ]
    assert verdicts == [ALLOW, NONE, ALLOW]
