"""The one table of S3 errors and the one conversion of any exception into an S3 error.

``ERRORS`` maps every code the gateway can answer with to its HTTP status, default
message and the headers the response adds (derived from the error's extra fields).
``sigv4``, ``backends`` and ``gateway.auth`` raise errors that carry a code, a message
and typed extra fields, never a status; :func:`as_s3_error` turns them (and anything
else) into an :class:`S3Error`, which ``render.render_error`` writes out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from backends.conditions import NOT_MODIFIED_FIELDS
from backends.errors import BackendError
from gateway.storage_full import no_room
from sigv4 import SigV4Error

__all__ = ["ERRORS", "OBJECT_CHANGED", "ErrorSpec", "S3Error", "as_s3_error"]

OBJECT_CHANGED = (
    "The object (or its ACL) changed while this request was sent; it was authorised for "
    "the object as it was then. Try again."
)
"""``OperationAborted``'s message for an object sub-resource write whose object changed
between its decision and its write (``gateway/s3/acl.py``)."""

HeaderRule = Callable[[Mapping[str, str]], dict[str, str]]


def _content_range(extra: Mapping[str, str]) -> dict[str, str]:
    size = extra.get("ActualObjectSize")
    return {} if size is None else {"Content-Range": f"bytes */{size}"}


def _validators(extra: Mapping[str, str]) -> dict[str, str]:
    """A 304 still describes the object (RFC 9110 15.4.5): ETag and Last-Modified, and the
    Cache-Control and Expires the 200 would have had, so a cache that revalidates keeps
    the object's freshness rules; the version id as S3 sends it
    (``backends.conditions.NOT_MODIFIED_FIELDS``)."""
    return {f.header: extra[f.name] for f in NOT_MODIFIED_FIELDS if f.name in extra}


def _delete_marker(extra: Mapping[str, str]) -> dict[str, str]:
    """A read that met a delete marker says so (HEAD has no body to say it in): the
    latest version is one (404 NoSuchKey), or the version asked for is one (405)."""
    if extra.get("DeleteMarker") != "true":
        return {}
    headers = {"x-amz-delete-marker": "true"}
    if "VersionId" in extra:
        headers["x-amz-version-id"] = extra["VersionId"]
    if "LastModified" in extra:
        headers["Last-Modified"] = extra["LastModified"]
    if extra.get("ResourceType") == "DeleteMarker":
        headers["Allow"] = "DELETE"
    return headers


def _not_allowed(extra: Mapping[str, str]) -> dict[str, str]:
    """405: the delete marker's headers, or ``Allow`` naming the methods the resource
    takes (S3 sends it for a method a subresource does not take, HEAD included)."""
    headers = _delete_marker(extra)
    if "Allow" in extra and "Allow" not in headers:
        headers["Allow"] = extra["Allow"]
    return headers


def _retry_after(extra: Mapping[str, str]) -> dict[str, str]:
    """A 503 that knows when to come back says so."""
    return {"Retry-After": extra["RetryAfter"]} if "RetryAfter" in extra else {}


MARKER_FIELDS = frozenset({"DeleteMarker", "LastModified", "VersionId"})
"""Extra fields that become headers only (``_delete_marker``), never XML elements."""


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    status: int
    message: str
    headers: HeaderRule | None = None
    """Response headers derived from the error's extra fields."""
    body: bool = True
    """Whether the response carries the XML document (a 304 has no body)."""
    header_only: frozenset[str] = frozenset()
    """Extra fields the headers carry and the XML document leaves out."""


def _e(status: int, message: str, headers: HeaderRule | None = None) -> ErrorSpec:
    return ErrorSpec(status, message, headers)


ERRORS: dict[str, ErrorSpec] = {
    "AccessControlListNotSupported": _e(400, "The bucket does not allow ACLs"),
    "AccessDenied": _e(403, "Access Denied"),
    "AccessForbidden": _e(403, "CORSResponse: This CORS request is not allowed."),
    "AuthorizationHeaderMalformed": _e(400, "The authorization header is malformed."),
    "AuthorizationQueryParametersError": _e(400, "The query-string authentication is malformed."),
    "BadDigest": _e(
        400, "The Content-MD5 or checksum you specified did not match what we received."
    ),
    "BadRequest": _e(400, "Bad Request"),
    "BucketAlreadyExists": _e(409, "The requested bucket name is not available."),
    "BucketAlreadyOwnedByYou": _e(
        409,
        "Your previous request to create the named bucket succeeded and you already own it.",
    ),
    "BucketNotEmpty": _e(409, "The bucket you tried to delete is not empty."),
    "ConditionalRequestConflict": _e(
        409,
        "The conditional request cannot succeed due to a conflicting operation against this "
        "resource.",
    ),
    "EntityTooLarge": _e(400, "Your proposed upload exceeds the maximum allowed object size."),
    "EntityTooSmall": _e(
        400,
        "Your proposed upload is smaller than the minimum allowed object size.",
    ),
    "IllegalLocationConstraintException": _e(
        400,
        "The specified location-constraint is not valid.",
    ),
    "IncompleteBody": _e(
        400,
        "You did not provide the number of bytes specified by the Content-Length HTTP header.",
    ),
    "IncorrectNumberOfFilesInPostRequest": _e(
        400, "POST requires exactly one file upload per request."
    ),
    "InternalError": _e(500, "We encountered an internal error. Please try again."),
    "InvalidAccessKeyId": _e(
        403,
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    "InvalidArgument": _e(400, "Invalid Argument"),
    "InvalidBucketAclWithObjectOwnership": _e(
        400, "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"
    ),
    "InvalidBucketName": _e(400, "The specified bucket is not valid."),
    "InvalidBucketState": _e(409, "The request is not valid with the current state of the bucket."),
    "InvalidChunkSizeError": _e(
        400, "Only the last chunk is allowed to have a size less than 8192 bytes"
    ),
    "InvalidDigest": _e(400, "The Content-MD5 or checksum you specified is not valid."),
    "InvalidEncryptionAlgorithmError": _e(
        400, "The encryption request you specified is not valid. The valid value is AES256."
    ),
    "InvalidLocationConstraint": _e(400, "The specified location-constraint is not valid."),
    "InvalidObjectState": _e(403, "The operation is not valid for the object's storage class"),
    "InvalidPart": _e(
        400,
        "One or more of the specified parts could not be found. The part may not have been "
        "uploaded, or the specified entity tag may not match the part's entity tag.",
    ),
    "InvalidPartNumber": _e(400, "The requested partnumber is not satisfiable"),
    "InvalidPartOrder": _e(
        400,
        "The list of parts was not in ascending order. Parts must be ordered by part number.",
    ),
    "InvalidPolicyDocument": _e(
        400,
        "The content of the form does not meet the conditions specified in the policy document.",
    ),
    "InvalidRange": _e(416, "The requested range is not satisfiable", _content_range),
    "InvalidRequest": _e(400, "Invalid Request"),
    "InvalidRetentionPeriod": _e(400, "The retention days/years must be a positive integer."),
    "InvalidStorageClass": _e(400, "The storage class you specified is not valid."),
    "InvalidTag": _e(400, "The tag provided was not a valid tag."),
    "InvalidURI": _e(400, "Couldn't parse the specified URI."),
    # A refused Bearer JWT, or a session token sent with a signature (authn.py): an
    # authentication failure, 403 like a bad key.
    "InvalidToken": _e(403, "The provided token is malformed or otherwise invalid."),
    "KeyTooLongError": _e(400, "Your key is too long"),
    "MalformedACLError": _e(400, "The XML you provided was not well-formed."),
    "MalformedPOSTRequest": _e(
        400, "The body of your POST request is not well-formed multipart/form-data."
    ),
    "MalformedTrailerError": _e(
        400,
        "The request contained trailing data that was not well-formed or did not conform to "
        "our published schema.",
    ),
    "MalformedPolicy": _e(400, "Policies must be valid JSON and the first byte must be '{'"),
    "MalformedXML": _e(
        400,
        "The XML you provided was not well-formed or did not validate against our published schema",
    ),
    "MaxMessageLengthExceeded": _e(400, "Your request was too big."),
    "MaxPostPreDataLengthExceededError": _e(
        400, "Your POST request fields preceding the upload file were too large."
    ),
    "MetadataTooLarge": _e(400, "Your metadata headers exceed the maximum allowed metadata size."),
    "MethodNotAllowed": ErrorSpec(
        405,
        "The specified method is not allowed against this resource.",
        _not_allowed,
        header_only=MARKER_FIELDS | {"Allow"},
    ),
    "MissingContentLength": _e(411, "You must provide the Content-Length HTTP header."),
    "MissingRequestBodyError": _e(400, "Request Body is empty."),
    "MissingSecurityHeader": _e(400, "Your request is missing a required header."),
    "NoSuchBucket": _e(404, "The specified bucket does not exist"),
    "NoSuchBucketPolicy": _e(404, "The bucket policy does not exist"),
    "NoSuchCORSConfiguration": _e(404, "The CORS configuration does not exist"),
    "NoSuchConfiguration": _e(404, "The specified configuration does not exist."),
    "NoSuchKey": ErrorSpec(
        404, "The specified key does not exist.", _delete_marker, header_only=MARKER_FIELDS
    ),
    "NoSuchLifecycleConfiguration": _e(404, "The lifecycle configuration does not exist"),
    "NoSuchObjectLockConfiguration": _e(
        404, "The specified object does not have a ObjectLock configuration."
    ),
    "NoSuchPublicAccessBlockConfiguration": _e(
        404, "The public access block configuration was not found"
    ),
    "NoSuchTagSet": _e(404, "The TagSet does not exist"),
    "NoSuchUpload": _e(
        404,
        "The specified upload does not exist. The upload ID may be invalid, or the upload "
        "may have been aborted or completed.",
    ),
    "NoSuchVersion": _e(404, "The specified version does not exist."),
    "NoSuchWebsiteConfiguration": _e(
        404, "The specified bucket does not have a website configuration"
    ),
    "NotImplemented": _e(
        501,
        "A header or query you provided implies functionality that is not implemented.",
    ),
    "NotModified": ErrorSpec(304, "Not Modified", _validators, body=False),
    "ObjectLockConfigurationNotFoundError": _e(
        404, "Object Lock configuration does not exist for this bucket"
    ),
    "ObjectNotInActiveTierError": _e(
        403,
        "The source object of the COPY operation is not in the active tier and is only stored"
        " in Amazon S3 Glacier.",
    ),
    "OperationAborted": _e(
        409,
        "A conflicting conditional operation is currently in progress against this resource."
        " Try again.",
    ),
    "OwnershipControlsNotFoundError": _e(404, "The bucket ownership controls were not found"),
    "PreconditionFailed": _e(412, "At least one of the preconditions you specified did not hold."),
    "ReplicationConfigurationNotFoundError": _e(404, "The replication configuration was not found"),
    # A request line or header field over the listener's limit (gateway/malformed.py), or
    # more system metadata than an object keeps (gateway/s3/headers.py).
    "RequestHeaderSectionTooLarge": _e(
        400,
        "The request header and query parameters used to make the request exceed the "
        "maximum allowed size.",
    ),
    "RequestTimeTooSkewed": _e(
        403,
        "The difference between the request time and the server's time is too large.",
    ),
    "RequestTimeout": _e(
        400,
        "Your socket connection to the server was not read from or written to within the "
        "timeout period.",
    ),
    "ServerSideEncryptionConfigurationNotFoundError": _e(
        404, "The server side encryption configuration was not found"
    ),
    "ServiceUnavailable": ErrorSpec(
        503,
        "Please reduce your request rate.",
        _retry_after,
        header_only=frozenset({"RetryAfter"}),
    ),
    "SignatureDoesNotMatch": _e(
        403,
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    ),
    "SlowDown": ErrorSpec(
        503,
        "Please reduce your request rate.",
        _retry_after,
        header_only=frozenset({"RetryAfter"}),
    ),
    "TooManyBuckets": _e(400, "You have attempted to create more buckets than allowed"),
    "TooManyParts": _e(400, "You have attempted to upload more than 10000 parts."),
    "UnexpectedContent": _e(400, "This request does not support content."),
    "UnresolvableGrantByEmailAddress": _e(
        400, "The e-mail address you provided does not match any account on record."
    ),
    "XAmzContentSHA256Mismatch": _e(
        400,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    ),
}


class S3Error(Exception):
    """An error answered as S3 XML: a code of ``ERRORS``, a message (the table's default
    when None) and extra fields written into the document (and, per the table, headers)."""

    def __init__(
        self, code: str, message: str | None = None, *, extra: Mapping[str, str] | None = None
    ) -> None:
        spec = ERRORS.get(code)
        if spec is None:  # a programming error: tests/gateway/s3/test_errors.py prevents it
            raise KeyError(f"S3 error code {code!r} is missing from the error table")
        self.code = code
        self.spec = spec
        self.message = message or spec.message
        self.extra: dict[str, str] = dict(extra or {})
        super().__init__(f"{code}: {self.message}")

    @property
    def status(self) -> int:
        return self.spec.status

    def headers(self) -> dict[str, str]:
        rule = self.spec.headers
        return {} if rule is None else rule(self.extra)


def as_s3_error(exc: Exception) -> S3Error | None:
    """The S3 error an exception stands for; None for anything a client did not cause
    (the caller logs it and answers ``InternalError``)."""
    if isinstance(exc, S3Error):
        return exc
    if isinstance(exc, BackendError | SigV4Error) and exc.code in ERRORS:
        return S3Error(exc.code, exc.message or None, extra=exc.extra)
    # Imported here: gateway.authz parses ACL documents with this module's S3Error (and
    # imports nothing of the identity store).
    from gateway.authz.errors import AuthzError
    from gateway.identity.bucket_settings import BucketGone
    from gateway.identity.db import StoreUnavailable, UnstorableText
    from gateway.identity.object_acls import ObjectChanged

    if isinstance(exc, AuthzError):
        return S3Error(exc.code, exc.message)
    if isinstance(exc, BucketGone):
        return S3Error("NoSuchBucket", extra={"BucketName": str(exc)})
    if isinstance(exc, ObjectChanged):
        return S3Error("OperationAborted", OBJECT_CHANGED)
    if isinstance(exc, UnstorableText):
        return S3Error("InvalidArgument", "A value in the request holds a NUL character")
    if isinstance(exc, StoreUnavailable):
        return S3Error(
            "ServiceUnavailable",
            "The service is unavailable. Please retry.",
            extra={"RetryAfter": str(exc.retry_after)},
        )
    refusal = no_room(exc)
    if refusal is not None:
        return S3Error(refusal.code, refusal.message, extra=refusal.extra)
    return None
