"""Tagging: Put/Get/DeleteObjectTagging (the ``?tagging`` subresource of an object, with
``versionId``) and Put/Get/DeleteBucketTagging.

Object tags live with each version in the storage backend (the filesystem backend's
metadata, or the upstream store), so they follow the version's life. Bucket tags are a
bucket setting the gateway keeps (kind ``tagging``, JSON ``[[key, value], ...]``), the
same with either backend. Documents and limits: ``gateway/s3/tags.py``.
"""

from __future__ import annotations

import json

from backends.errors import BackendError
from backends.types import ObjectInfo, Tags
from gateway.authz import versioned_action
from gateway.s3.bucket_facts import BucketFacts
from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.markers import marker_write_refused
from gateway.s3.ownership import existing_bucket
from gateway.s3.tags import parse_tagging_document, tagging_document
from gateway.scopes import READ_OBJECTS

__all__ = [
    "BUCKET_TAGGING",
    "delete_bucket_tagging",
    "delete_object_tagging",
    "get_bucket_tagging",
    "get_object_tagging",
    "put_bucket_tagging",
    "put_object_tagging",
    "tag_count_hidden",
]

BUCKET_TAGGING = "tagging"
"""The bucket-setting kind holding a bucket's tag set."""


def _version(version_id: str | None) -> dict[str, str]:
    return {} if version_id is None else {"x-amz-version-id": version_id}


# --- objects ------------------------------------------------------------------------------


async def get_object_tagging(ctx: Context) -> Result:
    found = await ctx.backend.get_object_tagging(ctx.bucket, ctx.key, version_id=ctx.req.version_id)
    return Result(headers=_version(found.version_id), xml=tagging_document(found.tags))


async def tag_count_hidden(ctx: Context, info: ObjectInfo) -> bool:
    """Whether GET/HEAD leave ``x-amz-tagging-count`` out: S3 answers it "when you have
    the relevant permission to read object tags", i.e. only to a requester
    GetObjectTagging (``...VersionTagging`` with a version id) would serve. Otherwise a
    reader who may not see the tags (anonymous, a policy's grantee) learns they exist.
    Cost: one more access decision, for tagged objects only (an untagged one has no
    count to hide)."""
    if not info.tag_count:
        return False
    version = ctx.req.version_id
    decision = await ctx.access.decide(
        ctx.access.bucket,
        versioned_action("s3:GetObjectTagging", version_id=version),
        (READ_OBJECTS,),
        key=ctx.key,
        version=version,
    )
    return not decision.allowed


async def put_object_tagging(ctx: Context) -> Result:
    """A key whose latest version is a delete marker: 405 (``gateway/s3/markers.py``).
    The tag set was parsed from the body before the decision (``S3Request.tags``: the
    ``s3:RequestObjectTag/...`` keys read it)."""
    tags = ctx.req.tags
    assert tags is not None  # dispatch parses PutObjectTagging's body into it
    try:
        version_id = await ctx.backend.put_object_tagging(
            ctx.bucket, ctx.key, tags, version_id=ctx.req.version_id
        )
    except BackendError as exc:
        raise marker_write_refused(exc) from None
    return Result(headers=_version(version_id))


async def delete_object_tagging(ctx: Context) -> Result:
    """A key whose latest version is a delete marker: 405, as for PutObjectTagging."""
    try:
        version_id = await ctx.backend.delete_object_tagging(
            ctx.bucket, ctx.key, version_id=ctx.req.version_id
        )
    except BackendError as exc:
        raise marker_write_refused(exc) from None
    return Result(status=204, headers=_version(version_id))


# --- buckets ------------------------------------------------------------------------------


async def _bucket(ctx: Context) -> BucketFacts:
    """The bucket named, which must exist (in the backend too)."""
    bucket = existing_bucket(ctx)
    await ctx.backend.head_bucket(bucket.name)
    return bucket


def bucket_tags(bucket: BucketFacts) -> Tags | None:
    """The bucket's tag set; None when it has none."""
    text = bucket.settings.get(BUCKET_TAGGING)
    if text is None:
        return None
    return tuple((str(k), str(v)) for k, v in json.loads(text))


async def get_bucket_tagging(ctx: Context) -> Result:
    bucket = await _bucket(ctx)
    tags = bucket_tags(bucket)
    if tags is None:
        raise S3Error("NoSuchTagSet", extra={"BucketName": bucket.name})
    return Result(xml=tagging_document(tags))


async def put_bucket_tagging(ctx: Context) -> Result:
    """Replaces the tag set; an empty one removes it (GetBucketTagging is then
    ``NoSuchTagSet`` again)."""
    bucket = await _bucket(ctx)
    tags = parse_tagging_document(await ctx.xml_body(), bucket=True)
    settings = ctx.access.store.bucket_settings
    if tags:
        document = json.dumps([list(t) for t in tags], separators=(",", ":"), ensure_ascii=False)
        await settings.put(bucket.name, BUCKET_TAGGING, document, owner=bucket.owner_id)
    else:
        await settings.delete(bucket.name, BUCKET_TAGGING, owner=bucket.owner_id)
    return Result(status=204)


async def delete_bucket_tagging(ctx: Context) -> Result:
    bucket = await _bucket(ctx)
    await ctx.access.store.bucket_settings.delete(
        bucket.name, BUCKET_TAGGING, owner=bucket.owner_id
    )
    return Result(status=204)
