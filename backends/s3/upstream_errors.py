"""Upstream failures translated into the ``BackendError`` codes every backend raises.

Rules:
- An upstream S3 error code the gateway also speaks passes through unchanged
  (``NoSuchKey``, ``PreconditionFailed``, ``InvalidPart``...).
- ``BucketAlreadyExists`` (someone else's bucket upstream) becomes
  ``BucketAlreadyOwnedByYou``: through the gateway the name is simply taken.
- Bodiless answers (HEAD, 304) carry only the HTTP status; the caller says what a 404
  means (``NoSuchKey`` or ``NoSuchBucket``).
- The upstream refusing *our* credentials is a gateway misconfiguration, not the
  client's fault: ``InternalError``, never ``AccessDenied``.
- Connection failures, timeouts, 5xx and 408 are ``ServiceUnavailable``; ``SlowDown``
  and 429 (Too Many Requests) are ``SlowDown``. Both carry ``RetryAfter`` (the
  ``Retry-After`` header of the answer): the store's own value when it sent a small
  integer, else ``UNAVAILABLE_RETRY_AFTER`` / ``SLOW_DOWN_RETRY_AFTER``.
- The store refusing the gateway's signing (``RequestTimeTooSkewed``: the two clocks
  disagree; ``AuthorizationHeaderMalformed``: the configured region is wrong; expired or
  invalid credentials) is the gateway's misconfiguration like a refused key:
  ``InternalError``, and the store's message (which may name its region) stays out of
  the client's answer.
- The store's ``BucketName`` is the upstream bucket, with the configured
  ``bucket_prefix`` (an internal name): passed on without the prefix (the client's name,
  as AWS's ``NoSuchBucket`` and ``BucketNotEmpty`` name it), never as the store wrote
  it. A name without the prefix, or a caller that gives none, passes nothing.
- Any other 4xx code (a store's own, e.g. SeaweedFS's ``ExistingObjectIsFile``) is
  ``InvalidRequest`` with the upstream code and message in the message: the client's
  request is what the store refused, and a code the gateway does not know would be a 500.
- ``AccessDenied`` is the store refusing the gateway's credentials, except where the
  caller says it means Object Lock protection (``denied="AccessDenied"``: deletions of a
  version, retention changes).
- A bodiless 404/405 that carries ``x-amz-delete-marker`` describes a delete marker: its
  version id travels in ``extra`` as every backend reports it.
- A redirect (a 3xx but 304, ``PermanentRedirect``...) that reaches this table was not
  followed, or was the answer to the one request sent again (``redirects``):
  ``ServiceUnavailable`` with ``Retry-After``, logged there, and no outage.

``translate`` raises the translated error without keeping it in a local of ``__exit__``
(``backends/errors.py``): that frame is on its traceback, a reference cycle on every
upstream error otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, FlexibleChecksumError

from backends.conditions import NOT_MODIFIED_FIELDS
from backends.errors import BackendError
from backends.outage import OutageLog
from backends.s3.redirects import RedirectRefused, is_redirect, redirect_refused

__all__ = [
    "GATEWAY_REFUSED",
    "SLOW_DOWN_RETRY_AFTER",
    "UNAVAILABLE_RETRY_AFTER",
    "error_code",
    "from_answer",
    "store_failed",
    "translate",
    "translate_error",
    "unavailable",
]

GATEWAY_REFUSED = "the upstream store refused the gateway"
UNAVAILABLE_RETRY_AFTER = 5
"""Seconds a client is asked to wait when the store is down or failing (``/ready`` says
the same)."""
SLOW_DOWN_RETRY_AFTER = 1
"""Seconds a client is asked to wait when the store (or the pool of connections to it)
is busy."""
_RETRY_AFTER_MAX = 3600

_PASS_THROUGH = frozenset(
    {
        "NoSuchKey",
        "NoSuchBucket",
        "NoSuchUpload",
        "NoSuchVersion",
        "BucketNotEmpty",
        "BucketAlreadyOwnedByYou",
        "ConditionalRequestConflict",
        "PreconditionFailed",
        "InvalidRange",
        "InvalidPart",
        "InvalidPartOrder",
        "EntityTooSmall",
        "EntityTooLarge",
        "BadDigest",
        "InvalidDigest",
        "InvalidArgument",
        "InvalidRequest",
        "InvalidBucketName",
        "InvalidBucketState",
        "KeyTooLongError",
        "MethodNotAllowed",
        "NoSuchObjectLockConfiguration",
        "ObjectLockConfigurationNotFoundError",
        "IncompleteBody",
        "InvalidPartNumber",
        "InvalidStorageClass",
        # an archived object (GLACIER, DEEP_ARCHIVE, an archive tier) read, or copied:
        # errors the SDKs model (s3.exceptions.InvalidObjectState, ...), so kept as named
        "InvalidObjectState",
        "ObjectNotInActiveTierError",
        "InvalidTag",
        "MetadataTooLarge",
        "TooManyParts",
        "MalformedXML",
        "NotImplemented",
        "ServerSideEncryptionConfigurationNotFoundError",
    }
)
_RENAMED = {
    "BucketAlreadyExists": "BucketAlreadyOwnedByYou",
    "412": "PreconditionFailed",
    "416": "InvalidRange",
    "400": "InvalidRequest",
    "409": "BucketNotEmpty",
    "405": "MethodNotAllowed",
    # SeaweedFS's GetObjectLegalHold of a version without one; S3's name for it
    "NoSuchObjectLegalHold": "NoSuchObjectLockConfiguration",
}
_CREDENTIAL_CODES = frozenset(
    {
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "403",
        "401",
        # the store refusing how the gateway signs: its clock, its region, its credentials
        "RequestTimeTooSkewed",
        "AuthorizationHeaderMalformed",
        "AuthorizationQueryParametersError",
        "ExpiredToken",
        "InvalidToken",
        "TokenRefreshRequired",
        "InvalidSecurity",
        "AccountProblem",
        "AllAccessDisabled",
        "NotSignedUp",
    }
)
_SLOW_DOWN_CODES = frozenset({"SlowDown", "TooManyRequests", "429"})
_UNAVAILABLE_CODES = frozenset({"ServiceUnavailable", "InternalError", "RequestTimeout", "408"})
# The store's BucketName is not among them: it names the upstream bucket, prefix included.
# The errors whose BucketName AWS fills in (and the filesystem backend does).
_NAMES_BUCKET = frozenset(
    {"NoSuchBucket", "BucketNotEmpty", "BucketAlreadyOwnedByYou", "BucketAlreadyExists"}
)

_EXTRA_FIELDS = (
    "ActualObjectSize",
    "RangeRequested",
    "Key",
    "UploadId",
    "Condition",
    "StorageClass",
    "AccessTier",
)


def error_code(exc: ClientError) -> str:
    error: dict[str, Any] = exc.response.get("Error", {})
    return str(error.get("Code", ""))


def _status(exc: ClientError) -> int:
    meta: dict[str, Any] = exc.response.get("ResponseMetadata", {})
    return int(meta.get("HTTPStatusCode", 0) or 0)


def unavailable(code: str, message: str, headers: Mapping[str, Any] | None = None) -> BackendError:
    """``ServiceUnavailable`` or ``SlowDown`` with ``RetryAfter``: the store's own
    ``Retry-After`` (whole seconds, up to an hour) when its answer had one."""
    default = SLOW_DOWN_RETRY_AFTER if code == "SlowDown" else UNAVAILABLE_RETRY_AFTER
    sent = str((headers or {}).get("retry-after", "")).strip()
    seconds = int(sent) if sent.isdigit() and int(sent) <= _RETRY_AFTER_MAX else default
    return BackendError(code, message, extra={"RetryAfter": str(seconds)})


def _marker_fields(headers: Mapping[str, Any]) -> dict[str, str]:
    """The delete marker a bodiless 404/405 describes (``x-amz-delete-marker: true``)."""
    if str(headers.get("x-amz-delete-marker", "")).lower() != "true":
        return {}
    fields = {"DeleteMarker": "true"}
    if headers.get("x-amz-version-id"):
        fields["VersionId"] = str(headers["x-amz-version-id"])
    if headers.get("last-modified"):
        fields["LastModified"] = str(headers["last-modified"])
    return fields


def from_answer(
    status: int,
    code: str,
    message: str = "",
    fields: Mapping[str, Any] | None = None,
    *,
    not_found: str = "NoSuchKey",
    headers: Mapping[str, Any] | None = None,
    denied: str = "InternalError",
    bucket_prefix: str | None = None,
    operation: str = "",
) -> BackendError:
    """The ``BackendError`` for an upstream error answer: HTTP ``status``, the S3 ``code``
    and ``message`` of its XML body (empty for bodiless answers), the body's other
    ``fields`` and the response ``headers`` (lower-case names). ``denied``: what an
    ``AccessDenied`` means to the caller (Object Lock protection), else the store refusing
    the gateway. ``bucket_prefix``: the configured prefix, taken off the store's
    ``BucketName`` (None: no ``BucketName`` passed on). ``operation``: S3's name of the
    operation answered, for the log line of a redirect."""
    fields = fields or {}
    headers = headers or {}
    if is_redirect(status, code):
        return redirect_refused(operation, status, headers, UNAVAILABLE_RETRY_AFTER)
    extra = {k: str(fields[k]) for k in _EXTRA_FIELDS if fields.get(k) is not None}
    named = fields.get("BucketName")
    if (
        bucket_prefix is not None
        and code in _NAMES_BUCKET
        and isinstance(named, str)
        and named.startswith(bucket_prefix)
    ):
        extra["BucketName"] = named[len(bucket_prefix) :]
    marker = _marker_fields(headers)
    if marker and status in (404, 405):
        if status == 405:
            marker["ResourceType"] = "DeleteMarker"
            return BackendError("MethodNotAllowed", message, extra=marker)
        return BackendError(not_found, message, extra={**extra, **marker})
    if code == "AccessDenied" and denied != "InternalError":
        return BackendError(denied, message or "Access Denied")
    if code in ("NotModified", "304") or (status == 304 and not code):
        # A 304 describes the object: keep what it carries of it
        for field in NOT_MODIFIED_FIELDS:
            value = headers.get(field.header.lower())
            if value:
                extra[field.name] = str(value)
        return BackendError("NotModified", message or "Not Modified", extra=extra)
    if code in _PASS_THROUGH:
        return BackendError(code, message, extra=extra)
    if code in _SLOW_DOWN_CODES or (not code and status == 429):
        return unavailable("SlowDown", message or "the upstream store is busy", headers)
    if code in _RENAMED:
        return BackendError(_RENAMED[code], message, extra=extra)
    if not code and str(status) in _RENAMED:
        return BackendError(_RENAMED[str(status)], message, extra=extra)
    if code == "404" or (status == 404 and code in ("", "NotFound")):
        return BackendError(not_found, message)
    if code in _CREDENTIAL_CODES or (not code and status in (401, 403)):
        return BackendError("InternalError", GATEWAY_REFUSED)
    if status >= 500 or code in _UNAVAILABLE_CODES or (not code and status == 408):
        return unavailable("ServiceUnavailable", "the upstream store failed", headers)
    if 400 <= status < 500:
        # A refusal this module does not name: say what the store answered.
        return BackendError("InvalidRequest", f"upstream store: {code}: {message}".strip())
    return BackendError("InternalError", f"upstream store answered {code or status}")


def translate_error(
    exc: BaseException,
    *,
    not_found: str = "NoSuchKey",
    denied: str = "InternalError",
    bucket_prefix: str | None = None,
) -> BackendError:
    """The ``BackendError`` for an exception raised by the aiobotocore client."""
    if isinstance(exc, BackendError):
        return exc
    if isinstance(exc, ClientError):
        error: dict[str, Any] = exc.response.get("Error", {})
        meta: dict[str, Any] = exc.response.get("ResponseMetadata", {})
        return from_answer(
            _status(exc),
            error_code(exc),
            str(error.get("Message", "") or ""),
            error,
            not_found=not_found,
            headers=meta.get("HTTPHeaders", {}),
            denied=denied,
            bucket_prefix=bucket_prefix,
            operation=exc.operation_name,
        )
    if isinstance(exc, FlexibleChecksumError):  # response_checksum_validation
        return unavailable(
            "ServiceUnavailable", "the upstream store's body does not match its checksum"
        )
    if isinstance(exc, BotoCoreError | OSError | asyncio.TimeoutError) or _is_transport(exc):
        return unavailable("ServiceUnavailable", "the upstream store is unreachable")
    return BackendError("InternalError", "unexpected upstream failure")


def _is_transport(exc: BaseException) -> bool:
    # aiohttp's own errors can surface while a body streams; we never import aiohttp.
    return type(exc).__module__.split(".")[0] == "aiohttp"


def store_failed(exc: BaseException, error: BackendError) -> str | None:
    """Why ``error`` (``exc`` translated) says the store is unavailable, for the outage
    log; None when the store answered (any other error, ``SlowDown`` too: it is busy, not
    gone). A body that does not match its checksum is no outage either, nor a redirect
    (the store answered)."""
    if (
        error.code != "ServiceUnavailable"
        or isinstance(exc, FlexibleChecksumError)
        or isinstance(error, RedirectRefused)
    ):
        return None
    if exc is error:
        return error.message
    return f"{error.message} ({type(exc).__name__}: {exc})"


class translate:
    """Re-raise anything the client raises as a ``BackendError``, and tell ``outage``
    (when given) whether the store answered.

    A class, not a ``@contextmanager`` generator: it wraps every upstream call, and a
    generator context manager costs more than the rest of a proxied request's dispatch."""

    __slots__ = ("_bucket_prefix", "_denied", "_not_found", "_outage")

    def __init__(
        self,
        *,
        not_found: str = "NoSuchKey",
        denied: str = "InternalError",
        bucket_prefix: str | None = None,
        outage: OutageLog | None = None,
    ) -> None:
        self._not_found = not_found
        self._denied = denied
        self._bucket_prefix = bucket_prefix
        self._outage = outage

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        outage = self._outage
        if exc is None:
            if outage is not None and outage.down_since is not None:
                outage.available()
            return
        if not isinstance(exc, Exception):
            return
        error = translate_error(
            exc,
            not_found=self._not_found,
            denied=self._denied,
            bucket_prefix=self._bucket_prefix,
        )
        if outage is not None:
            reason = store_failed(exc, error)
            if reason is not None:
                outage.failed(reason)
            elif outage.down_since is not None:
                outage.available()
        if error is not exc:
            try:
                raise error from exc
            finally:
                # this frame is on the error's traceback: the local would make a cycle
                del error
