"""Errors a backend raises. Each carries the S3 error code the gateway answers with.

The gateway maps ``code`` to the HTTP status and message through its one error table
(``gateway/s3/errors.py``); backends never choose HTTP statuses themselves.

A backend raises an error as it is made (``raise no_such_bucket(bucket)``), never from a
local or parameter of the raising frame (``error = ...; raise error``): that frame is on
the error's traceback, so the two would hold each other, and everything the frame holds,
until the cyclic garbage collector ran (~0.35 us an object, on every 404; where a name is
needed, ``del`` it in a ``finally``). The callers are not all the gateway's dispatchers,
which drop an answered error's tracebacks (docs/architecture.md, "Errors let go of their
tracebacks"); ``tests/backends/test_reference_cycles.py`` holds each backend to it.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Mapping

NOT_EMPTY_VERSIONED = (
    "The bucket you tried to delete is not empty. You must delete all versions in the bucket."
)
"""S3's ``BucketNotEmpty`` message for a bucket with versioning configured (tools such as
``aws s3 rb --force`` delete the current objects only and leave it this way)."""


class BackendError(Exception):
    """A failure a client can be told about, named by its S3 error code.

    ``code`` is an AWS S3 error code such as ``NoSuchKey``, ``NoSuchBucket``,
    ``BucketNotEmpty``, ``BucketAlreadyOwnedByYou``, ``PreconditionFailed``,
    ``NotModified`` (not an error in S3 terms, but it ends the request the same way),
    ``InvalidRange``, ``NoSuchUpload``, ``InvalidPart``, ``InvalidPartOrder``,
    ``EntityTooSmall``, ``EntityTooLarge``, ``BadDigest``, ``InvalidArgument``,
    ``ServiceUnavailable``, ``SlowDown``, ``NotImplemented``, ``InternalError``.
    ``extra`` holds fields the error response carries beyond code and message
    (e.g. ``{"ActualObjectSize": "10"}`` for ``InvalidRange``; ``BucketName``, ``Key``).
    """

    def __init__(
        self, code: str, message: str = "", *, extra: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.extra: dict[str, str] = dict(extra or {})


def no_such_bucket(bucket: str) -> BackendError:
    """No bucket of the name: S3's 404 with the ``BucketName`` it names (the one
    constructor, so every path of a backend answers it alike)."""
    return BackendError(
        "NoSuchBucket", "The specified bucket does not exist", extra={"BucketName": bucket}
    )


def delete_marker_copy_source() -> BackendError:
    """A copy (CopyObject, UploadPartCopy) whose source names a delete marker by its
    version id: S3's 400, the same from every backend."""
    return BackendError(
        "InvalidRequest",
        "The source of a copy request may not specifically refer to a delete marker by version id.",
    )


_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
STORAGE_FULL_RETRY_AFTER = 30
"""Seconds a client is asked to wait before it retries a write refused for want of room."""


def storage_full(exc: BaseException) -> BackendError | None:
    """What a write the storage had no room for is answered with, or None for any other
    failure: a full file system or quota, a file over the size limit (``OSError`` ENOSPC,
    EDQUOT, EFBIG) or SQLite's ``SQLITE_FULL``. ``ServiceUnavailable`` with a Retry-After:
    not the client's doing, and the same write succeeds once room is made (the failed
    one left nothing behind)."""
    full = (isinstance(exc, OSError) and exc.errno in _NO_ROOM) or (
        isinstance(exc, sqlite3.Error)
        and getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    )
    if not full:
        return None
    return BackendError(
        "ServiceUnavailable",
        "The server has no room to store this now. Please retry later.",
        extra={"RetryAfter": str(STORAGE_FULL_RETRY_AFTER)},
    )


_NO_DESCRIPTOR = frozenset({errno.EMFILE, errno.ENFILE})
DESCRIPTORS_RETRY_AFTER = 1
"""Seconds a client is asked to wait after a request refused for want of a descriptor."""


def out_of_descriptors(exc: BaseException) -> BackendError | None:
    """What a request that could not open a file is answered with when the process (or
    the system) has no descriptor left (``OSError`` EMFILE, ENFILE), or None: a load the
    server is under, not the client's doing, gone once other requests end.
    ``ServiceUnavailable`` with a Retry-After (nothing was written or changed)."""
    if not (isinstance(exc, OSError) and exc.errno in _NO_DESCRIPTOR):
        return None
    return BackendError(
        "ServiceUnavailable",
        "The server cannot open more files now. Please retry.",
        extra={"RetryAfter": str(DESCRIPTORS_RETRY_AFTER)},
    )
