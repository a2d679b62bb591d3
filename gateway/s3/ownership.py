"""Who owns what a request writes, with which ACL, and recording it.

PutObject, CopyObject and CreateMultipartUpload compute a :class:`WritePlan` before any
byte is stored (an ACL the bucket refuses fails first): the owner by the bucket's
ownership setting (``ObjectWriter``: the writer; ``BucketOwnerPreferred`` with
``bucket-owner-full-control``, and ``BucketOwnerEnforced``: the bucket owner), the ACL
from ``x-amz-acl`` / ``x-amz-grant-*`` (grants by e-mail and canonical id resolved
against the accounts), refused as S3 refuses it (ACLs disabled, public ACLs blocked). An
anonymous writer's object belongs to the bucket owner (no account could manage it
otherwise). After the write, :func:`record_write` stores the row when there is something
to say (``gateway/identity/object_acls.py``).
"""

from __future__ import annotations

from collections.abc import Mapping

from backends.base import Backend
from backends.errors import BackendError
from backends.types import ObjectInfo
from gateway.authz import (
    AccessControlList,
    CanonicalUser,
    Target,
    acl_from_request,
    check_acl_allowed,
    object_owner_for_write,
    refuse_public_acl,
)
from gateway.authz.stored import acl_to_json
from gateway.identity.models import to_micros
from gateway.identity.object_acls import NULL_VERSION, ObjectAcl, UploadAcl
from gateway.identity.store import IdentityStore
from gateway.principal import Principal
from gateway.s3.bucket_facts import BucketFacts, private_acl
from gateway.s3.context import Context
from gateway.s3.errors import S3Error
from gateway.s3.owner import owner_name
from sigv4.records import record

__all__ = [
    "WritePlan",
    "existing_bucket",
    "forget_deleted",
    "newer_rows",
    "plan_object_write",
    "plan_write",
    "reclaim_row",
    "record_object_write",
    "record_upload",
    "record_write",
    "resolve_acl",
    "settle_after_acl",
]


@record
class WritePlan:
    bucket: BucketFacts
    owner: str
    """The account that will own the object."""
    acl: AccessControlList
    initiator: str
    """The writing account (``anonymous`` for anonymous callers)."""

    @property
    def foreign(self) -> bool:
        assert self.bucket.owner is not None
        return self.owner != self.bucket.owner.account_id

    @property
    def needs_row(self) -> bool:
        """A row says something (or the bucket keeps one per write)."""
        default = private_acl(self.acl.owner)
        return self.bucket.has_rows or self.foreign or self.acl != default


async def resolve_acl(store: IdentityStore, acl: AccessControlList) -> AccessControlList:
    """Grants by e-mail become the canonical users they name; every canonical id must be
    an account's (S3: ``UnresolvableGrantByEmailAddress`` / ``InvalidArgument``)."""
    emails, ids = acl.emails(), acl.canonical_ids()
    if not emails and not ids:
        return acl
    by_email = {
        email: CanonicalUser(account.canonical_id, account.display_name)
        for email, account in (await store.accounts.by_emails(emails)).items()
    }
    wanted = [*ids, acl.owner.id]
    by_id = {
        canonical: CanonicalUser(account.canonical_id, account.display_name)
        for canonical, account in (await store.accounts.by_canonical_ids(wanted)).items()
    }
    return acl.resolve(by_email=by_email, by_id=by_id)


def existing_bucket(ctx: Context) -> BucketFacts:
    bucket = ctx.access.bucket
    if bucket is None or bucket.owner is None:
        raise S3Error("NoSuchBucket", extra={"BucketName": ctx.req.address.bucket or ""})
    return bucket


async def plan_write(ctx: Context) -> WritePlan:
    """The owner and ACL of the object this request writes; raises S3's errors for an
    ACL the bucket does not take."""
    return await plan_object_write(
        ctx.access.store, existing_bucket(ctx), ctx.principal, ctx.headers, ctx.key
    )


async def plan_object_write(
    store: IdentityStore,
    bucket: BucketFacts,
    principal: Principal,
    headers: Mapping[str, str],
    key: str,
) -> WritePlan:
    """:func:`plan_write` of a write of ``key`` into the existing ``bucket``;
    ``headers`` (lower-case names) carry its ACL, if any (a ``/v1`` upload sets none)."""
    assert bucket.owner is not None
    bucket_owner = bucket.owner.account_id
    writer = principal.account_id or bucket_owner
    canned = headers.get("x-amz-acl")
    owner = object_owner_for_write(
        bucket.ownership,
        writer=writer,
        bucket_owner=bucket_owner,
        canned_acl=None if canned is None else canned.strip(),
    )
    owner_user = (await owner_name(store, owner)).user
    bucket_user = (await owner_name(store, bucket_owner)).user
    acl = acl_from_request(
        headers, None, owner=owner_user, bucket_owner=bucket_user, target=Target.OBJECT
    )
    if acl is not None:
        acl = await resolve_acl(store, acl)
    check_acl_allowed(bucket.ownership, acl, bucket_owner_id=bucket.owner.canonical_id)
    refuse_public_acl(bucket.effective_block, acl)
    plan = WritePlan(
        bucket=bucket,
        owner=owner,
        acl=acl or private_acl(owner_user),
        initiator=principal.account_id or "anonymous",
    )
    # a row will follow the object (record_write / record_upload): can the store keep it?
    # The NUL test first: needs_row builds an ACL to compare (~1 % of a PUT).
    if "\x00" in key and (plan.needs_row or plan.initiator != bucket_owner):
        store.object_acls.check_key(key)
    return plan


async def record_write(ctx: Context, plan: WritePlan, info: ObjectInfo) -> None:
    """After the object was committed: its row, when one is needed."""
    await record_object_write(ctx.access.store, plan, info, backend=ctx.backend)


async def record_object_write(
    store: IdentityStore, plan: WritePlan, info: ObjectInfo, *, backend: Backend
) -> None:
    """:func:`record_write` with the store and the storage named.

    A write of one key may overlap another's: the storage committed one object, then
    the other, but their rows come in any order. Three rules keep the key's row its
    current object's: a row never replaces the version's row of a later write
    (``ObjectAclStore.record``); a write that needed no row asks again after its commit
    whether the bucket has rows now (``rows_begun_elsewhere``: another write's row may
    have begun them since its decision); and a write that recorded a row while its
    decision saw the bucket without rows asks the storage whether its object is still
    the key's current one (:func:`_still_current`): an object committed after it, by a
    write that asked before this row began the bucket's rows, has none. Only the last
    costs a read of the storage, and only for such a write (the first rows of a
    bucket), or one whose row was refused (``ObjectAclStore.replace``)."""
    rows = store.object_acls
    if not plan.needs_row and not await rows.rows_begun_elsewhere(plan.bucket.name):
        return
    acl = acl_to_json(plan.acl)
    stood = await rows.record(
        plan.bucket.name,
        info.key,
        info.version_id,
        owner=plan.owner,
        acl=acl,
        foreign=plan.foreign,
        written_at=info.last_modified,
        bucket_owner=plan.bucket.owner_id,
    )
    if stood and plan.bucket.has_rows:
        return
    await _still_current(store, plan, info, backend, acl=acl, stood=stood)


async def _still_current(
    store: IdentityStore,
    plan: WritePlan,
    info: ObjectInfo,
    backend: Backend,
    *,
    acl: str,
    stood: bool,
) -> None:
    """After :func:`record_object_write` recorded ``info``'s row (``stood``) or was
    refused one: which object is the key's current one. Another than ``info``'s, after
    a row that stood: that object's default row (it recorded none:
    ``ObjectAclStore.settle``). ``info``'s, after a refusal: its row after all
    (:func:`reclaim_row`)."""
    current = await _current(backend, info)
    if current is None:
        return
    if not stood:
        await reclaim_row(store, backend, info, owner=plan.owner, acl=acl, current=current)
    elif not _same(current, info):
        same_row = (current.version_id or NULL_VERSION) == (info.version_id or NULL_VERSION)
        await _settle_default(
            store, plan.bucket, info, current, over=(plan.owner, acl) if same_row else None
        )


async def reclaim_row(
    store: IdentityStore,
    backend: Backend,
    info: ObjectInfo,
    *,
    owner: str,
    acl: str,
    current: ObjectInfo | None = None,
) -> None:
    """After a write's row was refused (``ObjectAclStore.record``: the version's row is
    of a write made at the same time or later): if the storage says the write's object
    is the key's current one all the same, its row replaces the one that refused it
    (``ObjectAclStore.replace``, only while that one holds). Two writes of one key in
    one second of an upstream store's times tie; a clock stepped back, or another
    worker's object committed first though timed later, refuse a current object's row.
    One read of the storage (``current``, when the caller has it), only then."""
    if current is None:
        current = await _current(backend, info)
    if current is None or not _same(current, info):
        return
    rows = store.object_acls
    held = await rows.version(info.bucket, info.key, info.version_id or NULL_VERSION)
    if held is not None:
        await rows.replace(
            info.bucket,
            info.key,
            info.version_id,
            owner=owner,
            acl=acl,
            held=held,
        )


_NO_CURRENT = frozenset({"NoSuchKey", "NoSuchVersion", "MethodNotAllowed", "NoSuchBucket"})
"""The storage's answers meaning the key has no current object (a delete marker's is
``NoSuchKey`` or ``MethodNotAllowed``)."""


async def _current(backend: Backend, info: ObjectInfo) -> ObjectInfo | None:
    """The key's current object (None: gone, or a delete marker). Any other failure of
    the storage (a timeout, a 503) is the request's error: taken for "no object", it left
    a public row answering for a private object with no default row written, and the
    write reported success; answered as a failure, the client's retry writes the rows
    again."""
    try:
        return await backend.describe_object(info.bucket, info.key)
    except BackendError as exc:
        if exc.code in _NO_CURRENT:
            return None
        raise


def _same(current: ObjectInfo, info: ObjectInfo) -> bool:
    """Whether ``current`` is the object ``info`` describes: by version id and ETag (an
    upstream store's Last-Modified is its own clock, not the gateway's time of the
    row)."""
    return current.version_id == info.version_id and current.etag == info.etag


async def settle_after_acl(
    store: IdentityStore,
    backend: Backend,
    bucket: BucketFacts,
    info: ObjectInfo,
    *,
    given: tuple[str, str],
) -> None:
    """After a PutObjectAcl gave ``info``'s version its first row: when another object
    of the key is current now, that one gets its default row (``ObjectAclStore.settle``),
    as after a write's first row (:func:`_still_current`). A write committed while the
    ACL's transaction waited asked whether the bucket keeps rows before that transaction
    began them, and recorded none; the key's latest row, the ACL's, answered for it. One
    read of the storage, only for such a PutObjectAcl. ``given``: the (owner, ACL) the
    PutObjectAcl wrote: the ``null`` version's row is settled only while it is that
    one (``ObjectAclStore.settle``'s ``over``)."""
    current = await _current(backend, info)
    if current is None or _same(current, info):
        return
    rows = store.object_acls
    version = current.version_id or NULL_VERSION
    if version != (info.version_id or NULL_VERSION) and await rows.version(
        bucket.name, info.key, version
    ):
        return  # another version with a row of its own (or one ``newer_rows`` gave it)
    over = None if version != (info.version_id or NULL_VERSION) else given
    await _settle_default(store, bucket, info, current, over=over)


async def _settle_default(
    store: IdentityStore,
    bucket: BucketFacts,
    info: ObjectInfo,
    current: ObjectInfo,
    *,
    over: tuple[str, str] | None,
) -> None:
    """``current``'s default row (the bucket owner's, private), placed after ``info``'s
    (``ObjectAclStore.settle``; ``over``: the ``null`` version's row is replaced only
    while it is that (owner, ACL))."""
    owner = bucket.owner_id
    name = await owner_name(store, owner)
    await store.object_acls.settle(
        bucket.name,
        info.key,
        current.version_id,
        owner=owner,
        acl=acl_to_json(private_acl(name.user)),
        written_at=current.last_modified,
        after=info.last_modified,
        over=over,
    )


async def newer_rows(
    store: IdentityStore, backend: Backend, bucket: BucketFacts, key: str, version_id: str
) -> tuple[ObjectAcl, ...]:
    """Default rows (the bucket owner's, private) of the versions of ``key`` newer than
    ``version_id``, oldest first, for a PutObjectAcl that gives ``version_id`` its first
    row (``ObjectAclStore.change_acl``'s ``newer``): versions written before the bucket
    kept rows have none, and the key's current row is its latest row, so the older
    version's ACL (``public-read``, say) answered for the key's current object. One
    listing of the key's versions, only for such a PutObjectAcl (a version named, no
    row)."""
    newer: list[ObjectInfo] = []
    key_marker: str | None = None
    version_marker: str | None = None
    while True:
        page = await backend.list_object_versions(
            bucket.name, prefix=key, key_marker=key_marker, version_id_marker=version_marker
        )
        for entry in page.versions:
            if entry.info.key != key or (entry.info.version_id or NULL_VERSION) == version_id:
                return await _default_rows(store, bucket, newer)
            if not entry.delete_marker:
                newer.append(entry.info)
        if not page.is_truncated or page.next_key_marker != key:
            return await _default_rows(store, bucket, newer)
        key_marker, version_marker = page.next_key_marker, page.next_version_id_marker


async def _default_rows(
    store: IdentityStore, bucket: BucketFacts, newest_first: list[ObjectInfo]
) -> tuple[ObjectAcl, ...]:
    if not newest_first:
        return ()
    owner = bucket.owner_id
    acl = acl_to_json(private_acl((await owner_name(store, owner)).user))
    return tuple(
        ObjectAcl(info.version_id or NULL_VERSION, owner, acl, to_micros(info.last_modified))
        for info in reversed(newest_first)
    )


async def record_upload(ctx: Context, plan: WritePlan, key: str, upload_id: str) -> None:
    """After CreateMultipartUpload: the upload's row, when it differs from the default
    (the bucket owner started it; the object will be the bucket owner's, private) or the
    bucket keeps rows."""
    assert plan.bucket.owner is not None
    if plan.needs_row or plan.initiator != plan.bucket.owner.account_id:
        row = UploadAcl(upload_id, key, plan.initiator, plan.owner, acl_to_json(plan.acl))
        await ctx.access.store.object_acls.record_upload(
            plan.bucket.name, row, foreign=plan.foreign
        )


async def forget_deleted(ctx: Context, deleted: list[tuple[str, str | None]]) -> None:
    """Drop the rows of deleted versions. Only deletes naming a version: a delete without
    one may leave a delete marker over the null version (versioning), and the row of a
    key that is gone is harmless (the next write of the key replaces it)."""
    bucket = ctx.access.bucket
    named = [(key, version) for key, version in deleted if version is not None]
    if bucket is None or not named:
        return
    rows = ctx.access.store.object_acls
    if bucket.has_rows or await rows.rows_begun_elsewhere(bucket.name):
        await rows.forget(bucket.name, named)
