"""Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, location,
versioning."""

from __future__ import annotations

import re

from gateway.authz import ObjectOwnership
from gateway.authz.stored import acl_to_json
from gateway.identity.bucket_settings import AccountGone
from gateway.identity.quota import AccountLimitReached
from gateway.s3.acl import bucket_acl_for_create
from gateway.s3.addressing import check_bucket_name
from gateway.s3.bucket_access import parse_ownership
from gateway.s3.bucket_facts import ACL, OWNERSHIP
from gateway.s3.bucket_owners import create_owned_bucket, delete_owned_bucket, owned_buckets
from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.flags import parse_flag
from gateway.s3.listing import decode_token, encode_token, int32
from gateway.s3.lock_headers import BUCKET_LOCK_HEADER
from gateway.s3.owner import owner_name, write_owner
from gateway.s3.xml import XmlWriter, child_text, children, local, parse_xml

__all__ = [
    "MAX_BUCKETS",
    "create_bucket",
    "delete_bucket",
    "get_bucket_location",
    "get_bucket_versioning",
    "head_bucket",
    "list_buckets",
    "put_bucket_versioning",
    "valid_region",
]

# AWS's region names: "us-east-1", "eu-central-2", "ap-southeast-4", "us-gov-west-1",
# "cn-northwest-1", "il-central-1". The region is echoed into GetBucketLocation's XML and
# HeadBucket's x-amz-bucket-region header, so only this shape is ever stored.
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+){1,3}-[0-9]{1,2}")
_LEGACY_LOCATIONS = {"EU": "eu-west-1"}
"""Old LocationConstraint spellings AWS still accepts, stored as the region they name."""
_CONFIGURATION_CHILDREN = frozenset({"LocationConstraint", "Location", "Bucket", "Tags"})


MAX_BUCKETS = 10_000
"""S3's page size for ListBuckets, the largest ``max-buckets`` it takes, and its default
once the request names ``prefix``, ``bucket-region`` or ``continuation-token``."""


def _max_buckets(raw: str | None) -> int:
    if raw is None:
        return MAX_BUCKETS
    value = int32(raw)
    if value is None or not 1 <= value <= MAX_BUCKETS:
        raise S3Error(
            "InvalidArgument",
            f"Argument max-buckets must be an integer between 1 and {MAX_BUCKETS}",
            extra={"ArgumentName": "max-buckets", "ArgumentValue": raw},
        )
    return value


async def list_buckets(ctx: Context) -> Result:
    """The caller's account's buckets (names are global, listings are not), by name,
    ``prefix`` and ``bucket-region`` filtering them, in pages of ``max-buckets`` followed
    with the ``continuation-token`` a truncated page ends with (AWS's ListBuckets)."""
    account = ctx.principal.account_id
    assert account is not None  # anonymous callers are refused before the handler
    query = ctx.query
    limit = _max_buckets(query.get("max-buckets"))
    token = query.get("continuation-token")
    after = None
    if token is not None:
        after = decode_token(ctx, f"buckets/{account}", token)
    prefix = query.get("prefix")
    region = query.get("bucket-region")
    store = ctx.access.store
    buckets = sorted(
        (
            b
            for b in await owned_buckets(store, ctx.backend, account)
            if ctx.principal.allows_bucket(b.name)
            and (not prefix or b.name.startswith(prefix))
            and (region is None or b.region == region)
            and (after is None or b.name > after)
        ),
        key=lambda b: b.name,
    )
    page = buckets[:limit]
    doc = XmlWriter("ListAllMyBucketsResult")
    write_owner(doc, await owner_name(store, account))
    doc.open("Buckets")
    for bucket in page:
        doc.open("Bucket")
        doc.el("Name", bucket.name)
        doc.el("CreationDate", bucket.created_at)
        doc.el("BucketRegion", bucket.region)
        doc.close("Bucket")
    doc.close("Buckets")
    if len(buckets) > limit:
        doc.el("ContinuationToken", encode_token(ctx, f"buckets/{account}", page[-1].name))
    doc.el("Prefix", prefix)
    doc.close("ListAllMyBucketsResult")
    return Result(xml=bytes(doc))


def valid_region(region: str) -> bool:
    return _REGION.fullmatch(region) is not None


def _location_constraint(body: bytes) -> str | None:
    """The region a ``CreateBucketConfiguration`` names (None: the document names none).

    Directory-bucket members (``Location``, ``Bucket``) and ``Tags`` are not supported
    (``NotImplemented``: silently ignoring them would create something else than asked);
    any other member, or a repeated one, is ``MalformedXML``.
    """
    root = parse_xml(body)
    if local(root.tag) != "CreateBucketConfiguration":
        raise S3Error("MalformedXML")
    seen: set[str] = set()
    for child in root:
        if not isinstance(child.tag, str):
            continue
        name = local(child.tag)
        if name not in _CONFIGURATION_CHILDREN or name in seen:
            raise S3Error("MalformedXML")
        seen.add(name)
        if name != "LocationConstraint":
            raise S3Error("NotImplemented", f"CreateBucketConfiguration {name} is not supported")
    found = children(root, "LocationConstraint")
    if not found:
        return None
    if len(found[0]):  # elements inside the constraint
        raise S3Error("MalformedXML")
    constraint = (found[0].text or "").strip()
    if not constraint:
        return None
    region = _LEGACY_LOCATIONS.get(constraint, constraint)
    if not valid_region(region):
        raise S3Error(
            "InvalidLocationConstraint",
            "The specified location-constraint is not valid",
            extra={"LocationConstraint": constraint},
        )
    return region


async def _initial_settings(ctx: Context) -> dict[str, str]:
    """The ownership setting (``x-amz-object-ownership``) and ACL a CreateBucket sets."""
    settings: dict[str, str] = {}
    ownership = ObjectOwnership.OBJECT_WRITER
    header = ctx.headers.get("x-amz-object-ownership")
    if header is not None:
        ownership = parse_ownership(header)
        settings[OWNERSHIP] = ownership.value
    acl = await bucket_acl_for_create(ctx, ownership)
    if acl is not None:
        settings[ACL] = acl_to_json(acl)
    return settings


async def create_bucket(ctx: Context) -> Result:
    check_bucket_name(ctx.bucket)
    settings = await _initial_settings(ctx)
    region = ctx.config.s3.region
    body = await ctx.xml_body()
    if body.strip():
        region = _location_constraint(body) or region
    object_lock = parse_flag(ctx.headers, BUCKET_LOCK_HEADER)
    account = ctx.principal.account_id
    assert account is not None  # anonymous callers are refused before the handler
    try:
        await create_owned_bucket(
            ctx.access.store,
            ctx.backend,
            ctx.bucket,
            account,
            region=region,
            most=ctx.config.s3.max_buckets_per_account,
            settings=settings,
            object_lock=object_lock,
            block_sse_c=ctx.config.s3.block_sse_c_on_new_buckets,
        )
    except AccountLimitReached as exc:
        raise S3Error(
            "TooManyBuckets", f"You have attempted to create more than {exc.most} buckets"
        ) from None
    except AccountGone:  # deleted after this request's credential was accepted
        raise S3Error("AccessDenied", "The account of this credential was deleted") from None
    return Result(headers={"Location": f"/{ctx.bucket}"})


async def head_bucket(ctx: Context) -> Result:
    info = await ctx.backend.head_bucket(ctx.bucket)
    return Result(headers={"x-amz-bucket-region": info.region})


async def delete_bucket(ctx: Context) -> Result:
    await delete_owned_bucket(ctx.access.store, ctx.backend, ctx.bucket)
    return Result(status=204)


async def get_bucket_location(ctx: Context) -> Result:
    info = await ctx.backend.head_bucket(ctx.bucket)
    # us-east-1 is the empty constraint (AWS's answer for buckets made without one)
    region = "" if info.region == "us-east-1" else info.region
    doc = XmlWriter()
    doc.open("LocationConstraint", namespace=True)
    doc.text(region)
    doc.close("LocationConstraint")
    return Result(xml=bytes(doc))


async def get_bucket_versioning(ctx: Context) -> Result:
    """Empty for a bucket that was never versioned, else its ``Status``."""
    status = await ctx.backend.get_bucket_versioning(ctx.bucket)
    doc = XmlWriter("VersioningConfiguration")
    doc.el("Status", status)
    doc.close("VersioningConfiguration")
    return Result(xml=bytes(doc))


async def put_bucket_versioning(ctx: Context) -> Result:
    """``Enabled`` / ``Suspended``. MFA delete cannot be turned on: the gateway has no MFA
    devices, so no request can carry a valid ``x-amz-mfa``, and AWS refuses a request
    without one with this AccessDenied. ``MfaDelete: Disabled`` is accepted (it is)."""
    root = parse_xml(await ctx.xml_body())
    if local(root.tag) != "VersioningConfiguration":
        raise S3Error("MalformedXML")
    status = child_text(root, "Status")
    mfa_delete = child_text(root, "MfaDelete")
    if status not in (None, "Enabled", "Suspended") or mfa_delete not in (
        None,
        "Enabled",
        "Disabled",
    ):
        raise S3Error("MalformedXML")
    if mfa_delete == "Enabled":
        raise S3Error("AccessDenied", "Mfa Authentication must be used for this request")
    if status is not None:
        await ctx.backend.put_bucket_versioning(ctx.bucket, status)
    else:
        await ctx.backend.head_bucket(ctx.bucket)
    return Result()
