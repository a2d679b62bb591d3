"""Precondition evaluation with S3's precedence, shared by every backend."""

from __future__ import annotations

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

    not_modified = "PreconditionFailed" if is_copy_source else "NotModified"
    if cond.if_none_match is not None:
        if _etag_matches(info.etag, cond.if_none_match):
            raise BackendError(not_modified, "Not Modified")
    elif cond.if_modified_since is not None and last_modified <= cond.if_modified_since:
        raise BackendError(not_modified, "Not Modified")
