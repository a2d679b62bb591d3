"""ACLs: GetBucketAcl, PutBucketAcl, GetObjectAcl, PutObjectAcl, and the ACL a
CreateBucket sets.

An ACL is set by ``x-amz-acl`` (canned), ``x-amz-grant-*`` headers or an
``AccessControlPolicy`` body (``gateway.authz.acl_documents``); grants by e-mail and
canonical id are resolved against the accounts; the bucket's ownership setting and public
access block may refuse it. What is stored is answered back exactly. A resource nobody set
an ACL on is private: its owner's ``FULL_CONTROL``. Who may call these was decided before
the handler ran (``READ_ACP`` / ``WRITE_ACP`` grants, the policy, the owner's scopes).
"""

from __future__ import annotations

from backends.errors import BackendError
from backends.types import ObjectInfo
from gateway.authz import (
    AccessControlList,
    ObjectOwnership,
    PublicAccessBlock,
    Target,
    acl_from_request,
    check_acl_allowed,
    refuse_public_acl,
    render_acl_xml,
)
from gateway.authz.stored import acl_to_json
from gateway.identity.object_acls import NULL_VERSION, ObjectAcl, RowRead
from gateway.s3.bucket_facts import ACL, BucketFacts, parsed_acl, private_acl
from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.markers import marker_write_refused
from gateway.s3.owner import owner_name
from gateway.s3.ownership import existing_bucket, newer_rows, resolve_acl, settle_after_acl

__all__ = [
    "bucket_acl_for_create",
    "get_bucket_acl",
    "get_object_acl",
    "put_bucket_acl",
    "put_object_acl",
]


def _missing() -> S3Error:
    return S3Error(
        "MissingSecurityHeader",
        "Your request was missing a required header: x-amz-acl, x-amz-grant-* or an "
        "AccessControlPolicy body",
        extra={"MissingHeaderName": "x-amz-acl"},
    )


async def _checked(
    ctx: Context, bucket: BucketFacts, acl: AccessControlList | None
) -> AccessControlList:
    if acl is None:
        raise _missing()
    acl = await resolve_acl(ctx.access.store, acl)
    assert bucket.owner is not None
    check_acl_allowed(bucket.ownership, acl, bucket_owner_id=bucket.owner.canonical_id)
    refuse_public_acl(bucket.effective_block, acl)
    return acl


async def bucket_acl_for_create(
    ctx: Context, ownership: ObjectOwnership
) -> AccessControlList | None:
    """The ACL a CreateBucket request sets (None: private). With ``BucketOwnerEnforced``
    any ACL but the owner's full control is ``InvalidBucketAclWithObjectOwnership``."""
    account = ctx.principal.account_id
    assert account is not None  # anonymous callers never create buckets
    owner = (await owner_name(ctx.access.store, account)).user
    acl = acl_from_request(ctx.headers, None, owner=owner, target=Target.BUCKET)
    if acl is None:
        return None
    acl = await resolve_acl(ctx.access.store, acl)
    if not ownership.acls_enabled and not acl.only_full_control_to(owner.id):
        raise S3Error("InvalidBucketAclWithObjectOwnership")
    refuse_public_acl(PublicAccessBlock().effective(force_all=ctx.access.forced_block), acl)
    return None if acl == private_acl(owner) else acl


async def get_bucket_acl(ctx: Context) -> Result:
    bucket = existing_bucket(ctx)
    await ctx.backend.head_bucket(ctx.bucket)
    assert bucket.owner is not None
    acl = bucket.acl or private_acl(
        (await owner_name(ctx.access.store, bucket.owner.account_id)).user
    )
    return Result(xml=render_acl_xml(acl))


async def put_bucket_acl(ctx: Context) -> Result:
    bucket = existing_bucket(ctx)
    await ctx.backend.head_bucket(ctx.bucket)
    assert bucket.owner is not None
    owner = (await owner_name(ctx.access.store, bucket.owner.account_id)).user
    body = await ctx.xml_body()
    acl = await _checked(
        ctx, bucket, acl_from_request(ctx.headers, body, owner=owner, target=Target.BUCKET)
    )
    await ctx.access.store.bucket_settings.put(
        bucket.name, ACL, acl_to_json(acl), owner=bucket.owner_id
    )
    return Result()


async def _object_owner(
    ctx: Context, bucket: BucketFacts
) -> tuple[ObjectInfo, str, str | None, RowRead | None]:
    """The object named (its info), its owner account, its stored ACL document and the
    read of its row (None: the bucket's ACLs are disabled, no row is read)."""
    info = await ctx.backend.describe_object(ctx.bucket, ctx.key, version_id=ctx.req.version_id)
    assert bucket.owner is not None
    if not bucket.ownership.acls_enabled:
        return info, bucket.owner.account_id, None, None
    version = ctx.req.version_id
    row = await ctx.access.object_row(bucket, ctx.key, version)
    read = RowRead(version, row)
    if row is None:
        return info, bucket.owner.account_id, None, read
    return info, row.owner, row.acl, read


def _same_version(decided: ObjectInfo, found: ObjectInfo) -> bool:
    """Whether ``found`` is the version ``decided`` (a key written again is a new ETag or
    a new last-modified time: microseconds on the filesystem backend, seconds upstream)."""
    return (decided.version_id or NULL_VERSION, decided.etag, decided.last_modified) == (
        found.version_id or NULL_VERSION,
        found.etag,
        found.last_modified,
    )


def _version_header(info: ObjectInfo) -> dict[str, str]:
    return {"x-amz-version-id": info.version_id} if info.version_id else {}


async def get_object_acl(ctx: Context) -> Result:
    bucket = existing_bucket(ctx)
    info, owner, stored, _ = await _object_owner(ctx, bucket)
    if stored is not None:
        acl = parsed_acl(stored)
    else:
        acl = private_acl((await owner_name(ctx.access.store, owner)).user)
    return Result(xml=render_acl_xml(acl), headers=_version_header(info))


async def put_object_acl(ctx: Context) -> Result:
    """A key whose latest version is a delete marker: 405 (``gateway/s3/markers.py``).

    The request is decided, and its object read, before its body, which may take a
    minute; meanwhile another writer may replace the key. The ACL then goes to the
    version it was decided for or to none: once the body is in, the key's version is
    read again and must be the same one (version id, ETag, last-modified time), and the
    ownership row must be as the decision read it (``ObjectAclStore.change_acl``,
    checked in its transaction); otherwise ``OperationAborted`` (409), and the client may
    try again, to be decided against the object as it is then. Cost: one more metadata
    read (a HEAD upstream) and one indexed row read per PutObjectAcl. A version named
    that has no row: the key's newer versions get their default rows with it
    (:func:`newer_rows`, one listing of the key's versions); and a write of the key
    committed meanwhile gets its own (:func:`settle_after_acl`, one more metadata read)."""
    bucket = existing_bucket(ctx)
    assert bucket.owner is not None
    try:
        info, owner, _, read = await _object_owner(ctx, bucket)
    except BackendError as exc:
        raise marker_write_refused(exc) from None
    store = ctx.access.store
    owner_user = (await owner_name(store, owner)).user
    bucket_user = (await owner_name(store, bucket.owner.account_id)).user
    body = await ctx.xml_body()
    acl = await _checked(
        ctx,
        bucket,
        acl_from_request(
            ctx.headers, body, owner=owner_user, bucket_owner=bucket_user, target=Target.OBJECT
        ),
    )
    try:
        found = await ctx.backend.describe_object(
            ctx.bucket, ctx.key, version_id=ctx.req.version_id
        )
    except BackendError as exc:
        raise marker_write_refused(exc) from None
    document = acl_to_json(acl)
    newer: tuple[ObjectAcl, ...] = ()
    if read is not None and read.found is None and info.version_id and ctx.req.version_id:
        newer = await newer_rows(store, ctx.backend, bucket, ctx.key, info.version_id)
    await store.object_acls.change_acl(
        bucket.name,
        ctx.key,
        info.version_id,
        owner=owner,
        acl=document,
        foreign=owner != bucket.owner.account_id,
        written_at=info.last_modified,
        bucket_owner=bucket.owner.account_id,
        decided=read,
        replaced=not _same_version(info, found),
        newer=newer,
    )
    if read is not None and read.found is None:
        await settle_after_acl(store, ctx.backend, bucket, info, given=(owner, document))
    return Result(headers=_version_header(info))
