"""The ``cursor`` of ``GET /v1/buckets/{name}/objects``: where the next page starts, bound
to its bucket.

A cursor is a page token of ``gateway/identity/page_tokens.py`` (as the S3 listener's
continuation tokens, with a subkey of its own), bound to the bucket, so every worker and
host of a deployment reads the cursors any of them wrote. A cursor this API did not
write for that bucket (forged, altered, another bucket's, an S3 continuation token) is
400 ``ValidationError`` naming ``cursor``, as AWS refuses a continuation token it did not
issue: a listing never starts where a client wrote it should, nor somewhere another
bucket's position says.
"""

from __future__ import annotations

from gateway.api.errors import ApiError
from gateway.api.validation import invalid
from gateway.identity.crypto import Keyring
from gateway.identity.page_tokens import seal, unseal

__all__ = ["decode_cursor", "encode_cursor"]

_PURPOSE = "rest-object-cursor"


def encode_cursor(keyring: Keyring, bucket: str, marker: str) -> str:
    return seal(keyring, _PURPOSE, bucket, marker)


def decode_cursor(keyring: Keyring, bucket: str, cursor: str) -> str:
    """The key a cursor of :func:`encode_cursor` for ``bucket`` resumes after."""
    marker = unseal(keyring, _PURPOSE, bucket, cursor)
    if marker is None:
        raise _refused()
    return marker


def _refused() -> ApiError:
    return invalid("cursor", "'cursor' is not a cursor this API returned for this bucket")
