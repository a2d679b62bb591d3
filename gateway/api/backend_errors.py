"""How a storage backend's refusal reads on the ``/v1`` API: one table, S3 code -> REST.

Backends raise :class:`~backends.errors.BackendError` named by AWS's S3 error code; the
REST handlers (``buckets.py``, ``objects.py``) turn it into the JSON envelope through
:func:`raise_backend`: the codes of ``BACKEND_ERRORS`` with their own wording, any other
code S3 answers with a 4xx by its status family (``_BY_STATUS``: an upstream store
refusing a key it finds too long, an object under retention, ...), named in
``details.backend_code``. Only a code S3 does not answer with a 4xx (``InternalError``, a
code nobody knows) is re-raised: a logged 500 ``InternalError``, a bug of ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from backends.errors import BackendError
from gateway.api.errors import ApiError
from gateway.s3.errors import ERRORS as S3_ERRORS

__all__ = ["BACKEND_ERRORS", "raise_backend"]

BACKEND_ERRORS: dict[str, tuple[int, str, str]] = {
    "NoSuchBucket": (404, "NotFound", "No such bucket"),
    "NoSuchKey": (404, "NotFound", "No such object"),
    "BucketNotEmpty": (409, "Conflict", "The bucket is not empty"),
    "BucketAlreadyOwnedByYou": (409, "Conflict", "The bucket already exists"),
    "BucketAlreadyExists": (409, "Conflict", "The bucket name is not available"),
    "OperationAborted": (
        409,
        "Conflict",
        "Another account deleted a bucket of this name a moment ago: try again in a few seconds",
    ),
    "EntityTooLarge": (413, "PayloadTooLarge", "The object is larger than allowed"),
    "IncompleteBody": (400, "InvalidRequest", "The body is shorter than its Content-Length"),
    "NotImplemented": (501, "NotImplemented", "Not implemented by this storage backend"),
    "ServiceUnavailable": (503, "ServiceUnavailable", "The storage backend is unavailable"),
    "SlowDown": (503, "ServiceUnavailable", "The storage backend asks to slow down"),
}


_BY_STATUS: dict[int, tuple[int, str]] = {
    400: (400, "InvalidRequest"),
    403: (403, "AccessDenied"),
    404: (404, "NotFound"),
    405: (409, "Conflict"),  # a delete marker where an object was asked for
    409: (409, "Conflict"),
    411: (400, "InvalidRequest"),  # a body without its length
    412: (409, "Conflict"),  # a store's precondition: the object changed meanwhile
    416: (400, "InvalidRequest"),
}
"""S3 status of a code outside ``BACKEND_ERRORS`` -> REST status and code."""


def raise_backend(exc: BackendError, details: Mapping[str, Any]) -> NoReturn:
    """Re-raise ``exc`` as the API error of its code (``details`` name the target)."""
    mapped = BACKEND_ERRORS.get(exc.code)
    if mapped is None:
        spec = S3_ERRORS.get(exc.code)
        family = None if spec is None else _BY_STATUS.get(spec.status)
        if spec is None or family is None:
            try:
                raise exc
            finally:
                del exc  # this frame is on its traceback: no cycle through the parameter
        status, code = family
        message = f"The storage backend refused the request: {exc.message or spec.message}"
        raise ApiError(status, code, message, {**details, "backend_code": exc.code}) from exc
    status, code, message = mapped
    headers = {"Retry-After": "5"} if status == 503 else None
    raise ApiError(status, code, message, details, headers=headers) from exc
