"""Policy variables with a default value (``${aws:username, 'guest'}``, IAM User Guide,
"Specifying default values") through the whole bucket-policy path: PutBucketPolicy's
parser accepts them in resources and string condition values and refuses a malformed
one as ``MalformedPolicy``; evaluation substitutes the request's value, else the default
(literal text); the existing-object-tag read and the outcome memos treat a variable with
a default as a variable."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.authz import AuthzError, evaluate, needs_existing_tags, parse_policy, resource_arn
from tests.gateway.authz.builders import ANONYMOUS, OTHER, account, ctx, policy, stmt, user

ALLOW, NONE = "allow", "none"
HOME = "arn:aws:s3:::b/home/${aws:username, 'guest'}/*"


def _verdict(doc: Any, caller: Any, key: str | None, action: str = "s3:GetObject", **c: Any) -> str:
    result = evaluate(doc, caller, action, resource_arn("b", key), ctx(**c))
    assert not result.explicit_deny
    return ALLOW if result.allowed else NONE


def test_a_resource_with_a_default_is_accepted_and_decided() -> None:
    doc = policy(stmt(resource=HOME))
    assert doc.statements[0].resources[0].defaults == ("guest",)
    # No aws:username (anonymous, or an account's own key): the default.
    assert _verdict(doc, ANONYMOUS, "home/guest/x") == ALLOW
    assert _verdict(doc, ANONYMOUS, "home/alice/x") == NONE
    assert _verdict(doc, account(OTHER), "home/guest/x") == ALLOW
    # A user: the user's name, and not the default.
    alice = user(OTHER, "alice")
    assert _verdict(doc, alice, "home/alice/x") == ALLOW
    assert _verdict(doc, alice, "home/guest/x") == NONE
    # Once more in the same order: nothing remembered across callers.
    assert _verdict(doc, ANONYMOUS, "home/guest/x") == ALLOW
    assert _verdict(doc, ANONYMOUS, "home/alice/x") == NONE
    assert next(iter(doc.candidates.values())).outcomes is None


def test_the_key_is_any_case_and_the_default_literal() -> None:
    doc = policy(stmt(resource="arn:aws:s3:::b/home/${AWS:UserName, 'G*'}/*"))
    assert _verdict(doc, user(OTHER, "alice"), "home/alice/x") == ALLOW
    assert _verdict(doc, ANONYMOUS, "home/G*/x") == ALLOW
    assert _verdict(doc, ANONYMOUS, "home/Guest/x") == NONE
    assert _verdict(doc, ANONYMOUS, "home/g*/x") == NONE


def test_a_condition_value_with_a_default() -> None:
    doc = policy(
        stmt(
            action="s3:ListBucket",
            resource="arn:aws:s3:::b",
            Condition={"StringLike": {"s3:prefix": "home/${aws:username, 'guest'}/*"}},
        )
    )

    def listing(caller: Any, prefix: str) -> str:
        return _verdict(doc, caller, None, "s3:ListBucket", prefix=prefix)

    assert listing(ANONYMOUS, "home/guest/docs") == ALLOW
    assert listing(ANONYMOUS, "home/alice/docs") == NONE
    assert listing(user(OTHER, "alice"), "home/alice/docs") == ALLOW
    assert listing(user(OTHER, "alice"), "home/guest/docs") == NONE
    assert doc.statements[0].conditions[0].outcomes is None  # decided per request


def test_a_default_of_an_existing_tag_variable_still_reads_the_tags() -> None:
    doc = policy(stmt(resource="arn:aws:s3:::b/${s3:ExistingObjectTag/team, 'none'}/*"))
    assert doc.reads_existing_tags
    assert needs_existing_tags(doc, ANONYMOUS, "s3:GetObject")
    assert _verdict(doc, ANONYMOUS, "none/x") == ALLOW
    tags = {"team": "red"}
    assert _verdict(doc, ANONYMOUS, "red/x", existing_object_tags=tags) == ALLOW
    assert _verdict(doc, ANONYMOUS, "none/x", existing_object_tags=tags) == NONE


def _doc(**statement: Any) -> str:
    body = {"Version": "2012-10-17", "Statement": [stmt(**statement)]}
    return json.dumps(body)


MALFORMED = [
    "${aws:username, 'guest}",
    "${aws:username, guest}",
    "${aws:username, 'guest' x}",
    "${aws:username, }",
    "${, 'guest'}",
    "${aws:nope, 'guest'}",
]


@pytest.mark.parametrize("variable", MALFORMED)
def test_a_malformed_default_in_a_resource_is_malformed_policy(variable: str) -> None:
    with pytest.raises(AuthzError) as info:
        parse_policy(_doc(resource=f"arn:aws:s3:::b/home/{variable}/*"), bucket="b")
    assert info.value.code == "MalformedPolicy"
    assert "Policy has invalid resource" in info.value.message


@pytest.mark.parametrize("variable", MALFORMED)
def test_a_malformed_default_in_a_condition_is_malformed_policy(variable: str) -> None:
    condition = {"StringLike": {"s3:prefix": f"home/{variable}/*"}}
    with pytest.raises(AuthzError) as info:
        parse_policy(_doc(Condition=condition), bucket="b")
    assert info.value.code == "MalformedPolicy"
    assert "Invalid Condition value" in info.value.message


def test_a_2008_policy_reads_a_default_as_text() -> None:
    doc = policy(stmt(resource=HOME), version="2008-10-17")
    assert _verdict(doc, ANONYMOUS, "home/${aws:username, 'guest'}/x") == ALLOW
    assert _verdict(doc, ANONYMOUS, "home/guest/x") == NONE
