"""Authorization of an S3 request: the dispatcher's one call into the decision engine
(``gateway.authz.decide``), made before the handler runs and before ``100 Continue``.

:func:`authorize` gathers the facts (who calls, the bucket's owner and settings, the
object's owner and ACL when the decision needs them, a multipart upload's initiator, the
request's condition values), decides once, and a second time for the source of a copy
(``s3:GetObject`` on it, as the caller). A refusal is ``AccessDenied``. The facts it
loaded stay on the returned :class:`Access` for the handler, which never decides access
itself: it renders owners and ACLs, records who owns what it wrote, and, for
DeleteObjects, whose keys arrive in the body, asks :meth:`Access.check_delete` for each
key's decision (S3 decides each key of a DeleteObjects on its own). A conditional delete
with an ETag (DeleteObject's ``If-Match``, a DeleteObjects key's ``<ETag>``) is decided
for ``s3:GetObject`` too, as S3 asks; ``x-amz-bypass-governance-retention: true`` for
``s3:BypassGovernanceRetention`` (:attr:`Access.bypass_governance`).

Cost: one indexed read of the bucket's settings; the object's row only when a decision
needs it (another account's request, or the owner's in a bucket holding other accounts'
objects: ``gateway/identity/object_acls.py``); the upload's row only in such buckets; the
object's tag set (one backend read: a metadata row, or a GetObjectTagging upstream) only
when the bucket policy has a statement addressed to the caller and action that mentions
``s3:ExistingObjectTag/...`` and the action carries that key
(``gateway.authz.needs_existing_tags``), at most once per object and request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web

from backends.base import Backend
from backends.errors import BackendError
from gateway.authz import (
    ACTIONS,
    AccessRequest,
    ConditionContext,
    Decision,
    ObjectOwnership,
    PrincipalFacts,
    PublicAccessBlock,
    Reason,
    RequestContext,
    ResourceKind,
    decide,
    needs_existing_tags,
    versioned_action,
)
from gateway.config import Config
from gateway.identity.object_acls import ObjectAcl, UploadAcl
from gateway.identity.store import IdentityStore
from gateway.principal import Principal
from gateway.s3.access_context import GrantCell, LazyContext, principal_facts
from gateway.s3.bucket_facts import (
    OWNER,
    BucketFacts,
    bucket_exists,
    load_bucket,
    owner_of,
    parsed_acl,
)
from gateway.s3.errors import S3Error
from gateway.s3.request import S3Request
from gateway.scopes import BYPASS_GOVERNANCE, READ_OBJECTS

__all__ = ["UPLOAD_OPERATIONS", "Access", "authorize", "check_expected_owner", "reveals_etag"]

BYPASS = "s3:BypassGovernanceRetention"

UPLOAD_OPERATIONS = frozenset(
    {
        "UploadPart",
        "UploadPartCopy",
        "CompleteMultipartUpload",
        "AbortMultipartUpload",
        "ListParts",
    }
)
"""Operations on one multipart upload: the decision reads its initiator."""

_DELETES = frozenset({"s3:DeleteObject", "s3:DeleteObjectVersion"})
_BUCKET_GOVERNED = frozenset(
    {
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
        "s3:BypassGovernanceRetention",
    }
)
"""Object actions ``decide`` judges by the bucket's owner alone."""

_NO_POLICY = RequestContext(now=datetime(1970, 1, 1, tzinfo=UTC))
"""The context of a decision without a bucket policy: nothing reads it (``evaluate``
returns before looking at it), so it is not built from the request."""

Tags = Mapping[str, str]
ContextFor = Callable[[str, str | None, Tags | None, str | None, str | None], ConditionContext]
"""(action, version id, the existing object's tags, a DeleteObjects key's ``<ETag>``, the
account owning the bucket) -> the request's condition values for that decision."""

_NO_OBJECT = frozenset(
    {
        "NoSuchKey",
        "NoSuchVersion",
        "MethodNotAllowed",
        "NoSuchBucket",
        "InvalidArgument",
        "NotImplemented",
    }
)
"""Backend answers to a tag read meaning "no such object (version)" (a delete marker's id is
``MethodNotAllowed``; a version id the store cannot have issued ``InvalidArgument``; a
backend without tags ``NotImplemented``): ``s3:ExistingObjectTag`` is then absent, and the
handler answers the request as it does without the key."""


@dataclass(slots=True)
class Access:
    """The facts one request's decisions read, kept for its handler."""

    store: IdentityStore
    backend: Backend
    principal: Principal
    facts: PrincipalFacts
    bucket: BucketFacts | None
    context_for: ContextFor
    forced_block: bool
    upload: UploadAcl | None = None
    """The row of the multipart upload the request names, if it has one."""
    bypass_governance: bool = False
    """``x-amz-bypass-governance-retention: true`` takes effect: the caller may
    ``s3:BypassGovernanceRetention`` on the object (its ``bypass:governance`` scope, and
    the bucket policy: a Deny refuses it, another account needs an Allow). A refused
    bypass is ignored, so a version GOVERNANCE protects stays protected. DeleteObjects:
    decided for each key by :meth:`check_delete`, as S3 does."""
    _objects: dict[tuple[str, str, str | None], ObjectAcl | None] = field(default_factory=dict)
    _tags: dict[tuple[str, str, str | None], Tags | None] = field(default_factory=dict)

    async def object_row(
        self, bucket: BucketFacts, key: str, version: str | None
    ) -> ObjectAcl | None:
        """The row of an object version (``version`` None: the current one), read at
        most once per request; None when the bucket has no rows or the object none."""
        if not bucket.has_rows:
            return None
        slot = (bucket.name, key, version)
        if slot not in self._objects:
            rows = self.store.object_acls
            self._objects[slot] = await (
                rows.current(bucket.name, key)
                if version is None
                else rows.version(bucket.name, key, version)
            )
        return self._objects[slot]

    async def existing_tags(self, bucket: str, key: str, version: str | None) -> Tags | None:
        """The tag set of the object version a request acts on (``version`` None: the
        current one), read at most once per request; None when there is no such object
        (or the current version is a delete marker). Any other backend failure ends the
        request: deciding without the tags could let through what a Deny on them stops."""
        slot = (bucket, key, version)
        if slot not in self._tags:
            try:
                found = await self.backend.get_object_tagging(bucket, key, version_id=version)
            except BackendError as exc:
                if exc.code not in _NO_OBJECT:
                    raise
                self._tags[slot] = None
            else:
                self._tags[slot] = dict(found.tags)
        return self._tags[slot]

    async def decide(
        self,
        bucket: BucketFacts | None,
        action: str,
        scopes: tuple[str, ...],
        *,
        key: str | None = None,
        version: str | None = None,
        initiator: str | None = None,
        no_owner: bool = False,
        existing_object: bool = True,
        etag: str | None = None,
    ) -> Decision:
        """One decision; ``no_owner`` judges by scopes and bucket limits alone;
        ``existing_object`` False: the action is judged for an object the request creates
        (a write's ``s3:PutObjectTagging``), which has no existing tags; ``etag``: the
        ``<ETag>`` of the DeleteObjects key decided (its ``s3:if-match``)."""
        owner = None if bucket is None or no_owner else bucket.owner
        row = None
        if bucket is not None and owner is not None and _needs_object(action, bucket, self):
            assert key is not None
            row = await self.object_row(bucket, key, version)
        policy = None if bucket is None else bucket.policy
        context: ConditionContext = _NO_POLICY
        # Only a bucket policy's conditions read the context: without a policy the
        # request's condition values are not gathered at all.
        if policy is not None:
            tags = None
            if (
                existing_object
                and key is not None
                and owner is not None
                and needs_existing_tags(policy, self.facts, action)
            ):
                assert bucket is not None
                tags = await self.existing_tags(bucket.name, key, version)
            assert bucket is not None
            account = None if bucket.owner is None else bucket.owner.account_id
            context = self.context_for(action, version, tags, etag, account)
        return decide(
            AccessRequest(
                principal=self.facts,
                action=action,
                scopes=scopes,
                context=context,
                bucket=None if bucket is None else bucket.name,
                key=key,
                bucket_owner=owner,
                bucket_acl=None if bucket is None else bucket.acl,
                object_owner=None if row is None else owner_of(row.owner),
                object_acl=None if row is None else parsed_acl(row.acl),
                policy=policy,
                public_access_block=(
                    PublicAccessBlock().effective(force_all=self.forced_block)
                    if bucket is None
                    else bucket.effective_block
                ),
                ownership=ObjectOwnership.OBJECT_WRITER if bucket is None else bucket.ownership,
                upload_initiator=initiator,
            )
        )

    async def check_delete(
        self, key: str, version: str | None, etag: str | None
    ) -> tuple[Decision, bool]:
        """DeleteObjects: the decision for one key of the request body, and whether the
        governance bypass the request asked for takes effect on that key (S3 decides each
        key: a Deny on one prefix keeps those versions and no others). A key with an
        ``<ETag>`` other than ``*`` needs ``s3:GetObject`` too (and the credential's
        ``read:objects``), as DeleteObject's ``If-Match`` does: the comparison tells what
        the object is."""
        action = versioned_action("s3:DeleteObject", version_id=version)
        decision = await self.decide(self.bucket, action, (), key=key, version=version, etag=etag)
        if decision.allowed and reveals_etag(etag):
            decision = await self.decide(self.bucket, "s3:GetObject", (READ_OBJECTS,), key=key)
        bypass = decision.allowed and self.bypass_governance
        if bypass:
            bypass = await self.may_bypass(key, version)
        return decision, bypass

    async def may_bypass(self, key: str, version: str | None) -> bool:
        """Whether ``s3:BypassGovernanceRetention`` on this object version is allowed."""
        decision = await self.decide(
            self.bucket, BYPASS, (BYPASS_GOVERNANCE,), key=key, version=version
        )
        return decision.allowed


EXPECTED_OWNER = "x-amz-expected-bucket-owner"
SOURCE_EXPECTED_OWNER = "x-amz-source-expected-bucket-owner"


async def check_expected_owner(
    expected: str | None, bucket: BucketFacts | None, backend: Backend
) -> None:
    """``x-amz-expected-bucket-owner`` (``x-amz-source-expected-bucket-owner`` for a
    copy's source): the account id the client expects to own the bucket. Another owner
    is ``AccessDenied``, as S3 answers, whoever asks and whatever they may do there: the
    client's guard against writing into, or reading from, a bucket someone else holds
    under that name. A bucket that does not exist is the handler's answer
    (``NoSuchBucket``): the system account's facts name it the owner of any name without
    looking (``load_bucket``), so a mismatch there looks once. Cost: one header lookup per
    bucket request; a HeadBucket only for a mismatch on a bucket without a stored owner."""
    if expected is None or bucket is None or bucket.owner is None:
        return
    if expected.strip() == bucket.owner.account_id:
        return
    if OWNER not in bucket.settings and not await bucket_exists(backend, bucket.name):
        return
    raise S3Error("AccessDenied", "Access Denied")


def reveals_etag(if_match: str | None) -> bool:
    """Whether a conditional delete compares an ETag (``If-Match: <etag>``, not ``*``):
    S3 then asks for ``s3:GetObject`` beside ``s3:DeleteObject``."""
    return if_match is not None and if_match != "*"


def _needs_object(action: str, bucket: BucketFacts, access: Access) -> bool:
    """Whether the decision depends on the object's own owner and ACL (see the module
    docstring of ``gateway/identity/object_acls.py``)."""
    if not bucket.has_rows or not bucket.ownership.acls_enabled:
        return False
    if ACTIONS[action] is not ResourceKind.OBJECT or action in _BUCKET_GOVERNED:
        return False
    owner = bucket.owned_by(access.principal)
    if action in _DELETES:
        return not owner
    return not owner or bucket.foreign


def _sets_tags(req: S3Request) -> bool:
    """Whether a write's ``x-amz-tagging`` takes effect (CopyObject: with REPLACE), so that
    it needs ``s3:PutObjectTagging`` too. PutObjectTagging's own tag set (its body) is
    judged by its own decision."""
    if req.operation.name == "PutObjectTagging":
        return False
    if req.operation.name == "CopyObject":
        return req.replace_tags
    return True


_SSE_C_WRITES = frozenset(
    {
        "PutObject",
        "PostObject",
        "CopyObject",
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPartCopy",
        "CompleteMultipartUpload",
    }
)
"""Writes whose customer key (SSE-C) encrypts what they write: refused where the bucket
blocks SSE-C. Reads with a key, and a copy source's key, stay allowed."""


def _refuse(decision: Decision, method: str = "") -> None:
    if decision.allowed:
        return
    if decision.reason is Reason.OWNER_ACCOUNT_ONLY:  # Get/Put/DeleteBucketPolicy
        extra = {"Method": method, "ResourceType": "BUCKET"}
        raise S3Error("MethodNotAllowed", decision.message, extra=extra)
    raise S3Error("AccessDenied", decision.message)


async def _initiator(access: Access, bucket: BucketFacts, upload_id: str) -> str | None:
    if bucket.owner is None:
        return None
    rows = access.store.object_acls
    if bucket.has_rows or rows.shared:  # another host may have begun rows (its upload's)
        access.upload = await rows.upload(bucket.name, upload_id)
    return bucket.owner.account_id if access.upload is None else access.upload.initiator


async def authorize(
    request: web.Request,
    req: S3Request,
    principal: Principal,
    store: IdentityStore,
    backend: Backend,
    config: Config,
    now: datetime,
) -> Access:
    """Decide the request (and its copy source); raise ``AccessDenied`` or return the
    facts for the handler."""
    forced = config.s3.block_public_access
    op = req.operation
    grants: GrantCell = []  # the request's x-amz-grant-* headers, for all its decisions

    def context_for(
        action: str,
        version: str | None,
        tags: Tags | None,
        etag: str | None,
        account: str | None,
    ) -> ConditionContext:
        # By position, straight to the class; the peer's address, the headers and the
        # transport are read from the aiohttp request when a key asks (LazyContext).
        return LazyContext(
            principal,
            req,
            request,
            now,
            config.server.trusted_forwarded_headers,
            grants,
            action,
            version,
            tags,
            etag,
            account,
        )

    bucket = None
    if req.address.bucket is not None:
        bucket = await load_bucket(
            store, backend, req.address.bucket, principal, forced_block=forced
        )
        if op.name != "CreateBucket":
            await check_expected_owner(req.headers.get(EXPECTED_OWNER), bucket, backend)
    access = Access(
        store=store,
        backend=backend,
        principal=principal,
        facts=principal_facts(principal),
        bucket=bucket,
        context_for=context_for,
        forced_block=forced,
    )
    if op.name == "DeleteObjects":
        # Each key is decided by check_delete (the bypass too); here only the ceiling.
        if not principal.is_anonymous:
            _refuse(await access.decide(bucket, op.action, op.scopes, no_owner=True))
        access.bypass_governance = req.bypass_governance
        return access
    initiator = None
    if bucket is not None and op.name in UPLOAD_OPERATIONS:
        initiator = await _initiator(access, bucket, req.query.get("uploadId", ""))
    _refuse(
        await access.decide(
            bucket,
            versioned_action(op.action, version_id=req.version_id),
            op.scopes,
            key=req.address.key,
            version=req.version_id,
            initiator=initiator,
            # A taken name is BucketAlreadyExists (the handler's answer), not AccessDenied.
            no_owner=op.name == "CreateBucket",
        ),
        request.method,
    )
    encryption = req.encryption
    if (
        encryption is not None
        and encryption.customer is not None
        and bucket is not None
        and bucket.sse_c_blocked
        and op.name in _SSE_C_WRITES
    ):
        # S3's BlockedEncryptionTypes: decided here, for both backends and every host
        raise S3Error(
            "AccessDenied",
            "Server-side encryption with customer-provided keys (SSE-C) is blocked for "
            "this bucket (its default encryption's BlockedEncryptionTypes)",
        )
    if req.bypass_governance and req.address.key is not None:
        # Asked for only: no cost to requests without the header.
        access.bypass_governance = await access.may_bypass(req.address.key, req.version_id)
    if reveals_etag(req.delete_if_match):
        # S3 asks for s3:GetObject too (and the credential needs read:objects): the ETag
        # comparison of a conditional delete tells what the object is
        _refuse(await access.decide(bucket, "s3:GetObject", (READ_OBJECTS,), key=req.address.key))
    if op.name == "GetObjectAttributes":
        # S3 asks for s3:GetObject(Version) too: the attributes describe the object's data
        _refuse(
            await access.decide(
                bucket,
                versioned_action("s3:GetObject", version_id=req.version_id),
                op.scopes,
                key=req.address.key,
                version=req.version_id,
            )
        )
    if req.tags and _sets_tags(req):
        # S3 asks for s3:PutObjectTagging too when a write sets tags (x-amz-tagging); the
        # object is the one the write makes, so it has no existing tags (AWS: no
        # s3:ExistingObjectTag for writes of the object itself)
        _refuse(
            await access.decide(
                bucket,
                "s3:PutObjectTagging",
                op.scopes,
                key=req.address.key,
                existing_object=False,
            )
        )
    lock = req.object_lock
    if lock is not None and op.action == "s3:PutObject":
        # S3 asks for s3:PutObjectRetention / s3:PutObjectLegalHold too when a write sets
        # a version's lock: without them a grantee of s3:PutObject alone could make what it
        # writes into the owner's bucket undeletable (COMPLIANCE) for years.
        for needed, asked in (
            ("s3:PutObjectRetention", lock.mode is not None),
            ("s3:PutObjectLegalHold", lock.legal_hold is not None),
        ):
            if asked:
                _refuse(
                    await access.decide(
                        bucket, needed, op.scopes, key=req.address.key, existing_object=False
                    )
                )
    source = req.copy_source
    if source is not None:
        source_bucket = bucket
        if bucket is None or source.bucket != bucket.name:
            source_bucket = await load_bucket(
                store, backend, source.bucket, principal, forced_block=forced
            )
        await check_expected_owner(req.headers.get(SOURCE_EXPECTED_OWNER), source_bucket, backend)
        _refuse(
            await access.decide(
                source_bucket,
                versioned_action("s3:GetObject", version_id=source.version_id),
                (READ_OBJECTS,),
                key=source.key,
                version=source.version_id,
            )
        )
    return access
