"""Bucket lifecycle: Put/Get/DeleteBucketLifecycleConfiguration (the ``?lifecycle``
subresource), and the headers that announce what a rule will do to an object:
``x-amz-expiration`` (GET, HEAD, PutObject, CopyObject, CompleteMultipartUpload) and
``x-amz-abort-date`` / ``x-amz-abort-rule-id`` (CreateMultipartUpload, ListParts).

The configuration is a bucket setting the gateway keeps (kind ``lifecycle``: the document
as GetBucketLifecycleConfiguration answers it), whatever the backend; the background
sweeper (``gateway/lifecycle/sweeper.py``) applies it. Design: docs/lifecycle.md.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from backends.types import ObjectInfo, Tags
from gateway.identity.bucket_settings import MAX_DOCUMENT
from gateway.lifecycle.document import cached_lifecycle, lifecycle_document, parse_lifecycle
from gateway.lifecycle.rules import Clock, LifecycleConfiguration
from gateway.lifecycle.sweeper import LIFECYCLE
from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.headers import http_date
from gateway.s3.ownership import existing_bucket

__all__ = [
    "abort_headers",
    "aborts_uploads_of",
    "delete_bucket_lifecycle",
    "expiration_headers",
    "get_bucket_lifecycle_configuration",
    "may_expire",
    "put_bucket_lifecycle_configuration",
]

MINIMUM_SIZE_HEADER = "x-amz-transition-default-minimum-object-size"
MINIMUM_SIZES = ("all_storage_classes_128K", "varies_by_storage_class")
"""The values S3 takes for the header; the first is its default (since September 2024)."""
MINIMUM_SIZE = "lifecycle_minimum_size"
"""The bucket-setting kind holding a header value other than the default, set with the
configuration: GetBucketLifecycleConfiguration answers what was put (Terraform's AWS
provider waits until it does)."""

_RULE_ID_SAFE = " !#$%&'()*+,-./:;<=>?@[]^_`{|}~"
"""Printable ASCII but ``"`` and ``\\`` stays as it is in a rule id; the rest is
percent-encoded (S3 documents the id as URL-encoded and sends spaces as spaces)."""


async def put_bucket_lifecycle_configuration(ctx: Context) -> Result:
    bucket = existing_bucket(ctx)
    minimum = ctx.headers.get(MINIMUM_SIZE_HEADER, MINIMUM_SIZES[0])
    if minimum not in MINIMUM_SIZES:
        raise S3Error(
            "InvalidArgument",
            f"Invalid {MINIMUM_SIZE_HEADER}: expected one of {', '.join(MINIMUM_SIZES)}",
            extra={"ArgumentName": MINIMUM_SIZE_HEADER, "ArgumentValue": minimum},
        )
    await ctx.backend.head_bucket(bucket.name)
    config = parse_lifecycle(await ctx.xml_body())
    document = lifecycle_document(config).decode("utf-8")
    if len(document.encode("utf-8")) > MAX_DOCUMENT:
        raise S3Error(
            "MaxMessageLengthExceeded",
            f"The lifecycle configuration is too large: the gateway keeps at most "
            f"{MAX_DOCUMENT} bytes of it (docs/lifecycle.md)",
        )
    settings = ctx.access.store.bucket_settings
    await settings.put(bucket.name, LIFECYCLE, document, owner=bucket.owner_id)
    if minimum != MINIMUM_SIZES[0]:
        await settings.put(bucket.name, MINIMUM_SIZE, minimum, owner=bucket.owner_id)
    elif MINIMUM_SIZE in bucket.settings:
        await settings.delete(bucket.name, MINIMUM_SIZE, owner=bucket.owner_id)
    return Result(headers={MINIMUM_SIZE_HEADER: minimum})


async def get_bucket_lifecycle_configuration(ctx: Context) -> Result:
    bucket = existing_bucket(ctx)
    await ctx.backend.head_bucket(bucket.name)
    document = bucket.settings.get(LIFECYCLE)
    if document is None:
        raise S3Error("NoSuchLifecycleConfiguration", extra={"BucketName": bucket.name})
    minimum = bucket.settings.get(MINIMUM_SIZE, MINIMUM_SIZES[0])
    return Result(xml=document.encode("utf-8"), headers={MINIMUM_SIZE_HEADER: minimum})


async def delete_bucket_lifecycle(ctx: Context) -> Result:
    bucket = existing_bucket(ctx)
    await ctx.backend.head_bucket(bucket.name)
    await ctx.access.store.bucket_settings.delete(bucket.name, LIFECYCLE, owner=bucket.owner_id)
    if MINIMUM_SIZE in bucket.settings:
        await ctx.access.store.bucket_settings.delete(
            bucket.name, MINIMUM_SIZE, owner=bucket.owner_id
        )
    return Result(status=204)


def _configuration(ctx: Context) -> LifecycleConfiguration | None:
    bucket = ctx.access.bucket
    text = None if bucket is None else bucket.settings.get(LIFECYCLE)
    return None if text is None else cached_lifecycle(text)


def may_expire(ctx: Context) -> bool:
    """Whether the bucket has a lifecycle configuration, without which
    :func:`expiration_headers` answers nothing: the usual GET, HEAD and PUT learn it with
    no coroutine made and awaited (~2k instructions)."""
    bucket = ctx.access.bucket
    return bucket is not None and LIFECYCLE in bucket.settings


def _clock(ctx: Context) -> Clock:
    return Clock(ctx.config.lifecycle.day_seconds)


def _expiration_value(when: datetime, rule_id: str) -> str:
    return f'expiry-date="{http_date(when)}", rule-id="{quote(rule_id, safe=_RULE_ID_SAFE)}"'


async def expiration_headers(
    ctx: Context, info: ObjectInfo, tags: Tags | None = None
) -> dict[str, str]:
    """``x-amz-expiration`` for the current version ``info`` when a rule expires it.
    ``tags``: the version's tags when the caller knows them; otherwise they are read only
    if a rule filtering by tags could apply and the version has some."""
    config = _configuration(ctx)
    if config is None:
        return {}
    if tags is None:
        tags = ()
        if info.tag_count and config.needs_tags_for_expiration(info.key, info.size):
            found = await ctx.backend.get_object_tagging(
                info.bucket, info.key, version_id=info.version_id
            )
            tags = found.tags
    due = config.expiration(info.key, info.size, info.last_modified, tags, _clock(ctx))
    if due is None:
        return {}
    return {"x-amz-expiration": _expiration_value(due[0], due[1].id)}


def aborts_uploads_of(ctx: Context, key: str) -> bool:
    """Whether the bucket's lifecycle aborts incomplete uploads of ``key``."""
    config = _configuration(ctx)
    return config is not None and config.aborts_uploads_of(key)


def abort_headers(ctx: Context, key: str, initiated: datetime) -> dict[str, str]:
    """``x-amz-abort-date`` and ``x-amz-abort-rule-id`` of an upload of ``key`` begun at
    ``initiated``."""
    config = _configuration(ctx)
    found = None if config is None else config.abort(key, initiated, _clock(ctx))
    if found is None:
        return {}
    when, rule = found
    return {
        "x-amz-abort-date": http_date(when),
        "x-amz-abort-rule-id": quote(rule.id, safe=_RULE_ID_SAFE),
    }
