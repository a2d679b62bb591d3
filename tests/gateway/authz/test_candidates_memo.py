"""The policy's memo of statements addressed to a caller and action answers its last
question by the caller's facts object and the action alone: a shared policy asked by
callers and actions in turn (the same object, equal objects, callers that differ in one
field, the same caller with another action) decides as a policy parsed afresh for each
question, and says alike whether the object's tags are read."""

from __future__ import annotations

import json

from gateway.authz import PrincipalFacts, needs_existing_tags
from gateway.authz.evaluate import evaluate, resource_arn
from gateway.authz.policy import Policy, PolicyResult, Statement, parse_policy
from tests.gateway.authz.builders import OTHER, THIRD, account, ctx, stmt, user

OTHER_ARN = f"arn:aws:iam::{OTHER.account_id}:root"
TAGGED = {"StringEquals": {"s3:ExistingObjectTag/share": "yes"}}

STATEMENTS = [
    stmt("Deny", {"AWS": f"arn:aws:iam::{OTHER.account_id}:user/mallory"}, "s3:GetObject"),
    stmt("Allow", {"AWS": OTHER_ARN}, "s3:GetObject", Condition=TAGGED),
    stmt("Allow", {"AWS": OTHER_ARN}, "s3:PutObject"),
    stmt("Deny", "*", "s3:DeleteObject"),
    stmt("Allow", {"AWS": f"arn:aws:iam::{THIRD.account_id}:root"}, "s3:GetObject"),
]


def _policy() -> Policy:
    return parse_policy(json.dumps({"Version": "2012-10-17", "Statement": STATEMENTS}), bucket="b")


def _which(policy: Policy, result: PolicyResult) -> tuple[int | None, int | None]:
    """The positions of the deciding statements (statements of two parses never compare
    equal: their patterns do not)."""

    def position(statement: Statement | None) -> int | None:
        if statement is None:
            return None
        return next(i for i, s in enumerate(policy.statements) if s is statement)

    return position(result.denied_by), position(result.allowed_by)


def test_a_shared_policy_answers_each_question_as_a_fresh_one() -> None:
    other = account(OTHER)
    callers: list[PrincipalFacts] = [
        other,
        account(OTHER),  # equal, another object
        user(OTHER, "mallory"),
        user(OTHER, "alice"),
        account(THIRD),
    ]
    actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObject"]
    questions = [(c, a) for a in actions for c in callers] + [
        (other, a)
        for a in actions * 2  # the same object, the action changing
    ]
    shared = _policy()
    context = ctx(existing_object_tags={"share": "yes"})
    resource = resource_arn("b", "k")
    outcomes = set()
    for caller, action in questions:
        fresh = _policy()
        assert needs_existing_tags(shared, caller, action) == needs_existing_tags(
            fresh, caller, action
        )
        got = _which(shared, evaluate(shared, caller, action, resource, context))
        assert got == _which(fresh, evaluate(fresh, caller, action, resource, context))
        outcomes.add(got)
    assert len(shared.last) == 1
    # the questions tell the answers apart: each statement decides some
    assert {i for pair in outcomes for i in pair if i is not None} == set(range(len(STATEMENTS)))
