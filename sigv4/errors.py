"""S3 error types raised by the SigV4 verifier.

Each class carries the S3 error ``code`` and HTTP ``status`` that AWS S3 returns for the
condition, so the gateway renders any :class:`SigV4Error` without a mapping table of its
own. ``extra`` holds the additional XML elements S3 includes (``RequestTime``,
``StringToSign``, ...); the canonical request and string to sign are attached to
signature failures for debugging (S3 itself returns them in the error body).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AccessDenied",
    "AuthorizationHeaderMalformed",
    "AuthorizationQueryParametersError",
    "BadDigest",
    "IncompleteBody",
    "InvalidArgument",
    "InvalidDigest",
    "InvalidRequest",
    "MissingContentLength",
    "MissingSecurityHeader",
    "RequestTimeTooSkewed",
    "SigV4Error",
    "SignatureDoesNotMatch",
    "XAmzContentSHA256Mismatch",
]


class SigV4Error(Exception):
    """Base class: an S3 error with its code, HTTP status and message."""

    code: ClassVar[str] = "InvalidRequest"
    status: ClassVar[int] = 400

    def __init__(
        self,
        message: str,
        *,
        extra: dict[str, str] | None = None,
        canonical_request: str | None = None,
        string_to_sign: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.extra: dict[str, str] = dict(extra or {})
        self.canonical_request = canonical_request
        self.string_to_sign = string_to_sign

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class SignatureDoesNotMatch(SigV4Error):
    code = "SignatureDoesNotMatch"
    status = 403


class AuthorizationHeaderMalformed(SigV4Error):
    code = "AuthorizationHeaderMalformed"
    status = 400


class AuthorizationQueryParametersError(SigV4Error):
    code = "AuthorizationQueryParametersError"
    status = 400


class AccessDenied(SigV4Error):
    code = "AccessDenied"
    status = 403


class RequestTimeTooSkewed(SigV4Error):
    code = "RequestTimeTooSkewed"
    status = 403


class XAmzContentSHA256Mismatch(SigV4Error):
    code = "XAmzContentSHA256Mismatch"
    status = 400


class InvalidDigest(SigV4Error):
    code = "InvalidDigest"
    status = 400


class BadDigest(SigV4Error):
    code = "BadDigest"
    status = 400


class IncompleteBody(SigV4Error):
    code = "IncompleteBody"
    status = 400


class InvalidRequest(SigV4Error):
    code = "InvalidRequest"
    status = 400


class InvalidArgument(SigV4Error):
    code = "InvalidArgument"
    status = 400


class MissingSecurityHeader(SigV4Error):
    code = "MissingSecurityHeader"
    status = 400


class MissingContentLength(SigV4Error):
    code = "MissingContentLength"
    status = 411
