"""The ``cursor`` of ``GET /v1/buckets/{name}/objects``: where the next page starts, bound
to its bucket.

A cursor is ``base64url(version || tag || key)``, the tag an HMAC of the bucket and key
under a subkey of the master key (as the S3 listener's continuation tokens,
``gateway/s3/listing.py``), so every worker and host of a deployment reads the cursors
any of them wrote. A cursor this API did not write for that bucket (forged, altered,
another bucket's, an S3 continuation token) is 400 ``ValidationError`` naming
``cursor``, as AWS refuses a continuation token it did not issue: a listing never starts
where a client wrote it should, nor somewhere another bucket's position says.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from gateway.api.errors import ApiError
from gateway.api.validation import invalid
from gateway.identity.crypto import Keyring

__all__ = ["decode_cursor", "encode_cursor"]

_VERSION = b"\x01"
_TAG = 16
_MAX = 2048
"""Longest cursor read: a 1,024-byte key makes one of 1,388 characters."""
_keys: dict[str, bytes] = {}


def _tag(keyring: Keyring, bucket: str, marker: bytes) -> bytes:
    key = _keys.get(keyring.fingerprint)
    if key is None:
        key = _keys[keyring.fingerprint] = keyring.subkey("rest-object-cursor")
    return hmac.digest(key, bucket.encode("ascii") + b"\0" + marker, "sha256")[:_TAG]


def encode_cursor(keyring: Keyring, bucket: str, marker: str) -> str:
    raw = marker.encode("utf-8")
    cursor = _VERSION + _tag(keyring, bucket, raw) + raw
    return base64.urlsafe_b64encode(cursor).rstrip(b"=").decode("ascii")


def _refused() -> ApiError:
    return invalid("cursor", "'cursor' is not a cursor this API returned for this bucket")


def decode_cursor(keyring: Keyring, bucket: str, cursor: str) -> str:
    """The key a cursor of :func:`encode_cursor` for ``bucket`` resumes after."""
    if len(cursor) > _MAX or not cursor.isascii():
        raise _refused()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise _refused() from None
    head = len(_VERSION) + _TAG
    marker = raw[head:]
    if (
        raw[:1] != _VERSION
        or not marker
        or not hmac.compare_digest(raw[1:head], _tag(keyring, bucket, marker))
    ):
        raise _refused()
    try:
        return marker.decode("utf-8")
    except UnicodeDecodeError:  # only a tag forged with the master key gets here
        raise _refused() from None
