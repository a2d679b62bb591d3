"""Properties of the decision that must hold for every policy, ACL and caller."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.authz import (
    AccessControlList,
    AccessRequest,
    CanonicalUser,
    Grant,
    Group,
    ObjectOwnership,
    Permission,
    Policy,
    PrincipalFacts,
    PublicAccessBlock,
    RequestContext,
    Target,
    canned_acl,
    decide,
    evaluate,
    parse_acl_xml,
    render_acl_xml,
    resource_arn,
)
from tests.gateway.authz.builders import (
    ANONYMOUS,
    OTHER,
    OWNER,
    THIRD,
    account,
    canonical,
    ctx,
    policy,
    request,
    stmt,
    user,
)

CALLERS = [
    account(OWNER),
    account(OWNER, scopes=frozenset({"admin"})),
    user(OWNER, "alice"),
    account(OTHER),
    user(OTHER, "bob"),
    account(THIRD),
    ANONYMOUS,
]
OBJECT_ACTIONS = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:GetObjectAcl",
    "s3:PutObjectAcl",
]
BUCKET_ACTIONS = ["s3:ListBucket", "s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketPolicy"]
POLICY_ACTIONS = {"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"}
CANNED = ["private", "public-read", "public-read-write", "authenticated-read", "bucket-owner-read"]

principals = st.sampled_from(
    [
        "*",
        {"AWS": "*"},
        {"AWS": OTHER.account_id},
        {"AWS": f"arn:aws:iam::{OTHER.account_id}:user/bob"},
        {"CanonicalUser": THIRD.canonical_id},
        {"AWS": [OWNER.account_id, THIRD.account_id]},
    ]
)
conditions = st.sampled_from(
    [
        None,
        {"Bool": {"aws:SecureTransport": "true"}},
        {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}},
        {"StringEqualsIfExists": {"s3:x-amz-acl": "private"}},
        {"StringEquals": {"aws:PrincipalAccount": OTHER.account_id}},
        {"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["a"]}},
        {"StringNotEquals": {"s3:signatureversion": "AWS4-HMAC-SHA256"}},
        {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}, "Null": {"s3:x-amz-acl": "true"}},
    ]
)
OBJECT_RESOURCES: list[str | list[str]] = [
    "arn:aws:s3:::b/public/*",
    "arn:aws:s3:::b/public/a",
    "arn:aws:s3:::b/p?blic/*",
    ["arn:aws:s3:::b/public/a", "arn:aws:s3:::b/private/*"],
]
"""Resources naming objects only (``s3:List*`` does not apply to them)."""


@st.composite
def statements(draw: st.DrawFn, effect: str | None = None) -> dict[str, Any]:
    negate_principal = draw(st.booleans()) and draw(st.booleans())
    extra: dict[str, Any] = {}
    condition = draw(conditions)
    if condition is not None:
        extra["Condition"] = condition
    who = draw(principals)
    if negate_principal:
        extra["NotPrincipal"] = who if who != "*" else {"AWS": THIRD.account_id}
    action = draw(
        st.sampled_from(
            ["s3:*", "s3:Get*", "s3:GetObject", "s3:PutObject", "s3:*Object", "*", "s3:List*"]
        )
    )
    if draw(st.booleans()) and draw(st.booleans()):
        extra["NotAction"] = action
    resource = draw(
        st.sampled_from(
            [
                ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                "arn:aws:s3:::b/public/*",
                "*",
                "arn:aws:s3:::b*",
                # the memo's resource match: a plain value, a pattern that is neither a
                # plain prefix nor a value, and an element mixing the kinds
                "arn:aws:s3:::b/public/a",
                "arn:aws:s3:::b/p?blic/*",
                ["arn:aws:s3:::b", "arn:aws:s3:::b/*/a"],
                ["arn:aws:s3:::b/public/a", "arn:aws:s3:::b/private/*"],
            ]
        )
    )
    if action == "s3:List*" and resource in OBJECT_RESOURCES:
        resource = "*"
    return stmt(
        effect or draw(st.sampled_from(["Allow", "Deny"])),
        principal=who,
        action=action,
        resource=resource,
        **extra,
    )


@st.composite
def requests(draw: st.DrawFn) -> AccessRequest:
    caller = draw(st.sampled_from(CALLERS))
    if draw(st.booleans()):
        action, key = (
            draw(st.sampled_from(OBJECT_ACTIONS)),
            draw(st.sampled_from(["public/a", "private/b"])),
        )
    else:
        action, key = draw(st.sampled_from(BUCKET_ACTIONS)), None
    object_owner = draw(st.sampled_from([None, OWNER, OTHER]))
    acl_owner = object_owner or OWNER
    return request(
        caller,
        action,
        key,
        context=ctx(
            secure_transport=draw(st.booleans()),
            source_ip=draw(st.sampled_from(["192.0.2.5", "203.0.113.9"])),
            acl=draw(st.sampled_from([None, "private"])),
        ),
        bucket_acl=canned_acl(
            draw(st.sampled_from(CANNED)), owner=canonical(OWNER), target=Target.BUCKET
        ),
        object_owner=object_owner,
        object_acl=canned_acl(
            draw(st.sampled_from(CANNED)), owner=canonical(acl_owner), bucket_owner=canonical(OWNER)
        ),
        public_access_block=PublicAccessBlock(*(draw(st.booleans()) for _ in range(4))),
        ownership=draw(st.sampled_from(list(ObjectOwnership))),
        policy=policy(*draw(st.lists(statements(), min_size=1, max_size=4)))
        if draw(st.booleans())
        else None,
    )


def _raw(doc: Policy) -> list[dict[str, Any]]:
    return list(json.loads(doc.text)["Statement"])


def _with(req: AccessRequest, *extra: dict[str, Any]) -> AccessRequest:
    existing = [] if req.policy is None else _raw(req.policy)
    return replace(req, policy=policy(*existing, *extra))


DENY_EVERYTHING = stmt("Deny", action="*", resource="*")


@settings(max_examples=150, deadline=None)
@given(requests())
def test_an_explicit_deny_always_wins(req: AccessRequest) -> None:
    if req.action in POLICY_ACTIONS:
        return  # the owner's admin keeps the policy actions, by design
    assert not decide(_with(req, DENY_EVERYTHING)).allowed


@settings(max_examples=150, deadline=None)
@given(requests())
def test_without_grants_only_owners_get_in(req: AccessRequest) -> None:
    private_bucket = canned_acl("private", owner=canonical(OWNER), target=Target.BUCKET)
    owner = req.object_owner or OWNER
    private_object = canned_acl("private", owner=canonical(owner))
    bare = replace(
        req, policy=Policy("b", ()), bucket_acl=private_bucket, object_acl=private_object
    )
    decision = decide(bare)
    if decision.allowed:
        assert req.principal.account_id in {OWNER.account_id, owner.account_id}


@settings(max_examples=150, deadline=None)
@given(requests(), statements(effect="Allow"))
def test_adding_an_allow_never_removes_access(req: AccessRequest, allow: dict[str, Any]) -> None:
    # RestrictPublicBuckets is the exception: a new public statement makes the whole
    # policy public, which withdraws what the policy gave other accounts.
    req = replace(
        req, public_access_block=replace(req.public_access_block, restrict_public_buckets=False)
    )
    if decide(req).allowed:
        assert decide(_with(req, allow)).allowed


@settings(max_examples=100, deadline=None)
@given(requests(), st.randoms(use_true_random=False))
def test_statement_order_does_not_matter(req: AccessRequest, rnd: random.Random) -> None:
    if req.policy is None:
        return
    shuffled = _raw(req.policy)
    rnd.shuffle(shuffled)
    assert decide(req).allowed == decide(replace(req, policy=policy(*shuffled))).allowed


@settings(max_examples=100, deadline=None)
@given(requests())
def test_scopes_are_the_ceiling(req: AccessRequest) -> None:
    if req.principal.is_anonymous:
        return
    bare = replace(
        req, principal=replace(req.principal, scopes=frozenset()), scopes=("read:objects",)
    )
    assert not decide(bare).allowed


@settings(max_examples=100, deadline=None)
@given(requests())
def test_all_blocks_on_and_no_policy_keep_anonymous_out(req: AccessRequest) -> None:
    locked = replace(
        req, principal=ANONYMOUS, policy=None, public_access_block=PublicAccessBlock.all_on()
    )
    assert not decide(locked).allowed


grantees = st.one_of(
    st.sampled_from(list(Group)),
    st.builds(
        CanonicalUser,
        st.text("0123456789abcdef", min_size=64, max_size=64),
        st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=10).map(str.strip),
    ),
)


@given(st.lists(st.builds(Grant, grantees, st.sampled_from(list(Permission))), max_size=10))
def test_acl_documents_read_back_as_set(grants: list[Grant]) -> None:
    owner = canonical(OWNER, "owner & co <1>")
    acl = AccessControlList(owner, tuple(grants))
    assert parse_acl_xml(render_acl_xml(acl), owner=owner) == acl


@st.composite
def asks(draw: st.DrawFn) -> tuple[str | None, RequestContext]:
    """The object key (None: a bucket action) and the condition values of one request."""
    key = draw(st.sampled_from([None, "public/a", "private/b", "public/c", "private/a"]))
    tags = draw(st.sampled_from([None, {"a": "1"}, {"a": "1", "b": "2"}]))
    context = ctx(
        secure_transport=draw(st.booleans()),
        source_ip=draw(st.sampled_from(["192.0.2.5", "203.0.113.9", None])),
        acl=draw(st.sampled_from([None, "private"])),
        request_object_tags=tags,
        signature_version=draw(st.sampled_from([None, "AWS", "AWS4-HMAC-SHA256"])),
    )
    return key, context


@settings(max_examples=200, deadline=None)
@given(
    st.lists(statements(), min_size=1, max_size=6),
    st.sampled_from(CALLERS),
    st.sampled_from(OBJECT_ACTIONS),
    st.lists(asks(), min_size=1, max_size=20),
)
def test_a_shared_policy_decides_as_a_fresh_one(
    raw: list[dict[str, Any]],
    caller: PrincipalFacts,
    object_action: str,
    sequence: list[tuple[str | None, RequestContext]],
) -> None:
    """A bucket's parsed policy is shared by all its requests and remembers results per
    caller and action: whatever came before, each request is decided as by a policy
    parsed for it alone."""
    shared = policy(*raw)
    for key, context in sequence:
        action = object_action if key is not None else "s3:ListBucket"
        remembered = evaluate(shared, caller, action, resource_arn("b", key), context)
        fresh = evaluate(policy(*raw), caller, action, resource_arn("b", key), context)
        assert remembered == fresh


_ELEMENTS: list[str | list[str]] = [
    "arn:aws:s3:::b/public/a",  # a plain value
    "arn:aws:s3:::b/public/*",  # a plain prefix
    ["arn:aws:s3:::b/public/a", "arn:aws:s3:::b/private/*"],  # both in one element
    "arn:aws:s3:::b/p?blic/*",  # a pattern
    ["arn:aws:s3:::b/public/a", "arn:aws:s3:::b/p?ivate/*"],  # a value beside a pattern
]


@pytest.mark.parametrize("not_resource", [False, True])
@pytest.mark.parametrize("element", _ELEMENTS)
def test_the_memo_tells_each_kind_of_resource_element(
    element: str | list[str], not_resource: bool
) -> None:
    """The hypothesis test above draws these elements among others and finds a memo key
    that leaves one kind out only now and then: here each kind is decided, in both
    orders, for keys it names and keys it does not, each as a fresh policy decides."""
    raw = stmt(resource=None, NotResource=element) if not_resource else stmt(resource=element)
    keys = ["public/a", "public/c", "private/a", "private/b"]
    for order in (keys, keys[::-1]):
        shared = policy(raw)
        for key in order:
            arn = resource_arn("b", key)
            remembered = evaluate(shared, account(OTHER), "s3:GetObject", arn, ctx())
            assert remembered == evaluate(policy(raw), account(OTHER), "s3:GetObject", arn, ctx())
