"""Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, location,
versioning status."""

from __future__ import annotations

from gateway.authz import ObjectOwnership
from gateway.authz.stored import acl_to_json
from gateway.s3.acl import bucket_acl_for_create
from gateway.s3.addressing import check_bucket_name
from gateway.s3.bucket_access import parse_ownership
from gateway.s3.bucket_facts import ACL, OWNERSHIP
from gateway.s3.bucket_owners import create_owned_bucket, delete_owned_bucket, owned_buckets
from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.owner import owner_name, write_owner
from gateway.s3.xml import XmlWriter, child_text, local, parse_xml

__all__ = [
    "create_bucket",
    "delete_bucket",
    "get_bucket_location",
    "get_bucket_versioning",
    "head_bucket",
    "list_buckets",
]


async def list_buckets(ctx: Context) -> Result:
    """The caller's account's buckets (names are global, listings are not)."""
    account = ctx.principal.account_id
    assert account is not None  # anonymous callers are refused before the handler
    store = ctx.access.store
    buckets = [
        b
        for b in await owned_buckets(store, ctx.backend, account)
        if ctx.principal.allows_bucket(b.name)
    ]
    prefix = ctx.query.get("prefix")
    if prefix:
        buckets = [b for b in buckets if b.name.startswith(prefix)]
    doc = XmlWriter("ListAllMyBucketsResult")
    write_owner(doc, await owner_name(store, account))
    doc.open("Buckets")
    for bucket in buckets:
        doc.open("Bucket")
        doc.el("Name", bucket.name)
        doc.el("CreationDate", bucket.created_at)
        doc.el("BucketRegion", bucket.region)
        doc.close("Bucket")
    doc.close("Buckets")
    doc.el("Prefix", prefix)
    doc.close("ListAllMyBucketsResult")
    return Result(xml=bytes(doc))


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
        root = parse_xml(body)
        if local(root.tag) != "CreateBucketConfiguration":
            raise S3Error("MalformedXML")
        constraint = child_text(root, "LocationConstraint")
        if constraint:
            region = constraint
    account = ctx.principal.account_id
    assert account is not None  # anonymous callers are refused before the handler
    await create_owned_bucket(
        ctx.access.store, ctx.backend, ctx.bucket, account, region=region, settings=settings
    )
    return Result(headers={"Location": f"/{ctx.bucket}"})


async def head_bucket(ctx: Context) -> Result:
    info = await ctx.backend.head_bucket(ctx.bucket)
    return Result(headers={"x-amz-bucket-region": info.region})


async def delete_bucket(ctx: Context) -> Result:
    await delete_owned_bucket(ctx.access.store, ctx.backend, ctx.bucket)
    return Result(status=204)


async def get_bucket_location(ctx: Context) -> Result:
    info = await ctx.backend.head_bucket(ctx.bucket)
    doc = XmlWriter()
    region = "" if info.region == "us-east-1" else info.region
    doc.raw(
        '<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"{region}</LocationConstraint>"
    )
    return Result(xml=bytes(doc))


async def get_bucket_versioning(ctx: Context) -> Result:
    await ctx.backend.head_bucket(ctx.bucket)
    doc = XmlWriter("VersioningConfiguration")
    doc.close("VersioningConfiguration")
    return Result(xml=bytes(doc))
