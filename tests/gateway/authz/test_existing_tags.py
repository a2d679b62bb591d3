"""Which decisions need the existing object's tags (``s3:ExistingObjectTag/<tag>``), worked
out once when a policy is parsed and then per (caller, action): one row per case of
(statements, caller, action) -> whether the dispatcher must read the object's tags."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from gateway.authz import ACTIONS, PrincipalFacts, ResourceKind, needs_existing_tags
from gateway.authz.condition_keys import EXISTING_OBJECT_TAG_ACTIONS, lookup_key
from tests.gateway.authz.builders import ANONYMOUS, OTHER, OWNER, account, policy, stmt, user

B = "arn:aws:s3:::b"
OBJECTS = "arn:aws:s3:::b/*"
SECRET = {"StringEquals": {"s3:ExistingObjectTag/classification": "secret"}}


@dataclass
class Case:
    name: str
    statements: list[dict[str, Any]]
    needs: bool
    caller: PrincipalFacts = field(default_factory=lambda: account(OTHER))
    action: str = "s3:GetObject"


CASES = [
    Case("no condition", [stmt()], needs=False),
    Case("another key", [stmt(Condition={"Bool": {"aws:SecureTransport": "true"}})], needs=False),
    Case("a Deny on the tag", [stmt("Deny", Condition=SECRET)], needs=True),
    Case("an Allow on the tag", [stmt(Condition=SECRET)], needs=True),
    Case(
        "the key in any case",
        [stmt(Condition={"StringEquals": {"S3:EXISTINGOBJECTTAG/x": "y"}})],
        needs=True,
    ),
    Case(
        "IfExists and Null read it too",
        [stmt(Condition={"Null": {"s3:ExistingObjectTag/x": "true"}})],
        needs=True,
    ),
    Case(
        "a policy variable in a resource",
        [stmt(resource="arn:aws:s3:::b/${s3:ExistingObjectTag/team}/*")],
        needs=True,
    ),
    Case(
        "a policy variable in a condition value",
        [stmt(Condition={"StringLike": {"s3:prefix": "${s3:ExistingObjectTag/team}/*"}})],
        needs=True,
    ),
    Case(
        "a variable of a 2008 policy is plain text",
        [stmt(resource="arn:aws:s3:::b/${s3:ExistingObjectTag/team}/*")],
        needs=False,
    ),
    Case(
        "RequestObjectTag is the request's",
        [stmt(Condition={"StringEquals": {"s3:RequestObjectTag/x": "y"}})],
        needs=False,
    ),
    Case(
        "the statement names another caller",
        [stmt(principal={"AWS": "acct_third"}, Condition=SECRET)],
        needs=False,
    ),
    Case(
        "the statement names another action",
        [stmt(action="s3:GetObjectTagging", Condition=SECRET)],
        needs=False,
    ),
    Case(
        "NotAction covering the action",
        [stmt("Deny", action=None, NotAction="s3:PutObject", Condition=SECRET)],
        needs=True,
    ),
    Case(
        "PutObject does not carry the key",
        [stmt("Deny", action="s3:PutObject", Condition=SECRET)],
        needs=False,
        action="s3:PutObject",
    ),
    Case(
        "DeleteObject does not carry the key",
        [stmt("Deny", action="s3:Delete*", Condition=SECRET)],
        needs=False,
        action="s3:DeleteObject",
    ),
    Case(
        "DeleteObjectTagging does",
        [stmt("Deny", action="s3:Delete*", Condition=SECRET)],
        needs=True,
        action="s3:DeleteObjectTagging",
    ),
    Case(
        "bucket actions do not",
        [stmt("Deny", action="s3:*", resource=[B, OBJECTS], Condition=SECRET)],
        needs=False,
        action="s3:ListBucket",
    ),
    Case(
        "anonymous callers are addressed by *",
        [stmt(Condition=SECRET)],
        needs=True,
        caller=ANONYMOUS,
    ),
    Case(
        "a user named by its ARN",
        [stmt(principal={"AWS": "arn:aws:iam::acct_other:user/ann"}, Condition=SECRET)],
        needs=True,
        caller=user(OTHER, "ann"),
    ),
    Case(
        "the owner is addressed by *",
        [stmt("Deny", Condition=SECRET)],
        needs=True,
        caller=account(OWNER),
    ),
    Case(
        "one statement of several",
        [stmt(action="s3:ListBucket", resource=B), stmt("Deny", Condition=SECRET)],
        needs=True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_needs_existing_tags(case: Case) -> None:
    version = "2008-10-17" if "2008" in case.name else "2012-10-17"
    doc = policy(*case.statements, version=version)
    assert needs_existing_tags(doc, case.caller, case.action) is case.needs


def test_the_flag_is_worked_out_at_parse_time() -> None:
    plain = policy(stmt())
    tagged = policy(stmt(action="s3:PutObject"), stmt("Deny", Sid="Tags", Condition=SECRET))
    assert not plain.reads_existing_tags
    assert tagged.reads_existing_tags
    assert [s.reads_existing_tags for s in tagged.statements] == [False, True]


def test_existing_tag_actions_are_object_actions_of_existing_objects() -> None:
    assert set(ACTIONS) >= EXISTING_OBJECT_TAG_ACTIONS
    assert all(ACTIONS[a] is ResourceKind.OBJECT for a in EXISTING_OBJECT_TAG_ACTIONS)
    for write in ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"):
        assert write not in EXISTING_OBJECT_TAG_ACTIONS


def test_only_the_existing_tag_family_reads_the_object() -> None:
    existing = lookup_key("s3:ExistingObjectTag/a")
    request = lookup_key("s3:RequestObjectTag/a")
    assert existing is not None and existing.existing_object
    assert request is not None and not request.existing_object
