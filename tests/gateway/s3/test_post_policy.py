"""POST policy documents: parsing (``InvalidPolicyDocument``) and checking a form
against one (``AccessDenied`` "Invalid according to Policy: ...")."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.s3.errors import S3Error
from gateway.s3.post_auth import EXEMPT_V4
from gateway.s3.post_policy import check_policy, parse_policy

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def encode(document: Any) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


def policy(*conditions: Any, expiration: str = "2030-05-01T13:00:00.000Z") -> str:
    return encode({"expiration": expiration, "conditions": list(conditions)})


def denied(encoded: str, fields: dict[str, str], *, bucket: str = "b", now: datetime = NOW) -> str:
    with pytest.raises(S3Error) as caught:
        check_policy(parse_policy(encoded), fields, bucket=bucket, now=now, exempt=EXEMPT_V4)
    assert caught.value.code == "AccessDenied"
    return caught.value.message


def allowed(encoded: str, fields: dict[str, str], *, bucket: str = "b") -> None:
    check_policy(parse_policy(encoded), fields, bucket=bucket, now=NOW, exempt=EXEMPT_V4)


def test_exact_and_eq_conditions() -> None:
    doc = policy({"bucket": "b"}, {"key": "a.txt"}, ["eq", "$acl", "private"])
    allowed(doc, {"key": "a.txt", "acl": "private"})
    assert denied(doc, {"key": "a.txt", "acl": "public-read"}) == (
        'Invalid according to Policy: Policy Condition failed: ["eq", "$acl", "private"]'
    )
    assert "bucket" in denied(doc, {"key": "a.txt", "acl": "private"}, bucket="other")
    assert "key" in denied(doc, {"acl": "private"})  # an absent field reads as ""


def test_starts_with() -> None:
    doc = policy(["starts-with", "$key", "user/"], ["starts-with", "$success_action_redirect", ""])
    allowed(doc, {"key": "user/x"})
    allowed(doc, {"key": "user/x", "success_action_redirect": "https://anything"})
    assert "starts-with" in denied(doc, {"key": "other/x"})


def test_content_type_list_must_all_match() -> None:
    doc = policy({"key": "k"}, ["starts-with", "$Content-Type", "image/"])
    allowed(doc, {"key": "k", "content-type": "image/png, image/jpeg"})
    denied(doc, {"key": "k", "content-type": "image/png, text/html"})


def test_field_names_compare_case_insensitively() -> None:
    doc = policy({"KEY": "k"}, ["eq", "$X-Amz-Meta-Tag", "v"])
    allowed(doc, {"key": "k", "x-amz-meta-tag": "v"})


def test_extra_fields_are_refused_unless_exempt_or_ignored() -> None:
    doc = policy({"key": "k"})
    assert denied(doc, {"key": "k", "x-amz-meta-a": "1", "acl": "x"}) == (
        "Invalid according to Policy: Extra input fields: acl, x-amz-meta-a"
    )
    allowed(doc, {"key": "k", "policy": "p", "x-amz-signature": "s", "x-ignore-me": "1"})


def test_expiration() -> None:
    doc = policy({"key": "k"})
    allowed(doc, {"key": "k"})
    expired = NOW + timedelta(hours=1)
    assert denied(doc, {"key": "k"}, now=expired) == "Invalid according to Policy: Policy expired."
    for text in ("2030-05-01T13:00:00Z", "2030-05-01T13:00:00.123456789Z"):
        assert parse_policy(policy(expiration=text)).expiration.hour == 13


def test_length_range_is_the_intersection() -> None:
    doc = parse_policy(
        policy(["content-length-range", 10, 100], ["content-length-range", "20", 200])
    )
    assert doc.length_range == (20, 100)
    assert parse_policy(policy()).length_range is None


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ("not base64!", "Invalid Policy: Invalid JSON."),
        (base64.b64encode(b"{not json").decode(), "Invalid Policy: Invalid JSON."),
        (encode([1, 2]), "Invalid Policy: Invalid JSON."),
        (encode({"conditions": []}), "Invalid Policy: Policy missing expiration."),
        (
            encode({"expiration": "2030-05-01T13:00:00Z"}),
            "Invalid Policy: Policy missing conditions.",
        ),
        (
            encode({"expiration": "tomorrow", "conditions": []}),
            "Invalid Policy: Invalid 'expiration'",
        ),
        (encode({"expiration": "2030-02-30T13:00:00Z", "conditions": []}), "Invalid 'expiration'"),
        (policy({"key": 1}), "value must be a string"),
        (policy({}), "Invalid Simple-Condition"),
        (policy(["matches", "$key", "x"]), "unknown operation"),
        (policy(["eq", "key", "x"]), "must start with '$'"),
        (policy(["eq", "$key"]), "Invalid eq condition"),
        (policy(["content-length-range", 10]), "content-length-range"),
        (policy(["content-length-range", 10, 5]), "minimum above maximum"),
        (policy(["content-length-range", -1, 5]), "content-length-range"),
        (policy(["content-length-range", True, 5]), "content-length-range"),
        (policy("key"), "Invalid Condition"),
        (encode({"expiration": "2030-05-01T13:00:00Z", "conditions": {}}), "conditions"),
        (encode({"expiration": "2030-05-01T13:00:00Z", "conditions": [], "x": 1}), "Unexpected"),
    ],
)
def test_unreadable_policies(encoded: str, message: str) -> None:
    with pytest.raises(S3Error) as caught:
        parse_policy(encoded)
    assert caught.value.code == "InvalidPolicyDocument"
    assert caught.value.status == 400
    assert message in caught.value.message
