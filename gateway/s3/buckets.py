"""Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, location,
versioning."""

from __future__ import annotations

from gateway.s3.acl import check_canned_acl
from gateway.s3.addressing import check_bucket_name
from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.lock_headers import BUCKET_LOCK_HEADER
from gateway.s3.owner import write_owner
from gateway.s3.xml import XmlWriter, child_text, local, parse_xml

__all__ = [
    "create_bucket",
    "delete_bucket",
    "get_bucket_location",
    "get_bucket_versioning",
    "head_bucket",
    "list_buckets",
    "put_bucket_versioning",
]


async def list_buckets(ctx: Context) -> Result:
    buckets = [b for b in await ctx.backend.list_buckets() if ctx.principal.allows_bucket(b.name)]
    prefix = ctx.query.get("prefix")
    if prefix:
        buckets = [b for b in buckets if b.name.startswith(prefix)]
    doc = XmlWriter("ListAllMyBucketsResult")
    write_owner(doc)
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


async def create_bucket(ctx: Context) -> Result:
    check_bucket_name(ctx.bucket)
    check_canned_acl(ctx)
    region = ctx.config.s3.region
    body = await ctx.xml_body()
    if body.strip():
        root = parse_xml(body)
        if local(root.tag) != "CreateBucketConfiguration":
            raise S3Error("MalformedXML")
        constraint = child_text(root, "LocationConstraint")
        if constraint:
            region = constraint
    object_lock = ctx.headers.get(BUCKET_LOCK_HEADER, "").strip().lower() == "true"
    await ctx.backend.create_bucket(ctx.bucket, region=region, object_lock=object_lock)
    return Result(headers={"Location": f"/{ctx.bucket}"})


async def head_bucket(ctx: Context) -> Result:
    info = await ctx.backend.head_bucket(ctx.bucket)
    return Result(headers={"x-amz-bucket-region": info.region})


async def delete_bucket(ctx: Context) -> Result:
    await ctx.backend.delete_bucket(ctx.bucket)
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
