"""ListObjects through upstream ListObjectsV2, with the backend contract's marker rule."""

from __future__ import annotations

from typing import Any

from backends.s3.client import Call
from backends.s3.meta import utc
from backends.s3.params import etag_of
from backends.types import ListPage, ObjectInfo

__all__ = ["group_upper_bound", "list_objects"]

# The greatest code point: in UTF-8 byte order no character sorts after it.
_MAX_CHAR = "\U0010ffff"


def group_upper_bound(prefix: str, delimiter: str | None, marker: str | None) -> str | None:
    """If ``marker`` is a common prefix of this listing, the StartAfter that skips it.

    Upstream ``StartAfter=a/`` would list ``a/1`` again and roll it up into ``a/`` once
    more; the contract says a page never restarts inside a group already returned.
    """
    if not marker or not delimiter or not marker.startswith(prefix):
        return None
    rest = marker[len(prefix) :]
    if not rest.endswith(delimiter) or rest.find(delimiter) != len(rest) - len(delimiter):
        return None
    return marker + _MAX_CHAR


async def list_objects(
    call: Call,
    upstream_bucket: str,
    bucket: str,
    *,
    prefix: str,
    delimiter: str | None,
    marker: str | None,
    max_keys: int,
) -> ListPage:
    params: dict[str, Any] = {"Bucket": upstream_bucket, "MaxKeys": max_keys}
    if prefix:
        params["Prefix"] = prefix
    if delimiter:
        params["Delimiter"] = delimiter
    skip = group_upper_bound(prefix, delimiter, marker)
    start_after = skip or marker
    if start_after:
        params["StartAfter"] = start_after
    response = await call("list_objects_v2", not_found="NoSuchBucket", **params)
    group = marker if skip else None

    objects = tuple(
        ObjectInfo(
            bucket=bucket,
            key=item["Key"],
            size=int(item.get("Size", 0)),
            etag=etag_of(item.get("ETag")),
            last_modified=utc(item.get("LastModified")),
        )
        for item in response.get("Contents", [])
        if not (group and item["Key"].startswith(group))
    )
    prefixes = tuple(
        p["Prefix"]
        for p in response.get("CommonPrefixes", [])
        if not (group and p["Prefix"].startswith(group))
    )
    truncated = bool(response.get("IsTruncated"))
    last = max([o.key for o in objects] + list(prefixes), default=None, key=_utf8)
    return ListPage(
        objects=objects,
        common_prefixes=prefixes,
        is_truncated=truncated,
        next_marker=last if truncated else None,
    )


def _utf8(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")
