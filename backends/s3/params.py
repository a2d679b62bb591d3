"""Upstream request parameters: conditions, ranges, ETags (S3's rules, stores' quirks)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from backends.conditions import not_modified_fields
from backends.errors import BackendError
from backends.types import Conditions, ObjectInfo

__all__ = [
    "condition_params",
    "describe",
    "etag_of",
    "etag_parts",
    "none_match_any",
    "not_modified",
    "quote_etag",
    "version_params",
]


def etag_of(value: Any) -> str:
    return str(value or "").strip('"')


def etag_parts(etag: str) -> int | None:
    """The part count of a multipart upload's ETag (``<md5>-<parts>``), else None."""
    _, dash, count = etag.rpartition("-")
    return int(count) if dash and count.isdigit() else None


def condition_params(cond: Conditions | None, *, copy_source: bool = False) -> dict[str, Any]:
    """IfMatch/IfNoneMatch/IfModifiedSince/IfUnmodifiedSince (or CopySourceIf*)."""
    if cond is None:
        return {}
    prefix = "CopySourceIf" if copy_source else "If"
    params: dict[str, Any] = {}
    if cond.if_match is not None and "*" in cond.if_match:
        # "If-Match: *" holds for any existing object and then overrides
        # If-Unmodified-Since; sending neither is equivalent, and some stores (moto)
        # compare "*" as a literal ETag.
        cond = replace(cond, if_match=None, if_unmodified_since=None)
    if cond.if_none_match is not None and "*" in cond.if_none_match:
        # handled by the caller (``none_match_any``): moto compares "*" literally
        cond = replace(cond, if_none_match=None, if_modified_since=None)
    # RFC 9110: with If-Match, If-Unmodified-Since is ignored; with If-None-Match,
    # If-Modified-Since is. Sending only the deciding header keeps stores that do not
    # apply this precedence (moto) right.
    if cond.if_match is not None:
        cond = replace(cond, if_unmodified_since=None)
    if cond.if_none_match is not None:
        cond = replace(cond, if_modified_since=None)
    if cond.if_match is not None:
        params[f"{prefix}Match"] = ", ".join(quote_etag(e) for e in cond.if_match)
    if cond.if_none_match is not None:
        params[f"{prefix}NoneMatch"] = ", ".join(quote_etag(e) for e in cond.if_none_match)
    if cond.if_modified_since is not None:
        params[f"{prefix}ModifiedSince"] = cond.if_modified_since
    if cond.if_unmodified_since is not None:
        params[f"{prefix}UnmodifiedSince"] = cond.if_unmodified_since
    return params


def none_match_any(cond: Conditions | None) -> bool:
    """``If-None-Match: *``: any existing object fails it (after If-Match was checked)."""
    return cond is not None and cond.if_none_match is not None and "*" in cond.if_none_match


def not_modified(info: ObjectInfo | None = None, *, copy_source: bool = False) -> BackendError:
    """304, describing the object (RFC 9110 15.4.5: ETag and Last-Modified) when known."""
    if copy_source:
        return BackendError("PreconditionFailed", "At least one of the preconditions failed")
    return BackendError("NotModified", "Not Modified", extra=describe(info) if info else None)


def describe(info: ObjectInfo) -> dict[str, str]:
    """The ``extra`` of a ``NotModified``: the object's ETag, Last-Modified, Cache-Control,
    Expires and version id (``backends.conditions.not_modified_fields``)."""
    fields = not_modified_fields(info)
    fields["ETag"] = quote_etag(info.etag)  # the store's ETag may come quoted
    return fields


def quote_etag(etag: str) -> str:
    return etag if etag == "*" or etag.startswith('"') else f'"{etag}"'


def version_params(version_id: str | None) -> dict[str, Any]:
    """``VersionId`` upstream for the gateway's version id (the upstream's ids are the
    gateway's; ``null`` names upstream's null version, as on AWS)."""
    return {"VersionId": version_id} if version_id else {}
