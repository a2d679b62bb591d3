"""Parsing bucket policies: what S3 accepts, and each MalformedPolicy reason."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.authz import AuthzError, Effect, parse_policy
from gateway.authz.policy import MAX_POLICY_BYTES
from tests.gateway.authz.builders import OTHER, stmt

BUCKET = "bucket"
OBJ = "arn:aws:s3:::bucket/*"
BKT = "arn:aws:s3:::bucket"


def doc(*statements: dict[str, Any], **top: Any) -> str:
    body: dict[str, Any] = {"Version": "2012-10-17", "Statement": list(statements)}
    body.update(top)
    return json.dumps({k: v for k, v in body.items() if v is not None})


def s(**kw: Any) -> dict[str, Any]:
    kw.setdefault("resource", OBJ)
    return stmt(**kw)


MALFORMED: list[tuple[str, str | bytes, str]] = [
    ("not an object", "[1]", "first byte must be '{'"),
    ("not JSON", "{nope", "invalid Json"),
    ("not UTF-8", b'{"Version": "\xff"}', "invalid Json"),
    (
        "duplicate names",
        '{"Version": "2012-10-17", "Version": "2012-10-17", "Statement": []}',
        "invalid Json",
    ),
    ("too large", doc(s(Sid="x" * MAX_POLICY_BYTES)), "maximum allowed document size"),
    ("bad version", doc(s(), Version="2020-01-01"), "valid version string"),
    (
        "missing statement",
        json.dumps({"Version": "2012-10-17"}),
        "Missing required field Statement",
    ),
    ("empty statement list", doc(), "non-empty list"),
    ("statement of the wrong type", json.dumps({"Statement": "x"}), "non-empty list"),
    ("unknown top-level field", doc(s(), Foo=1), "Unknown field Foo"),
    ("unknown statement field", doc(s(Effects="Allow")), "Unknown field Effects"),
    ("id of the wrong type", doc(s(), Id=5), "Id must be a string"),
    ("sid of the wrong type", doc(s(Sid=5)), "Sid must be a string"),
    ("duplicate sids", doc(s(Sid="a"), s(Sid="a")), "must be unique"),
    ("missing effect", doc(s(effect=None)), "Missing required field Effect"),
    ("effect is case-sensitive", doc(s(effect="allow")), "Invalid effect: allow"),
    ("missing principal", doc(s(principal=None)), "Missing required field Principal"),
    (
        "principal and NotPrincipal",
        doc({**s(), "NotPrincipal": "*"}),
        "both Principal and NotPrincipal",
    ),
    (
        "service principal",
        doc(s(principal={"Service": "logging.s3.amazonaws.com"})),
        "Invalid principal",
    ),
    (
        "role principal",
        doc(s(principal={"AWS": "arn:aws:iam::acct_x:role/r"})),
        "Invalid principal",
    ),
    (
        "wildcard in a principal ARN",
        doc(s(principal={"AWS": "arn:aws:iam::*:root"})),
        "Invalid principal",
    ),
    (
        "wildcard user name",
        doc(s(principal={"AWS": "arn:aws:iam::acct_x:user/*"})),
        "Invalid principal",
    ),
    ("bad canonical id", doc(s(principal={"CanonicalUser": "abc"})), "Invalid principal"),
    ("empty principal list", doc(s(principal={"AWS": []})), "Invalid principal"),
    ("principal string other than star", doc(s(principal="acct_x")), "Invalid principal"),
    ("missing action", doc(s(action=None)), "Missing required field Action"),
    ("unknown action", doc(s(action="s3:GetObjekt")), "Policy has invalid action"),
    ("another service", doc(s(action="iam:PassRole")), "Policy has invalid action"),
    ("wildcard matching nothing", doc(s(action="s3:Frobnicate*")), "Policy has invalid action"),
    ("action without a service", doc(s(action="GetObject")), "Policy has invalid action"),
    ("empty action list", doc(s(action=[])), "Policy has invalid action"),
    ("missing resource", doc(s(resource=None)), "Missing required field Resource"),
    ("another bucket", doc(s(resource="arn:aws:s3:::other/*")), "Policy has invalid resource"),
    (
        "a bucket with this name as prefix",
        doc(s(resource="arn:aws:s3:::bucket2/*")),
        "Policy has invalid resource",
    ),
    ("not an S3 ARN", doc(s(resource="arn:aws:sqs:::bucket")), "Policy has invalid resource"),
    ("not an ARN", doc(s(resource="bucket/*")), "Policy has invalid resource"),
    ("bucket action on objects only", doc(s(action="s3:ListBucket")), "Action does not apply"),
    ("object action on the bucket only", doc(s(resource=BKT)), "Action does not apply"),
    (
        "one of several actions fits no resource",
        doc(s(action=["s3:GetObject", "s3:ListBucket"])),
        "Action does not apply",
    ),
    (
        "account-level action",
        doc(s(action="s3:ListAllMyBuckets", resource=[BKT, OBJ])),
        "Action does not apply",
    ),
    (
        "unknown condition operator",
        doc(s(Condition={"StringEqualz": {"s3:prefix": "a"}})),
        "Invalid Condition type : StringEqualz",
    ),
    (
        "NullIfExists",
        doc(s(Condition={"NullIfExists": {"s3:prefix": "true"}})),
        "Invalid Condition type",
    ),
    (
        "qualified Null",
        doc(s(Condition={"ForAnyValue:Null": {"s3:prefix": "true"}})),
        "Invalid Condition type",
    ),
    (
        "operator names are case-sensitive",
        doc(s(Condition={"stringequals": {"s3:prefix": "a"}})),
        "Invalid Condition type",
    ),
    (
        "unknown condition key",
        doc(s(Condition={"StringEquals": {"aws:Foo": "a"}})),
        "invalid condition key",
    ),
    (
        "tag key without a tag",
        doc(s(Condition={"StringEquals": {"s3:ExistingObjectTag/": "a"}})),
        "invalid condition key",
    ),
    (
        "bad CIDR",
        doc(s(Condition={"IpAddress": {"aws:SourceIp": "300.1.1.1/8"}})),
        "Invalid Condition value",
    ),
    (
        "bad date",
        doc(s(Condition={"DateLessThan": {"aws:CurrentTime": "yesterday"}})),
        "Invalid Condition value",
    ),
    (
        "epoch date past time_t",
        doc(s(Condition={"DateLessThan": {"aws:CurrentTime": "99999999999999999999"}})),
        "Invalid Condition value",
    ),
    (
        "date in the year 10000 once in UTC",
        doc(s(Condition={"DateLessThan": {"aws:CurrentTime": "9999-12-31T23:59:59-14:00"}})),
        "Invalid Condition value",
    ),
    (
        "bad number",
        doc(s(Condition={"NumericLessThan": {"s3:max-keys": "ten"}})),
        "Invalid Condition value",
    ),
    (
        "infinite number",
        doc(s(Condition={"NumericLessThan": {"s3:max-keys": "Infinity"}})),
        "Invalid Condition value",
    ),
    *(
        (
            f"{name} is not JSON",
            doc(s(Condition={"StringEquals": {"s3:prefix": ["a", value]}})),
            "invalid Json",
        )
        for name, value in (
            ("NaN", float("nan")),
            ("Infinity", float("inf")),
            ("-Infinity", float("-inf")),
        )
    ),
    (
        "bad boolean",
        doc(s(Condition={"Bool": {"aws:SecureTransport": "yes"}})),
        "Invalid Condition value",
    ),
    (
        "object condition value",
        doc(s(Condition={"StringEquals": {"s3:prefix": {"a": 1}}})),
        "Invalid Condition value",
    ),
    (
        "empty condition value list",
        doc(s(Condition={"StringEquals": {"s3:prefix": []}})),
        "Invalid Condition value",
    ),
    ("empty operator block", doc(s(Condition={"StringEquals": {}})), "must map keys to values"),
    ("condition not an object", doc(s(Condition=["x"])), "Condition must be an object"),
    (
        "unknown policy variable",
        doc(s(resource="arn:aws:s3:::bucket/${aws:nope}/*")),
        "Policy has invalid resource",
    ),
    (
        "unknown variable in a condition",
        doc(s(Condition={"StringLike": {"s3:prefix": "${aws:nope}"}})),
        "Invalid Condition value",
    ),
]


@pytest.mark.parametrize(("name", "document", "reason"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_policy(name: str, document: str | bytes, reason: str) -> None:
    with pytest.raises(AuthzError) as info:
        parse_policy(document, bucket=BUCKET)
    assert info.value.code == "MalformedPolicy"
    assert info.value.status == 400
    assert reason in info.value.message


def test_a_stored_policy_holding_a_json_constant_still_reads() -> None:
    """Policies are refused with ``NaN`` since this rule; one stored before it must not turn
    every request on its bucket into a MalformedPolicy."""
    text = doc(s(Condition={"StringEquals": {"s3:prefix": float("nan")}}))
    with pytest.raises(AuthzError):
        parse_policy(text, bucket=BUCKET)
    policy = parse_policy(text, bucket=BUCKET, stored=True)
    assert policy.text == text


VALID: list[tuple[str, str]] = [
    ("one statement as an object", json.dumps({"Version": "2012-10-17", "Statement": s()})),
    ("no version is 2008-10-17", json.dumps({"Statement": [s()]})),
    ("old version", doc(s(), Version="2008-10-17")),
    ("id and sid", doc(s(Sid="Public Read"), Id="my policy")),
    ("resource star", doc(s(resource="*", action="s3:*"))),
    (
        "bucket wildcard",
        doc(s(resource="arn:aws:s3:::buck*", action=["s3:ListBucket", "s3:GetObject"])),
    ),
    ("every bucket's objects", doc(s(resource="arn:aws:s3:::*/*"))),
    ("wildcard action over both kinds", doc(s(action="s3:*", resource=OBJ))),
    ("NotAction skips the resource check", doc(s(action=None, NotAction="s3:ListBucket"))),
    ("NotResource", doc(s(resource=None, NotResource="arn:aws:s3:::bucket/private/*"))),
    (
        "account ids in several spellings",
        doc(
            s(
                principal={
                    "AWS": [
                        "123456789012",
                        "acct_x",
                        f"arn:aws:iam::{OTHER.account_id}:root",
                        f"arn:aws:iam::{OTHER.account_id}:user/alice",
                    ]
                }
            )
        ),
    ),
    ("canonical user", doc(s(principal={"CanonicalUser": "A" * 64}))),
    (
        "numbers and booleans as condition values",
        doc(
            s(
                Condition={
                    "NumericLessThan": {"s3:max-keys": 10},
                    "Bool": {"aws:SecureTransport": True},
                }
            )
        ),
    ),
    (
        "every operator family",
        doc(
            s(
                Condition={
                    "StringLikeIfExists": {"s3:prefix": "a*"},
                    "ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["a"]},
                    "DateGreaterThan": {"aws:CurrentTime": "2020-01-01"},
                    "NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "fd00::/8"]},
                    "Null": {"s3:x-amz-acl": "true"},
                }
            )
        ),
    ),
    (
        "unknown variable text in 2008-10-17 is literal",
        doc(s(resource="arn:aws:s3:::bucket/${aws:nope}/*"), Version="2008-10-17"),
    ),
]


@pytest.mark.parametrize(("name", "document"), VALID, ids=[v[0] for v in VALID])
def test_valid_policy(name: str, document: str) -> None:
    parsed = parse_policy(document, bucket=BUCKET)
    assert parsed.statements
    assert parsed.text == document
    assert parsed.bucket == BUCKET


def test_statement_is_typed_once() -> None:
    parsed = parse_policy(
        doc(s(Sid="r", action=["s3:Get*"], Condition={"StringEquals": {"S3:Prefix": "a"}})),
        bucket=BUCKET,
    )
    (statement,) = parsed.statements
    assert statement.sid == "r"
    assert statement.effect is Effect.ALLOW
    assert "s3:GetObject" in statement.actions and "s3:GetObjectAcl" in statement.actions
    assert "s3:PutObject" not in statement.actions
    (condition,) = statement.conditions
    assert condition.key.name == "s3:prefix"  # AWS's spelling, whatever case was written
    assert parsed.version == "2012-10-17"


def test_size_limit_is_in_bytes_of_the_document() -> None:
    base = doc(s(Sid=""))
    padding = MAX_POLICY_BYTES - len(base.encode())
    exactly = doc(s(Sid="x" * padding))
    assert len(exactly.encode()) == MAX_POLICY_BYTES
    assert parse_policy(exactly, bucket=BUCKET).statements
    with pytest.raises(AuthzError):
        parse_policy(doc(s(Sid="x" * (padding + 1))), bucket=BUCKET)


def test_named_principals_for_the_existence_check() -> None:
    parsed = parse_policy(
        doc(
            s(principal={"AWS": ["acct_a", "arn:aws:iam::acct_b:root"]}),
            s(principal={"AWS": "arn:aws:iam::acct_c:user/u", "CanonicalUser": "F" * 64}),
            s(principal="*"),
        ),
        bucket=BUCKET,
    )
    assert parsed.named_accounts() == {"acct_a", "acct_b", "acct_c"}
    assert parsed.named_canonical_ids() == {"f" * 64}
