"""S3 error types raised by the SigV4 verifier.

Each class carries the S3 error ``code`` that AWS S3 returns for the condition and a
message; never an HTTP status: the server's error table maps codes to statuses.
``extra`` holds the additional XML elements S3 includes (``RequestTime``,
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
    "InvalidChunkSizeError",
    "InvalidDigest",
    "InvalidRequest",
    "InvalidURI",
    "MalformedTrailerError",
    "MissingContentLength",
    "MissingSecurityHeader",
    "RequestTimeTooSkewed",
    "SigV4Error",
    "SignatureDoesNotMatch",
    "XAmzContentSHA256Mismatch",
    "only_one_auth_mechanism",
]


class SigV4Error(Exception):
    """Base class: an S3 error with its code and message."""

    code: ClassVar[str] = "InvalidRequest"

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


class AuthorizationHeaderMalformed(SigV4Error):
    code = "AuthorizationHeaderMalformed"


class AuthorizationQueryParametersError(SigV4Error):
    code = "AuthorizationQueryParametersError"


class AccessDenied(SigV4Error):
    code = "AccessDenied"


class RequestTimeTooSkewed(SigV4Error):
    code = "RequestTimeTooSkewed"


class XAmzContentSHA256Mismatch(SigV4Error):
    code = "XAmzContentSHA256Mismatch"


class InvalidDigest(SigV4Error):
    code = "InvalidDigest"


class BadDigest(SigV4Error):
    code = "BadDigest"


class IncompleteBody(SigV4Error):
    code = "IncompleteBody"


class InvalidRequest(SigV4Error):
    code = "InvalidRequest"


class InvalidURI(SigV4Error):
    code = "InvalidURI"


class InvalidArgument(SigV4Error):
    code = "InvalidArgument"


class InvalidChunkSizeError(SigV4Error):
    code = "InvalidChunkSizeError"


class MalformedTrailerError(SigV4Error):
    code = "MalformedTrailerError"


class MissingSecurityHeader(SigV4Error):
    code = "MissingSecurityHeader"


class MissingContentLength(SigV4Error):
    code = "MissingContentLength"


def only_one_auth_mechanism() -> InvalidArgument:
    """S3's answer to an ``Authorization`` header (any scheme) sent with query-string
    authentication (SigV4 or SigV2 presigned). S3 also echoes the header's value as
    ``ArgumentValue``; a credential is not echoed here."""
    return InvalidArgument(
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
        "Signature query string parameter or the Authorization header should be specified",
        extra={"ArgumentName": "Authorization"},
    )
