"""ListObjects through upstream ListObjectsV2, with the backend contract's marker rule."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from backends.s3.client import Call
from backends.s3.meta import utc
from backends.s3.params import etag_of
from backends.types import ListPage, ObjectInfo, ObjectMeta

__all__ = ["group_upper_bound", "list_objects"]


def _listed_info_maker() -> Callable[[str, str, int, str, datetime, str | None], ObjectInfo]:
    """``ObjectInfo`` of a listed object, built through its slot descriptors (the frozen
    dataclass ``__init__`` costs ~2.5x more, 1,000 times a page) with shared metadata
    (one per storage class, the one field of it a listing carries) and shared empty
    checksums."""
    names = tuple(f.name for f in dataclasses.fields(ObjectInfo))
    assert names == (
        "bucket", "key", "size", "etag", "last_modified", "meta", "checksums", "version_id",
        "parts_count", "lock", "tag_count",
    ), names  # fmt: skip
    new = object.__new__
    setters = [getattr(ObjectInfo, name).__set__ for name in names]
    (
        s_bucket, s_key, s_size, s_etag, s_time, s_meta, s_sums, s_version, s_parts, s_lock,
        s_tags,
    ) = setters  # fmt: skip
    standard = ObjectMeta()
    metas: dict[str, ObjectMeta] = {standard.storage_class: standard}
    sums: Mapping[str, str] = MappingProxyType({})

    def make(
        bucket: str, key: str, size: int, etag: str, when: datetime, storage_class: str | None
    ) -> ObjectInfo:
        meta = metas.get(storage_class or "STANDARD")
        if meta is None:  # a class not seen yet (S3 has about ten; a store's own are kept out)
            meta = ObjectMeta(storage_class=storage_class or "STANDARD")
            if len(metas) < 16:
                metas[meta.storage_class] = meta
        info: ObjectInfo = new(ObjectInfo)
        s_bucket(info, bucket)
        s_key(info, key)
        s_size(info, size)
        s_etag(info, etag)
        s_time(info, when)
        s_meta(info, meta)
        s_sums(info, sums)
        s_version(info, None)
        s_parts(info, None)
        s_lock(info, None)
        s_tags(info, 0)
        return info

    return make


_listed_info = _listed_info_maker()

# The greatest code point: in UTF-8 byte order no character sorts after it.
_MAX_CHAR = "\U0010ffff"


def group_upper_bound(prefix: str, delimiter: str | None, marker: str | None) -> str | None:
    """If ``marker`` falls in a common prefix of this listing (is one, or a key under
    one), the StartAfter that skips that group.

    Upstream ``StartAfter=a/`` would list ``a/1`` again and roll it up into ``a/`` once
    more; the contract says a page never restarts inside a group already returned, and
    holds only entries after the marker (``a/`` sorts before ``a/1``). Stores differ on
    ``StartAfter=a/1``: moto skips ``a/``, SeaweedFS lists it again.
    """
    if not marker or not delimiter or not marker.startswith(prefix):
        return None
    at = marker.find(delimiter, len(prefix))
    if at < 0:
        return None
    return marker[: at + len(delimiter)] + _MAX_CHAR


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
    group = skip[: -len(_MAX_CHAR)] if skip else None

    make = _listed_info
    objects = tuple(
        make(
            bucket,
            item["Key"],
            int(item.get("Size", 0)),
            etag_of(item.get("ETag")),
            utc(item.get("LastModified")),
            item.get("StorageClass"),
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
    # The marker is the last entry the store listed, not the greatest in byte order: a
    # store that lists in another order (SeaweedFS: path components, so "a/" before
    # "a-b" and "a.txt") resumes after its own last entry, and the greatest would list the
    # entries between the two once more. The XML does not say which of the last key and
    # the last common prefix came last (keys first, then prefixes, on every store), but
    # such a store's NextContinuationToken is its last entry itself: that one when the
    # token is one of the two, else (S3's opaque tokens) the greater in byte order, which
    # is the last on stores in byte order.
    tails = [objects[-1].key] if objects else []
    if prefixes:
        tails.append(prefixes[-1])
    token = response.get("NextContinuationToken")
    last = token if token in tails else max(tails, default=None, key=_utf8)
    return ListPage(
        objects=objects,
        common_prefixes=prefixes,
        is_truncated=truncated,
        next_marker=last if truncated else None,
    )


def _utf8(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")
