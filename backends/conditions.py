"""Precondition evaluation with S3's precedence, shared by every backend."""

from __future__ import annotations

from datetime import UTC
from email.utils import format_datetime

from backends.errors import BackendError
from backends.types import Conditions, ObjectInfo


def _etag_matches(etag: str, candidates: tuple[str, ...]) -> bool:
    return any(c == "*" or c.strip('"') == etag for c in candidates)


def check_conditions(info: ObjectInfo, cond: Conditions, *, is_copy_source: bool = False) -> None:
    """Raise ``PreconditionFailed`` (412) or ``NotModified`` (304) per S3's rules.

    - If-Match true and If-Unmodified-Since false: proceed (If-Match wins).
    - If-None-Match false and If-Modified-Since true: 304 (If-None-Match wins).
    - For copy sources every failure is ``PreconditionFailed``.
    """
    last_modified = info.last_modified.replace(microsecond=0)
    if cond.if_match is not None:
        if not _etag_matches(info.etag, cond.if_match):
            raise BackendError("PreconditionFailed", "At least one of the preconditions failed")
    elif cond.if_unmodified_since is not None and last_modified > cond.if_unmodified_since:
        raise BackendError("PreconditionFailed", "At least one of the preconditions failed")

    if cond.if_none_match is not None:
        failed = _etag_matches(info.etag, cond.if_none_match)
    else:
        failed = cond.if_modified_since is not None and last_modified <= cond.if_modified_since
    if not failed:
        return
    if is_copy_source:
        raise BackendError("PreconditionFailed", "At least one of the preconditions failed")
    # A 304 still describes the object (RFC 9110 15.4.5): ETag and Last-Modified.
    raise BackendError(
        "NotModified",
        "Not Modified",
        extra={
            "ETag": f'"{info.etag}"',
            "LastModified": format_datetime(last_modified.astimezone(UTC), usegmt=True),
        },
    )
