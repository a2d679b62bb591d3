"""How a storage backend's refusal reads on the ``/v1`` API: one table, S3 code -> REST.

Backends raise :class:`~backends.errors.BackendError` named by AWS's S3 error code; the
REST handlers (``buckets.py``, ``objects.py``) turn the codes a client can act on into the
JSON envelope through :func:`raise_backend`. A code missing here is a bug of ours, not of
the client, and is re-raised (a logged 500 ``InternalError``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from backends.errors import BackendError
from gateway.api.errors import ApiError

__all__ = ["BACKEND_ERRORS", "raise_backend"]

BACKEND_ERRORS: dict[str, tuple[int, str, str]] = {
    "NoSuchBucket": (404, "NotFound", "No such bucket"),
    "NoSuchKey": (404, "NotFound", "No such object"),
    "BucketNotEmpty": (409, "Conflict", "The bucket is not empty"),
    "BucketAlreadyOwnedByYou": (409, "Conflict", "The bucket already exists"),
    "BucketAlreadyExists": (409, "Conflict", "The bucket name is not available"),
    "EntityTooLarge": (413, "PayloadTooLarge", "The object is larger than allowed"),
    "IncompleteBody": (400, "InvalidRequest", "The body is shorter than its Content-Length"),
    "NotImplemented": (501, "NotImplemented", "Not implemented by this storage backend"),
    "ServiceUnavailable": (503, "ServiceUnavailable", "The storage backend is unavailable"),
    "SlowDown": (503, "ServiceUnavailable", "The storage backend asks to slow down"),
}


def raise_backend(exc: BackendError, details: Mapping[str, Any]) -> NoReturn:
    """Re-raise ``exc`` as the API error of its code (``details`` name the target)."""
    mapped = BACKEND_ERRORS.get(exc.code)
    if mapped is None:
        raise exc
    status, code, message = mapped
    headers = {"Retry-After": "5"} if status == 503 else None
    raise ApiError(status, code, message, details, headers=headers) from exc
