"""Errors a backend raises. Each carries the S3 error code the gateway answers with.

The gateway maps ``code`` to the HTTP status and message through its one error table
(``gateway/s3/errors.py``); backends never choose HTTP statuses themselves.
"""

from __future__ import annotations

from collections.abc import Mapping


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
