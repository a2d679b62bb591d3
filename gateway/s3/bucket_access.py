"""Bucket access settings: the bucket policy (Put/Get/DeleteBucketPolicy,
GetBucketPolicyStatus), the public access block (Put/Get/DeletePublicAccessBlock) and
ownership controls (Put/Get/DeleteBucketOwnershipControls).

Each is one bucket-settings document of the state store (kinds ``policy``,
``public_access_block``, ``ownership``), so they hold with either storage backend. A
setting never configured answers AWS's 404 code (``NoSuchBucketPolicy``,
``NoSuchPublicAccessBlockConfiguration``, ``OwnershipControlsNotFoundError``): tools treat
"not configured" and "not supported" differently.
"""

from __future__ import annotations

from gateway.authz import (
    AuthzError,
    ObjectOwnership,
    Policy,
    PublicAccessBlock,
    is_public,
    parse_policy,
    refuse_public_policy,
)
from gateway.authz.stored import block_to_json
from gateway.s3.bucket_facts import OWNERSHIP, POLICY, PUBLIC_ACCESS_BLOCK, BucketFacts
from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.ownership import existing_bucket
from gateway.s3.xml import XmlWriter, bool_element, child_text, children, local, parse_xml

__all__ = [
    "delete_bucket_ownership_controls",
    "delete_bucket_policy",
    "delete_public_access_block",
    "get_bucket_ownership_controls",
    "get_bucket_policy",
    "get_bucket_policy_status",
    "get_public_access_block",
    "parse_ownership_xml",
    "put_bucket_ownership_controls",
    "put_bucket_policy",
    "put_public_access_block",
]

_BLOCK_FIELDS = (
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
)


async def _bucket(ctx: Context) -> BucketFacts:
    """The bucket named, which must exist (in the backend too)."""
    bucket = existing_bucket(ctx)
    await ctx.backend.head_bucket(bucket.name)
    return bucket


# --- bucket policy ----------------------------------------------------------------------


async def _check_principals(ctx: Context, policy: Policy) -> None:
    """S3 refuses a policy naming accounts that do not exist (``Invalid principal``).
    Read from the state store, not the in-process account cache: an account deleted
    through another host is still in this one's."""
    store = ctx.access.store
    for account_id in policy.named_accounts():
        if await store.accounts.get(account_id) is None:
            raise AuthzError("MalformedPolicy", "Invalid principal in policy")
    canonical = policy.named_canonical_ids()
    if canonical:
        known = await store.accounts.by_canonical_ids(canonical)
        if any(c.lower() not in known for c in canonical):
            raise AuthzError("MalformedPolicy", "Invalid principal in policy")


async def put_bucket_policy(ctx: Context) -> Result:
    bucket = await _bucket(ctx)
    policy = parse_policy(await ctx.xml_body(), bucket=bucket.name)
    await _check_principals(ctx, policy)
    refuse_public_policy(bucket.effective_block, policy)
    await ctx.access.store.bucket_settings.put(
        bucket.name, POLICY, policy.text, owner=bucket.owner_id
    )
    return Result(status=204)


def _policy_text(bucket: BucketFacts) -> str:
    text = bucket.settings.get(POLICY)
    if text is None:
        raise S3Error("NoSuchBucketPolicy", extra={"BucketName": bucket.name})
    return text


async def get_bucket_policy(ctx: Context) -> Result:
    bucket = await _bucket(ctx)
    text = _policy_text(bucket)
    return Result(headers={"Content-Type": "application/json"}, xml=text.encode("utf-8"))


async def delete_bucket_policy(ctx: Context) -> Result:
    bucket = await _bucket(ctx)
    await ctx.access.store.bucket_settings.delete(bucket.name, POLICY, owner=bucket.owner_id)
    return Result(status=204)


async def get_bucket_policy_status(ctx: Context) -> Result:
    bucket = await _bucket(ctx)
    _policy_text(bucket)
    doc = XmlWriter("PolicyStatus")
    doc.el("IsPublic", is_public(bucket.policy))
    doc.close("PolicyStatus")
    return Result(xml=bytes(doc))


# --- public access block ----------------------------------------------------------------


def _parse_block(body: bytes) -> PublicAccessBlock:
    root = parse_xml(body)
    if local(root.tag) != "PublicAccessBlockConfiguration":
        raise S3Error("MalformedXML")
    return PublicAccessBlock(*(bool_element(root, name, default=False) for name in _BLOCK_FIELDS))


async def put_public_access_block(ctx: Context) -> Result:
    bucket = await _bucket(ctx)
    block = _parse_block(await ctx.xml_body())
    await ctx.access.store.bucket_settings.put(
        bucket.name, PUBLIC_ACCESS_BLOCK, block_to_json(block), owner=bucket.owner_id
    )
    return Result()


async def get_public_access_block(ctx: Context) -> Result:
    """The bucket's own configuration (the gateway-wide ``s3.block_public_access`` applies
    on top of it, as an AWS account-level block does)."""
    bucket = await _bucket(ctx)
    if PUBLIC_ACCESS_BLOCK not in bucket.settings:
        raise S3Error("NoSuchPublicAccessBlockConfiguration", extra={"BucketName": bucket.name})
    block = bucket.block
    values = (
        block.block_public_acls,
        block.ignore_public_acls,
        block.block_public_policy,
        block.restrict_public_buckets,
    )
    doc = XmlWriter("PublicAccessBlockConfiguration")
    for name, value in zip(_BLOCK_FIELDS, values, strict=True):
        doc.el(name, value)
    doc.close("PublicAccessBlockConfiguration")
    return Result(xml=bytes(doc))


async def delete_public_access_block(ctx: Context) -> Result:
    bucket = await _bucket(ctx)
    await ctx.access.store.bucket_settings.delete(
        bucket.name, PUBLIC_ACCESS_BLOCK, owner=bucket.owner_id
    )
    return Result(status=204)


# --- ownership controls -----------------------------------------------------------------


def parse_ownership(value: str) -> ObjectOwnership:
    try:
        return ObjectOwnership(value.strip())
    except ValueError:
        raise S3Error(
            "InvalidArgument",
            "Invalid ObjectOwnership: ObjectWriter, BucketOwnerPreferred or BucketOwnerEnforced",
        ) from None


def parse_ownership_xml(body: bytes) -> ObjectOwnership:
    root = parse_xml(body)
    if local(root.tag) != "OwnershipControls":
        raise S3Error("MalformedXML")
    rules = children(root, "Rule")
    if len(rules) != 1:
        raise S3Error("MalformedXML")
    value = child_text(rules[0], "ObjectOwnership")
    if value is None:
        raise S3Error("MalformedXML")
    return parse_ownership(value)


async def put_bucket_ownership_controls(ctx: Context) -> Result:
    bucket = await _bucket(ctx)
    ownership = parse_ownership_xml(await ctx.xml_body())
    if not ownership.acls_enabled:
        assert bucket.owner is not None
        acl = bucket.acl
        if acl is not None and not acl.only_full_control_to(bucket.owner.canonical_id):
            # AWS: a bucket ACL granting others must be reset before ACLs are disabled.
            raise S3Error(
                "InvalidBucketAclWithObjectOwnership",
                "Bucket ACLs grant access beyond the bucket owner; set them to private first",
            )
    await ctx.access.store.bucket_settings.put(
        bucket.name, OWNERSHIP, ownership.value, owner=bucket.owner_id
    )
    return Result()


async def get_bucket_ownership_controls(ctx: Context) -> Result:
    bucket = await _bucket(ctx)
    if OWNERSHIP not in bucket.settings:
        raise S3Error("OwnershipControlsNotFoundError", extra={"BucketName": bucket.name})
    doc = XmlWriter("OwnershipControls")
    doc.open("Rule")
    doc.el("ObjectOwnership", bucket.ownership.value)
    doc.close("Rule")
    doc.close("OwnershipControls")
    return Result(xml=bytes(doc))


async def delete_bucket_ownership_controls(ctx: Context) -> Result:
    bucket = await _bucket(ctx)
    await ctx.access.store.bucket_settings.delete(bucket.name, OWNERSHIP, owner=bucket.owner_id)
    return Result(status=204)
