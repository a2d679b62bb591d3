"""The one decision, one row per case: scopes, bucket limits, owners, cross-account and
anonymous callers through ACLs and policies, the public access block, ownership controls,
multipart initiators."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from gateway.authz import (
    ANONYMOUS_INITIATOR,
    AccessControlList,
    AccessRequest,
    Grant,
    Group,
    ObjectOwnership,
    Permission,
    PrincipalFacts,
    PublicAccessBlock,
    Reason,
    Target,
    canned_acl,
    decide,
)
from tests.gateway.authz.builders import (
    ANONYMOUS,
    OTHER,
    OWNER,
    THIRD,
    account,
    canonical,
    policy,
    request,
    stmt,
    user,
)

BKT = "arn:aws:s3:::b"


def bucket_acl(name: str) -> AccessControlList:
    return canned_acl(name, owner=canonical(OWNER), target=Target.BUCKET)


def object_acl(name: str, owner: Any = OWNER) -> AccessControlList:
    return canned_acl(name, owner=canonical(owner), bucket_owner=canonical(OWNER))


def grants(*pairs: tuple[Any, Permission], owner: Any = OWNER) -> AccessControlList:
    return AccessControlList(canonical(owner), tuple(Grant(g, p) for g, p in pairs))


PUBLIC_READ_POLICY = policy(stmt(Sid="PublicRead", resource="arn:aws:s3:::b/public/*"))
SHARE_WITH_OTHER = policy(
    stmt(Sid="Share", principal={"AWS": OTHER.account_id}, resource="arn:aws:s3:::b/shared/*")
)
PUBLIC_AND_SHARED = policy(
    stmt(Sid="PublicRead", resource="arn:aws:s3:::b/public/*"),
    stmt(Sid="Share", principal={"AWS": OTHER.account_id}, resource="arn:aws:s3:::b/shared/*"),
)
DENY_DELETES = policy(stmt("Deny", Sid="NoDeletes", action="s3:DeleteObject"))
DENY_ALL = policy(stmt("Deny", Sid="Lockout", action="s3:*", resource=[BKT, "arn:aws:s3:::b/*"]))
OWNER_ADMIN = account(OWNER, scopes=frozenset({"admin"}))


@dataclass
class Case:
    name: str
    caller: PrincipalFacts
    reason: Reason
    action: str = "s3:GetObject"
    key: str | None = "k"
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return self.reason in {
            Reason.OWNER,
            Reason.NO_BUCKET,
            Reason.POLICY,
            Reason.ACL,
            Reason.INITIATOR,
        }


CASES = [
    # --- the credential's ceiling --------------------------------------------------------
    Case(
        "owner with the scope", account(OWNER), Reason.OWNER, fields={"scopes": ("read:objects",)}
    ),
    Case(
        "owner without the scope",
        account(OWNER, scopes=frozenset({"read:buckets"})),
        Reason.SCOPE,
        fields={"scopes": ("read:objects",)},
    ),
    Case(
        "write:objects covers delete:objects",
        account(OWNER, scopes=frozenset({"write:objects"})),
        Reason.OWNER,
        action="s3:DeleteObject",
        fields={"scopes": ("delete:objects",)},
    ),
    Case(
        "every scope of the row is needed",
        account(OWNER, scopes=frozenset({"write:objects"})),
        Reason.SCOPE,
        action="s3:PutObject",
        fields={"scopes": ("write:objects", "read:objects")},
    ),
    Case("bucket limit allows", account(OWNER, limits=("b",)), Reason.OWNER),
    Case("bucket limit pattern allows", account(OWNER, limits=("a*", "?")), Reason.OWNER),
    Case("bucket limit refuses", account(OWNER, limits=("other",)), Reason.BUCKET_LIMIT),
    Case(
        "scopes cap a public bucket too",
        account(OTHER, scopes=frozenset({"read:buckets"})),
        Reason.SCOPE,
        fields={"scopes": ("read:objects",), "object_acl": object_acl("public-read")},
    ),
    Case(
        "bucket limits cap a public bucket too",
        account(OTHER, limits=("mine",)),
        Reason.BUCKET_LIMIT,
        fields={"object_acl": object_acl("public-read")},
    ),
    Case(
        "a policy grant never lifts the scope ceiling",
        account(OTHER, scopes=frozenset({"read:objects"})),
        Reason.SCOPE,
        action="s3:PutObject",
        key="shared/x",
        fields={
            "scopes": ("write:objects",),
            "policy": policy(stmt(principal={"AWS": OTHER.account_id}, action="s3:PutObject")),
        },
    ),
    # --- no bucket yet / service level ------------------------------------------------------
    Case(
        "create bucket: the scopes decide",
        account(OTHER),
        Reason.NO_BUCKET,
        action="s3:CreateBucket",
        key=None,
        fields={"bucket_owner": None},
    ),
    Case(
        "anonymous create bucket",
        ANONYMOUS,
        Reason.ANONYMOUS,
        action="s3:CreateBucket",
        key=None,
        fields={"bucket_owner": None},
    ),
    Case(
        "list buckets",
        account(OTHER),
        Reason.NO_BUCKET,
        action="s3:ListAllMyBuckets",
        key=None,
        fields={"bucket": None, "bucket_owner": None},
    ),
    Case(
        "anonymous list buckets",
        ANONYMOUS,
        Reason.ANONYMOUS,
        action="s3:ListAllMyBuckets",
        key=None,
        fields={"bucket": None, "bucket_owner": None},
    ),
    # --- owners ---------------------------------------------------------------------------
    Case("owner, private everything", account(OWNER), Reason.OWNER),
    Case("owner's user", user(OWNER, "alice"), Reason.OWNER, action="s3:PutObject"),
    Case(
        "owner under an explicit deny",
        account(OWNER),
        Reason.EXPLICIT_DENY,
        action="s3:DeleteObject",
        fields={"policy": DENY_DELETES},
    ),
    Case(
        "owner where the deny does not reach",
        account(OWNER),
        Reason.OWNER,
        action="s3:PutObject",
        fields={"policy": DENY_DELETES},
    ),
    Case(
        "owner admin keeps policy rights under a lockout",
        OWNER_ADMIN,
        Reason.OWNER,
        action="s3:DeleteBucketPolicy",
        key=None,
        fields={"policy": DENY_ALL},
    ),
    Case(
        "owner admin still locked out of objects",
        OWNER_ADMIN,
        Reason.EXPLICIT_DENY,
        fields={"policy": DENY_ALL},
    ),
    Case(
        "owner non-admin locked out of the policy",
        account(OWNER),
        Reason.EXPLICIT_DENY,
        action="s3:PutBucketPolicy",
        key=None,
        fields={"policy": DENY_ALL},
    ),
    Case(
        "owner's admin user is no root",
        user(OWNER, "root", scopes=frozenset({"admin"})),
        Reason.EXPLICIT_DENY,
        action="s3:GetBucketPolicy",
        key=None,
        fields={"policy": DENY_ALL},
    ),
    Case(
        "another account's admin gets no exemption",
        account(OTHER, scopes=frozenset({"admin"})),
        Reason.EXPLICIT_DENY,
        action="s3:GetBucketPolicy",
        key=None,
        fields={"policy": DENY_ALL},
    ),
    # --- other accounts and anonymous: nothing granted -------------------------------------
    Case("another account, private bucket", account(OTHER), Reason.IMPLICIT_DENY),
    Case("anonymous, private bucket", ANONYMOUS, Reason.IMPLICIT_DENY),
    Case(
        "another account cannot list",
        account(OTHER),
        Reason.IMPLICIT_DENY,
        action="s3:ListBucket",
        key=None,
        fields={"bucket_acl": bucket_acl("private")},
    ),
    Case(
        "another account cannot read the bucket ACL",
        account(OTHER),
        Reason.IMPLICIT_DENY,
        action="s3:GetBucketAcl",
        key=None,
    ),
    Case(
        "another account cannot delete the bucket",
        account(OTHER),
        Reason.IMPLICIT_DENY,
        action="s3:DeleteBucket",
        key=None,
        fields={"bucket_acl": bucket_acl("public-read-write")},
    ),
    # --- ACLs ---------------------------------------------------------------------------------
    Case(
        "public-read bucket: anonymous lists",
        ANONYMOUS,
        Reason.ACL,
        action="s3:ListBucket",
        key=None,
        fields={"bucket_acl": bucket_acl("public-read")},
    ),
    Case(
        "public-read bucket: anonymous head bucket",
        ANONYMOUS,
        Reason.ACL,
        action="s3:ListBucket",
        key=None,
        fields={"bucket_acl": bucket_acl("public-read")},
    ),
    Case(
        "public-read bucket: objects stay private",
        ANONYMOUS,
        Reason.IMPLICIT_DENY,
        fields={"bucket_acl": bucket_acl("public-read")},
    ),
    Case(
        "public-read bucket: not writable",
        ANONYMOUS,
        Reason.IMPLICIT_DENY,
        action="s3:PutObject",
        fields={"bucket_acl": bucket_acl("public-read")},
    ),
    Case(
        "public-read-write bucket: anonymous writes",
        ANONYMOUS,
        Reason.ACL,
        action="s3:PutObject",
        fields={"bucket_acl": bucket_acl("public-read-write")},
    ),
    Case(
        "public-read-write bucket: anonymous deletes",
        ANONYMOUS,
        Reason.ACL,
        action="s3:DeleteObject",
        fields={"bucket_acl": bucket_acl("public-read-write")},
    ),
    Case(
        "public-read-write bucket: ACL stays the owner's",
        ANONYMOUS,
        Reason.IMPLICIT_DENY,
        action="s3:PutBucketAcl",
        key=None,
        fields={"bucket_acl": bucket_acl("public-read-write")},
    ),
    Case(
        "public-read object in a private bucket",
        ANONYMOUS,
        Reason.ACL,
        fields={"object_acl": object_acl("public-read")},
    ),
    Case(
        "public-read object: its ACL stays private",
        ANONYMOUS,
        Reason.IMPLICIT_DENY,
        action="s3:GetObjectAcl",
        fields={"object_acl": object_acl("public-read")},
    ),
    Case(
        "public-read object: version reads too",
        ANONYMOUS,
        Reason.ACL,
        action="s3:GetObjectVersion",
        fields={"object_acl": object_acl("public-read")},
    ),
    Case(
        "authenticated-read: any account",
        account(THIRD),
        Reason.ACL,
        fields={"object_acl": object_acl("authenticated-read")},
    ),
    Case(
        "authenticated-read: any account's user",
        user(THIRD, "u"),
        Reason.ACL,
        fields={"object_acl": object_acl("authenticated-read")},
    ),
    Case(
        "authenticated-read: not anonymous",
        ANONYMOUS,
        Reason.IMPLICIT_DENY,
        fields={"object_acl": object_acl("authenticated-read")},
    ),
    Case(
        "grant by canonical id",
        account(OTHER),
        Reason.ACL,
        fields={"object_acl": grants((canonical(OTHER), Permission.READ))},
    ),
    Case(
        "grant by canonical id covers the account's users",
        user(OTHER, "u"),
        Reason.ACL,
        fields={"object_acl": grants((canonical(OTHER), Permission.READ))},
    ),
    Case(
        "grant by canonical id: other accounts",
        account(THIRD),
        Reason.IMPLICIT_DENY,
        fields={"object_acl": grants((canonical(OTHER), Permission.READ))},
    ),
    Case(
        "READ_ACP reads the ACL",
        account(OTHER),
        Reason.ACL,
        action="s3:GetObjectAcl",
        fields={"object_acl": grants((canonical(OTHER), Permission.READ_ACP))},
    ),
    Case(
        "READ_ACP does not read the object",
        account(OTHER),
        Reason.IMPLICIT_DENY,
        fields={"object_acl": grants((canonical(OTHER), Permission.READ_ACP))},
    ),
    Case(
        "WRITE_ACP writes the ACL",
        account(OTHER),
        Reason.ACL,
        action="s3:PutObjectAcl",
        fields={"object_acl": grants((canonical(OTHER), Permission.WRITE_ACP))},
    ),
    Case(
        "FULL_CONTROL on an object reads it",
        account(OTHER),
        Reason.ACL,
        fields={"object_acl": grants((canonical(OTHER), Permission.FULL_CONTROL))},
    ),
    Case(
        "FULL_CONTROL on an object does not delete it",
        account(OTHER),
        Reason.IMPLICIT_DENY,
        action="s3:DeleteObject",
        fields={"object_acl": grants((canonical(OTHER), Permission.FULL_CONTROL))},
    ),
    Case(
        "bucket READ grant lists versions",
        account(OTHER),
        Reason.ACL,
        action="s3:ListBucketVersions",
        key=None,
        fields={"bucket_acl": grants((canonical(OTHER), Permission.READ))},
    ),
    Case(
        "bucket READ grant does not read objects",
        account(OTHER),
        Reason.IMPLICIT_DENY,
        fields={"bucket_acl": grants((canonical(OTHER), Permission.READ))},
    ),
    Case(
        "bucket WRITE grant writes objects",
        account(OTHER),
        Reason.ACL,
        action="s3:PutObject",
        fields={"bucket_acl": grants((canonical(OTHER), Permission.WRITE))},
    ),
    Case(
        "LogDelivery grants no caller",
        account(OTHER),
        Reason.IMPLICIT_DENY,
        action="s3:PutObject",
        fields={"bucket_acl": bucket_acl("log-delivery-write")},
    ),
    Case(
        "no stored ACL grants nothing",
        ANONYMOUS,
        Reason.IMPLICIT_DENY,
        fields={"object_acl": None, "bucket_acl": None},
    ),
    # --- bucket policies --------------------------------------------------------------------
    Case(
        "policy: public prefix",
        ANONYMOUS,
        Reason.POLICY,
        key="public/a",
        fields={"policy": PUBLIC_READ_POLICY},
    ),
    Case(
        "policy: outside the public prefix",
        ANONYMOUS,
        Reason.IMPLICIT_DENY,
        key="private/a",
        fields={"policy": PUBLIC_READ_POLICY},
    ),
    Case(
        "policy: shared prefix for one account",
        account(OTHER),
        Reason.POLICY,
        key="shared/a",
        fields={"policy": SHARE_WITH_OTHER},
    ),
    Case(
        "policy: shared prefix, not for a third account",
        account(THIRD),
        Reason.IMPLICIT_DENY,
        key="shared/a",
        fields={"policy": SHARE_WITH_OTHER},
    ),
    Case(
        "policy: shared prefix, not beyond it",
        account(OTHER),
        Reason.IMPLICIT_DENY,
        key="private/a",
        fields={"policy": SHARE_WITH_OTHER},
    ),
    Case(
        "policy deny beats an ACL grant",
        ANONYMOUS,
        Reason.EXPLICIT_DENY,
        action="s3:DeleteObject",
        fields={"policy": DENY_DELETES, "bucket_acl": bucket_acl("public-read-write")},
    ),
    Case(
        "policy deny over HTTP",
        ANONYMOUS,
        Reason.EXPLICIT_DENY,
        key="public/a",
        fields={
            "policy": policy(
                stmt(resource="arn:aws:s3:::b/public/*"),
                stmt("Deny", Sid="TLS", Condition={"Bool": {"aws:SecureTransport": "false"}}),
            )
        },
    ),
    # --- public access block ---------------------------------------------------------------
    Case(
        "IgnorePublicAcls sets public grants aside",
        ANONYMOUS,
        Reason.PUBLIC_ACCESS_BLOCK,
        action="s3:ListBucket",
        key=None,
        fields={
            "bucket_acl": bucket_acl("public-read"),
            "public_access_block": PublicAccessBlock(ignore_public_acls=True),
        },
    ),
    Case(
        "IgnorePublicAcls covers AuthenticatedUsers",
        account(THIRD),
        Reason.PUBLIC_ACCESS_BLOCK,
        fields={
            "object_acl": object_acl("authenticated-read"),
            "public_access_block": PublicAccessBlock(ignore_public_acls=True),
        },
    ),
    Case(
        "IgnorePublicAcls keeps grants to accounts",
        account(OTHER),
        Reason.ACL,
        fields={
            "object_acl": grants(
                (Group.ALL_USERS, Permission.READ), (canonical(OTHER), Permission.READ)
            ),
            "public_access_block": PublicAccessBlock(ignore_public_acls=True),
        },
    ),
    Case(
        "BlockPublicAcls alone does not change reads",
        ANONYMOUS,
        Reason.ACL,
        fields={
            "object_acl": object_acl("public-read"),
            "public_access_block": PublicAccessBlock(block_public_acls=True),
        },
    ),
    Case(
        "RestrictPublicBuckets: anonymous",
        ANONYMOUS,
        Reason.PUBLIC_ACCESS_BLOCK,
        key="public/a",
        fields={
            "policy": PUBLIC_READ_POLICY,
            "public_access_block": PublicAccessBlock(restrict_public_buckets=True),
        },
    ),
    Case(
        "RestrictPublicBuckets: named accounts too, while the policy is public",
        account(OTHER),
        Reason.PUBLIC_ACCESS_BLOCK,
        key="shared/a",
        fields={
            "policy": PUBLIC_AND_SHARED,
            "public_access_block": PublicAccessBlock(restrict_public_buckets=True),
        },
    ),
    Case(
        "RestrictPublicBuckets: a non-public policy still shares",
        account(OTHER),
        Reason.POLICY,
        key="shared/a",
        fields={
            "policy": SHARE_WITH_OTHER,
            "public_access_block": PublicAccessBlock(restrict_public_buckets=True),
        },
    ),
    Case(
        "RestrictPublicBuckets: the owner is unaffected",
        account(OWNER),
        Reason.OWNER,
        key="public/a",
        fields={
            "policy": PUBLIC_READ_POLICY,
            "public_access_block": PublicAccessBlock(restrict_public_buckets=True),
        },
    ),
    Case(
        "RestrictPublicBuckets leaves ACLs alone",
        ANONYMOUS,
        Reason.ACL,
        key="public/a",
        fields={
            "policy": PUBLIC_READ_POLICY,
            "object_acl": object_acl("public-read"),
            "public_access_block": PublicAccessBlock(restrict_public_buckets=True),
        },
    ),
    Case(
        "all blocks on",
        ANONYMOUS,
        Reason.PUBLIC_ACCESS_BLOCK,
        key="public/a",
        fields={
            "policy": PUBLIC_READ_POLICY,
            "object_acl": object_acl("public-read"),
            "public_access_block": PublicAccessBlock.all_on(),
        },
    ),
    # --- ownership: objects other accounts wrote -------------------------------------------
    Case(
        "the writer reads its object",
        account(OTHER),
        Reason.OWNER,
        fields={"object_owner": OTHER, "object_acl": object_acl("private", OTHER)},
    ),
    Case(
        "the writer changes its object's ACL",
        account(OTHER),
        Reason.OWNER,
        action="s3:PutObjectAcl",
        fields={"object_owner": OTHER, "object_acl": object_acl("private", OTHER)},
    ),
    Case(
        "the bucket owner cannot read a foreign object",
        account(OWNER),
        Reason.IMPLICIT_DENY,
        fields={"object_owner": OTHER, "object_acl": object_acl("private", OTHER)},
    ),
    Case(
        "the bucket owner reads it with bucket-owner-read",
        account(OWNER),
        Reason.ACL,
        fields={"object_owner": OTHER, "object_acl": object_acl("bucket-owner-read", OTHER)},
    ),
    Case(
        "the bucket owner deletes any object",
        account(OWNER),
        Reason.OWNER,
        action="s3:DeleteObject",
        fields={"object_owner": OTHER, "object_acl": object_acl("private", OTHER)},
    ),
    Case(
        "the writer deletes its object",
        account(OTHER),
        Reason.OWNER,
        action="s3:DeleteObject",
        fields={"object_owner": OTHER, "object_acl": object_acl("private", OTHER)},
    ),
    Case(
        "a third account's delete needs the bucket's permission",
        account(THIRD),
        Reason.IMPLICIT_DENY,
        action="s3:DeleteObject",
        fields={"object_owner": OTHER, "object_acl": object_acl("public-read-write", OTHER)},
    ),
    Case(
        "a delete with the bucket's WRITE",
        account(THIRD),
        Reason.ACL,
        action="s3:DeleteObject",
        fields={"object_owner": OTHER, "bucket_acl": bucket_acl("public-read-write")},
    ),
    Case(
        "the bucket policy grants nothing on a foreign object",
        ANONYMOUS,
        Reason.IMPLICIT_DENY,
        key="public/a",
        fields={
            "policy": PUBLIC_READ_POLICY,
            "object_owner": OTHER,
            "object_acl": object_acl("private", OTHER),
        },
    ),
    Case(
        "the bucket policy's deny reaches a foreign object's owner",
        account(OTHER),
        Reason.EXPLICIT_DENY,
        fields={
            "policy": DENY_ALL,
            "object_owner": OTHER,
            "object_acl": object_acl("private", OTHER),
        },
    ),
    Case(
        "BucketOwnerPreferred decides like ObjectWriter",
        account(OWNER),
        Reason.IMPLICIT_DENY,
        fields={
            "object_owner": OTHER,
            "object_acl": object_acl("private", OTHER),
            "ownership": ObjectOwnership.BUCKET_OWNER_PREFERRED,
        },
    ),
    Case(
        "BucketOwnerEnforced: the bucket owner owns everything",
        account(OWNER),
        Reason.OWNER,
        fields={
            "object_owner": OTHER,
            "object_acl": object_acl("private", OTHER),
            "ownership": ObjectOwnership.BUCKET_OWNER_ENFORCED,
        },
    ),
    Case(
        "BucketOwnerEnforced: the writer's ownership is gone",
        account(OTHER),
        Reason.IMPLICIT_DENY,
        fields={
            "object_owner": OTHER,
            "object_acl": object_acl("private", OTHER),
            "ownership": ObjectOwnership.BUCKET_OWNER_ENFORCED,
        },
    ),
    Case(
        "BucketOwnerEnforced: object ACLs are off",
        ANONYMOUS,
        Reason.IMPLICIT_DENY,
        fields={
            "object_acl": object_acl("public-read"),
            "ownership": ObjectOwnership.BUCKET_OWNER_ENFORCED,
        },
    ),
    Case(
        "BucketOwnerEnforced: bucket ACLs are off",
        ANONYMOUS,
        Reason.IMPLICIT_DENY,
        action="s3:ListBucket",
        key=None,
        fields={
            "bucket_acl": bucket_acl("public-read"),
            "ownership": ObjectOwnership.BUCKET_OWNER_ENFORCED,
        },
    ),
    Case(
        "BucketOwnerEnforced: policies still work",
        ANONYMOUS,
        Reason.POLICY,
        key="public/a",
        fields={
            "policy": PUBLIC_READ_POLICY,
            "object_owner": OTHER,
            "ownership": ObjectOwnership.BUCKET_OWNER_ENFORCED,
        },
    ),
    # --- multipart uploads -------------------------------------------------------------------
    Case(
        "the initiator aborts its upload",
        account(OTHER),
        Reason.INITIATOR,
        action="s3:AbortMultipartUpload",
        fields={"upload_initiator": OTHER.account_id},
    ),
    Case(
        "the initiator lists its parts",
        user(OTHER, "u"),
        Reason.INITIATOR,
        action="s3:ListMultipartUploadParts",
        fields={"upload_initiator": OTHER.account_id},
    ),
    Case(
        "another account cannot abort it",
        account(THIRD),
        Reason.IMPLICIT_DENY,
        action="s3:AbortMultipartUpload",
        fields={
            "upload_initiator": OTHER.account_id,
            "bucket_acl": bucket_acl("public-read-write"),
        },
    ),
    Case(
        "the bucket owner aborts any upload",
        account(OWNER),
        Reason.OWNER,
        action="s3:AbortMultipartUpload",
        fields={"upload_initiator": OTHER.account_id},
    ),
    Case(
        "the bucket owner aborts an upload over a foreign object",
        account(OWNER),
        Reason.OWNER,
        action="s3:AbortMultipartUpload",
        fields={"upload_initiator": OTHER.account_id, "object_owner": OTHER},
    ),
    Case(
        "the initiator adds parts with the bucket's WRITE",
        account(OTHER),
        Reason.ACL,
        action="s3:PutObject",
        fields={
            "upload_initiator": OTHER.account_id,
            "bucket_acl": bucket_acl("public-read-write"),
        },
    ),
    Case(
        "the initiator needs the bucket's permission to add parts",
        account(OTHER),
        Reason.IMPLICIT_DENY,
        action="s3:PutObject",
        fields={"upload_initiator": OTHER.account_id},
    ),
    Case(
        "nobody else adds parts",
        account(THIRD),
        Reason.NOT_INITIATOR,
        action="s3:PutObject",
        fields={
            "upload_initiator": OTHER.account_id,
            "bucket_acl": bucket_acl("public-read-write"),
        },
    ),
    Case(
        "not even the bucket owner",
        account(OWNER),
        Reason.NOT_INITIATOR,
        action="s3:PutObject",
        fields={"upload_initiator": OTHER.account_id},
    ),
    Case(
        "anonymous cannot add to another's upload",
        ANONYMOUS,
        Reason.NOT_INITIATOR,
        action="s3:PutObject",
        fields={
            "upload_initiator": OTHER.account_id,
            "bucket_acl": bucket_acl("public-read-write"),
        },
    ),
    Case(
        "anonymous adds to an anonymous upload in a public-read-write bucket",
        ANONYMOUS,
        Reason.ACL,
        action="s3:PutObject",
        fields={
            "upload_initiator": ANONYMOUS_INITIATOR,
            "bucket_acl": bucket_acl("public-read-write"),
        },
    ),
    Case(
        "anonymous aborts an anonymous upload",
        ANONYMOUS,
        Reason.INITIATOR,
        action="s3:AbortMultipartUpload",
        fields={"upload_initiator": ANONYMOUS_INITIATOR},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_decision(case: Case) -> None:
    decision = decide(request(case.caller, case.action, case.key, **case.fields))
    assert (decision.reason, decision.allowed) == (case.reason, case.allowed)
    assert decision.message
    if not decision.allowed:
        assert decision.message.startswith("Access Denied")


def test_case_names_are_unique() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))


def test_decision_names_the_statement() -> None:
    allowed = decide(request(ANONYMOUS, key="public/a", policy=PUBLIC_READ_POLICY))
    assert allowed.statement == "PublicRead"
    denied = decide(request(account(OWNER), "s3:DeleteObject", policy=DENY_DELETES))
    assert denied.statement == "NoDeletes"
    assert "explicit deny" in denied.message


def test_a_copy_is_two_decisions() -> None:
    """CopyObject from another account's public object into the caller's own bucket:
    the caller decides the source read and the destination write separately."""
    source = request(account(OTHER), "s3:GetObject", "src", object_acl=object_acl("public-read"))
    destination = request(account(OTHER), "s3:PutObject", "dst", bucket="mine", bucket_owner=OTHER)
    assert decide(source).allowed and decide(destination).allowed
    private_source = request(account(OTHER), "s3:GetObject", "src")
    assert not decide(private_source).allowed


def test_unknown_action_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        request(ANONYMOUS, "s3:Frobnicate")
    with pytest.raises(ValueError):
        AccessRequest(ANONYMOUS, "s3:GetObject", (), request(ANONYMOUS).context, key="k")


def test_principal_facts_are_consistent() -> None:
    from gateway.authz import PrincipalKind

    with pytest.raises(ValueError):
        PrincipalFacts(PrincipalKind.ACCOUNT)
    with pytest.raises(ValueError):
        PrincipalFacts(PrincipalKind.ANONYMOUS, account_id="acct_x")
    with pytest.raises(ValueError):
        PrincipalFacts(PrincipalKind.ACCOUNT, account_id="acct_x", user_name="u")
