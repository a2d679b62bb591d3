"""Precondition evaluation with S3's precedence, shared by every backend."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from email.utils import format_datetime

from backends.errors import BackendError
from backends.types import Conditions, ObjectInfo, WriteCondition


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
    raise BackendError("NotModified", "Not Modified", extra=not_modified_fields(info))


@dataclass(frozen=True, slots=True)
class NotModifiedField:
    """One thing a 304 carries of the object (a row of :data:`NOT_MODIFIED_FIELDS`)."""

    name: str
    """Its key in a ``NotModified`` error's ``extra``."""
    header: str
    """The response header it is sent as (an upstream store's 304 carries it in the same)."""
    of: Callable[[ObjectInfo], str | None]
    """Its value for an object; None: the 200 would not send it either."""


def _http_date(info: ObjectInfo) -> str:
    last_modified = info.last_modified.astimezone(UTC).replace(microsecond=0)
    return format_datetime(last_modified, usegmt=True)


NOT_MODIFIED_FIELDS = (
    NotModifiedField("ETag", "ETag", lambda info: f'"{info.etag}"'),
    NotModifiedField("LastModified", "Last-Modified", _http_date),
    NotModifiedField("CacheControl", "Cache-Control", lambda info: info.meta.cache_control),
    NotModifiedField("Expires", "Expires", lambda info: info.meta.expires),
    NotModifiedField("VersionId", "x-amz-version-id", lambda info: info.version_id),
)
"""What a 304 carries of the object (RFC 9110 15.4.5: every header of ETag,
Last-Modified, Cache-Control and Expires the 200 would have sent; S3 and MinIO send its
version id too): the one list that the filesystem backend's ``NotModified``
(:func:`not_modified_fields`), the upstream backend's (``upstream_errors.from_answer``)
and the S3 listener's 304 headers (``gateway.s3.errors``) read."""


def not_modified_fields(info: ObjectInfo) -> dict[str, str]:
    """The ``extra`` of a ``NotModified`` about ``info`` (:data:`NOT_MODIFIED_FIELDS`)."""
    return {f.name: value for f in NOT_MODIFIED_FIELDS if (value := f.of(info)) is not None}


_PRECONDITION = "At least one of the pre-conditions you specified did not hold"
_CONFLICT = (
    "The conditional request cannot succeed due to a conflicting operation against this resource."
)


def check_write(
    key: str, current_etag: str | None, cond: WriteCondition, *, racing: bool = False
) -> None:
    """Evaluate a conditional write against the key's current object (its ETag, None when
    the key has none or its latest version is a delete marker).

    ``racing=False`` (as the request arrives): ``PreconditionFailed`` (412) when the
    condition does not hold, ``NoSuchKey`` for ``If-Match`` on a missing key, as S3
    answers. ``racing=True`` (re-checked where the write commits, after the condition
    held on arrival): any failure is ``ConditionalRequestConflict`` (409): another write
    won the race meanwhile, and the client should read again and retry.
    """
    if cond.if_none_match:
        if current_etag is None:
            return
        condition = "If-None-Match"
    else:
        if current_etag is not None and current_etag == cond.if_match:
            return
        condition = "If-Match"
        if current_etag is None and not racing:
            raise BackendError("NoSuchKey", "The specified key does not exist.", extra={"Key": key})
    if racing:
        raise BackendError(
            "ConditionalRequestConflict", _CONFLICT, extra={"Condition": condition, "Key": key}
        )
    raise BackendError("PreconditionFailed", _PRECONDITION, extra={"Condition": condition})


def check_delete(key: str, current_etag: str | None, if_match: str) -> None:
    """Evaluate a conditional delete (DeleteObject's ``If-Match``, a DeleteObjects
    ``<ETag>``; unquoted, or ``*``) against the key's current object (its ETag, None when
    the key has none or its latest version is a delete marker), where the delete happens.

    ``NoSuchKey`` when there is no current object (``*`` included), ``PreconditionFailed``
    (412, ``Condition: If-Match``) when its ETag differs, as S3 answers.
    """
    if current_etag is None:
        raise BackendError("NoSuchKey", "The specified key does not exist.", extra={"Key": key})
    if if_match != "*" and current_etag != if_match:
        raise BackendError("PreconditionFailed", _PRECONDITION, extra={"Condition": "If-Match"})


def version_condition_refused() -> BackendError:
    """A conditional delete naming a version: S3 evaluates conditional deletes against
    the current version only, which leaves this undefined, so it is refused rather than
    guessed (the gateway refuses it before the backend sees it)."""
    return BackendError(
        "NotImplemented",
        "A conditional delete of a version is not implemented",
        extra={"Header": "If-Match,versionId"},
    )


def check_object_size(expected: int | None, parts_total: int) -> None:
    """CompleteMultipartUpload's ``x-amz-mp-object-size``: the size the client expects
    the object to have, compared with the parts it lists before anything is written
    (``InvalidRequest``, 400, on a mismatch, as S3 answers). None: not sent."""
    if expected is not None and expected != parts_total:
        raise BackendError(
            "InvalidRequest",
            "The x-amz-mp-object-size header does not match the size of the object the "
            "listed parts make",
            extra={"ExpectedSize": str(expected), "ActualSize": str(parts_total)},
        )
