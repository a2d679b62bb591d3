"""ACLs: every bucket and object is private to the one owner (FULL_CONTROL)."""

from __future__ import annotations

from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.owner import OWNER_DISPLAY_NAME, OWNER_ID, write_owner
from gateway.s3.xml import XmlWriter

__all__ = [
    "ACCEPTED_CANNED_ACLS",
    "check_canned_acl",
    "get_bucket_acl",
    "get_object_acl",
    "put_bucket_acl",
    "put_object_acl",
]

ACCEPTED_CANNED_ACLS = frozenset({"private", "bucket-owner-full-control"})


def check_canned_acl(ctx: Context) -> None:
    """Only the owner-only ACL exists in this gateway; other ACLs would be a lie."""
    acl = ctx.headers.get("x-amz-acl")
    if acl is not None and acl not in ACCEPTED_CANNED_ACLS:
        raise S3Error("NotImplemented", f"Canned ACL {acl!r} is not supported; only 'private'")
    for name in ctx.headers:
        if name.startswith("x-amz-grant-"):
            raise S3Error("NotImplemented", "ACL grants are not supported; only 'private'")


_XSI = "http://www.w3.org/2001/XMLSchema-instance"


def _policy() -> bytes:
    doc = XmlWriter("AccessControlPolicy")
    write_owner(doc)
    doc.open("AccessControlList")
    doc.open("Grant")
    doc.open("Grantee", attrs={"xmlns:xsi": _XSI, "xsi:type": "CanonicalUser"})
    doc.el("ID", OWNER_ID)
    doc.el("DisplayName", OWNER_DISPLAY_NAME)
    doc.close("Grantee")
    doc.el("Permission", "FULL_CONTROL")
    doc.close("Grant")
    doc.close("AccessControlList")
    doc.close("AccessControlPolicy")
    return bytes(doc)


def _check_private_only(ctx: Context) -> None:
    if "x-amz-acl" not in ctx.headers:
        raise S3Error(
            "NotImplemented", "Only the canned 'private' ACL (x-amz-acl: private) is supported"
        )
    check_canned_acl(ctx)


async def get_bucket_acl(ctx: Context) -> Result:
    await ctx.backend.head_bucket(ctx.bucket)
    return Result(xml=_policy())


async def put_bucket_acl(ctx: Context) -> Result:
    _check_private_only(ctx)
    await ctx.backend.head_bucket(ctx.bucket)
    return Result()


async def get_object_acl(ctx: Context) -> Result:
    await ctx.backend.head_object(ctx.bucket, ctx.key, version_id=ctx.req.version_id)
    return Result(xml=_policy())


async def put_object_acl(ctx: Context) -> Result:
    _check_private_only(ctx)
    await ctx.backend.head_object(ctx.bucket, ctx.key, version_id=ctx.req.version_id)
    return Result()
