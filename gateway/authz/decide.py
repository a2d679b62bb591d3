"""The one access decision: ``decide(AccessRequest) -> Decision``.

    allowed = within_scopes(principal, row)             # the credential's ceiling, always
          and within_bucket_limits(principal, bucket)
          and not explicit_deny(policy)
          and (same_account(principal, resource owner)  # owners: the scopes decide
               or granted(acl, policy, public_access_block))   # others and anonymous

The resource owner is the bucket owner for bucket actions and for writes and deletes of
keys (bucket ACL ``WRITE``; an object's owner may delete it too), and the object owner
for everything else on an existing object: an object another account wrote stays that
account's, and the bucket policy (the bucket owner's) grants nothing on it, as in S3.
``BucketOwnerEnforced`` makes the bucket owner own everything and turns ACLs off. A copy
is decided twice by the caller: ``s3:GetObject`` on the source, ``s3:PutObject`` on the
destination.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from enum import Enum

from gateway.authz.acl import AccessControlList, Target
from gateway.authz.actions import ACTIONS, ResourceKind
from gateway.authz.context import ConditionContext, PrincipalFacts, PrincipalKind
from gateway.authz.evaluate import PolicyResult, evaluate, resource_arn
from gateway.authz.ownership import ObjectOwnership
from gateway.authz.policy import Policy
from gateway.authz.public import is_public
from gateway.authz.public_access import PublicAccessBlock
from gateway.scopes import ADMIN, grants
from sigv4.records import record

__all__ = ["ANONYMOUS_INITIATOR", "AccessRequest", "Decision", "Owner", "Reason", "decide"]

ANONYMOUS_INITIATOR = "anonymous"
"""The ``upload_initiator`` of a multipart upload an anonymous caller started."""


@dataclass(frozen=True, slots=True)
class Owner:
    account_id: str
    canonical_id: str


@record
class AccessRequest:
    """Everything one decision reads. ``bucket_owner`` None means the bucket does not
    exist (CreateBucket, or a request the handler will answer ``NoSuchBucket``) or the
    request is service-level (ListBuckets); ``object_owner`` and ``object_acl`` describe
    the existing object a request reads or changes; ``upload_initiator`` is the account
    that created the multipart upload a request names (``ANONYMOUS_INITIATOR`` for an
    anonymous caller: anonymous callers are indistinguishable, so any of them may go on
    with such an upload, as far as the bucket's grants allow)."""

    principal: PrincipalFacts
    action: str
    """The IAM action (AWS spelling, a key of ``gateway.authz.actions.ACTIONS``)."""
    scopes: tuple[str, ...]
    """The scopes the operation needs (its row in the operation table)."""
    context: ConditionContext
    bucket: str | None = None
    key: str | None = None
    bucket_owner: Owner | None = None
    bucket_acl: AccessControlList | None = None
    object_owner: Owner | None = None
    object_acl: AccessControlList | None = None
    policy: Policy | None = None
    public_access_block: PublicAccessBlock = field(default_factory=PublicAccessBlock)
    ownership: ObjectOwnership = ObjectOwnership.OBJECT_WRITER
    upload_initiator: str | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}")
        if self.key is not None and self.bucket is None:
            raise ValueError("a key needs a bucket")

    @property
    def resource(self) -> str | None:
        if self.bucket is None:
            return None
        return resource_arn(self.bucket, self.key)


class Reason(Enum):
    # allowed
    OWNER = "owner"
    """The caller's account owns the resource: its scopes decide."""
    NO_BUCKET = "no_bucket"
    """Service-level request or a bucket that does not exist: the scopes decide."""
    POLICY = "policy"
    ACL = "acl"
    INITIATOR = "initiator"
    """The account that started a multipart upload may list its parts and abort it."""
    # denied
    SCOPE = "scope"
    BUCKET_LIMIT = "bucket_limit"
    ANONYMOUS = "anonymous"
    EXPLICIT_DENY = "explicit_deny"
    NOT_INITIATOR = "not_initiator"
    PUBLIC_ACCESS_BLOCK = "public_access_block"
    """A grant exists but the public access block sets it aside."""
    IMPLICIT_DENY = "implicit_deny"
    OWNER_ACCOUNT_ONLY = "owner_account_only"
    """Get/Put/DeleteBucketPolicy granted to a caller outside the bucket owner's account:
    S3 answers ``405 MethodNotAllowed`` (only the owner's identities manage the policy)."""


@record
class Decision:
    allowed: bool
    reason: Reason
    message: str
    """For the ``AccessDenied`` message and the audit log; never names a secret."""
    statement: str | None = None
    """The Sid of the policy statement that decided, when one did and has a Sid."""


_DELETES = frozenset({"s3:DeleteObject", "s3:DeleteObjectVersion"})
_BUCKET_WRITES = frozenset({"s3:PutObject", "s3:BypassGovernanceRetention"}) | _DELETES
"""Object actions the bucket owner governs, whoever wrote the object: writes and deletes
(the bucket ACL's ``WRITE``; an object's owner may delete it too), and bypassing the
bucket's Object Lock GOVERNANCE retention (no ACL grants that)."""
_INITIATOR_ACTIONS = frozenset({"s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"})
_POLICY_ACTIONS = frozenset({"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"})


def _allow(reason: Reason, message: str, statement: str | None = None) -> Decision:
    return Decision(True, reason, message, statement)


def _deny(reason: Reason, message: str, statement: str | None = None) -> Decision:
    return Decision(False, reason, f"Access Denied: {message}", statement)


def within_scopes(p: PrincipalFacts, needed: tuple[str, ...]) -> str | None:
    """The first scope the credential lacks, or None."""
    for scope in needed:
        if not grants(p.scopes, scope):
            return scope
    return None


def within_bucket_limits(p: PrincipalFacts, bucket: str | None) -> bool:
    if bucket is None or p.bucket_limits is None:
        return True
    return any(fnmatch.fnmatchcase(bucket, pattern) for pattern in p.bucket_limits)


def _keeps_policy_rights(req: AccessRequest, owner: Owner) -> bool:
    """S3 lets the bucket owner's root manage the policy even when the policy denies it,
    so a bad policy never locks the owner out; here: an ``admin`` credential of the
    owning account itself."""
    p = req.principal
    return (
        req.action in _POLICY_ACTIONS
        and p.kind is PrincipalKind.ACCOUNT
        and p.account_id == owner.account_id
        and ADMIN in p.scopes
    )


def decide(req: AccessRequest) -> Decision:
    p = req.principal
    if not p.is_anonymous:
        missing = within_scopes(p, req.scopes)
        if missing is not None:
            return _deny(Reason.SCOPE, f"this operation needs scope {missing}")
        if not within_bucket_limits(p, req.bucket):
            return _deny(Reason.BUCKET_LIMIT, f"this key may not use bucket {req.bucket}")
    bucket_owner = req.bucket_owner
    resource = req.resource
    if bucket_owner is None or resource is None:
        if p.is_anonymous:
            return _deny(Reason.ANONYMOUS, "anonymous access is not allowed; sign the request")
        return _allow(Reason.NO_BUCKET, "the scopes allow it")

    result = evaluate(req.policy, p, req.action, resource, req.context)
    if result.denied_by is not None and not _keeps_policy_rights(req, bucket_owner):
        return _deny(
            Reason.EXPLICIT_DENY, "explicit deny in the bucket policy", result.denied_by.sid
        )
    initiator = p.account_id or ANONYMOUS_INITIATOR
    if (
        req.upload_initiator is not None
        and req.action == "s3:PutObject"
        and initiator != req.upload_initiator
    ):
        return _deny(Reason.NOT_INITIATOR, "only the initiator may add to this multipart upload")

    acls = req.ownership.acls_enabled
    on_bucket = ACTIONS[req.action] is not ResourceKind.OBJECT or req.action in _BUCKET_WRITES
    bucket_owned = on_bucket or not acls or req.action in _INITIATOR_ACTIONS
    owner = bucket_owner if bucket_owned else (req.object_owner or bucket_owner)
    deleting_own = (
        acls
        and req.action in _DELETES
        and req.object_owner is not None
        and p.account_id == req.object_owner.account_id
    )
    if p.account_id == owner.account_id or deleting_own:
        return _allow(Reason.OWNER, "the caller's account owns the resource")
    if (
        req.upload_initiator is not None
        and req.action in _INITIATOR_ACTIONS
        and initiator == req.upload_initiator
    ):
        return _allow(Reason.INITIATOR, "the caller's account started this upload")
    granted = _granted(req, result, owner, on_bucket=on_bucket)
    if granted.allowed and req.action in _POLICY_ACTIONS:
        # AWS: a caller with the permission but outside the owner's account hears 405, so
        # that a policy can never hand the policy itself to another account (or anyone).
        return Decision(
            False,
            Reason.OWNER_ACCOUNT_ONLY,
            "Only the bucket owner's account may read or change the bucket policy",
            granted.statement,
        )
    return granted


def _granted(
    req: AccessRequest, result: PolicyResult, owner: Owner, *, on_bucket: bool
) -> Decision:
    """Access for another account or anonymous: the bucket policy or an ACL grants it,
    unless the public access block sets that grant aside."""
    p, block, bucket_owner = req.principal, req.public_access_block, req.bucket_owner
    assert bucket_owner is not None
    blocked = False
    # The policy is the bucket owner's: it speaks for objects the bucket owner owns.
    if result.allowed_by is not None and owner.account_id == bucket_owner.account_id:
        if block.restrict_public_buckets and is_public(req.policy):
            blocked = True
        else:
            return _allow(Reason.POLICY, "the bucket policy allows it", result.allowed_by.sid)
    if req.ownership.acls_enabled:
        acl, target = (
            (req.bucket_acl, Target.BUCKET) if on_bucket else (req.object_acl, Target.OBJECT)
        )
        if acl is not None:
            effective = acl.without_public_grants() if block.ignore_public_acls else acl
            if effective.grant_for(p, req.action, target) is not None:
                return _allow(Reason.ACL, f"the {target.value} ACL grants it")
            blocked = blocked or acl.grant_for(p, req.action, target) is not None
    if blocked:
        return _deny(Reason.PUBLIC_ACCESS_BLOCK, "the public access block sets the grant aside")
    if p.is_anonymous:
        return _deny(Reason.IMPLICIT_DENY, "no grant for anonymous access")
    return _deny(Reason.IMPLICIT_DENY, "no grant for this account")
