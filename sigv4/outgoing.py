"""Signing outgoing requests with SigV4 header auth: the same math the verifier checks.

Pure functions, no I/O: the clock is a parameter. The upstream S3 backend signs every
request it sends with its own credentials through ``sign_headers``; ``encode_path`` and
``encode_query`` build the raw path and query exactly as they are then sent, so the
canonical request is computed from the bytes on the wire (as botocore does).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote

from sigv4.canonical import canonical_query, canonical_uri, uri_encode
from sigv4.signing import ALGORITHM, scope, sign, signing_key, string_to_sign

__all__ = [
    "UNSIGNED_PAYLOAD",
    "amz_date",
    "authorization",
    "encode_path",
    "encode_query",
    "sign_headers",
]

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_AS_IS = re.compile(r"[A-Za-z0-9_.~/-]*")
"""A segment ``quote(segment, safe="/~")`` leaves as it is (most keys): not quoted again."""


def encode_path(*segments: str) -> str:
    """``/seg1/seg2...`` with AWS's URI encoding; ``/`` inside a segment (an S3 key) kept.

    ``encode_path("bucket", "a b/c")`` is ``/bucket/a%20b/c``, as botocore sends it.
    """
    return "/" + "/".join(
        segment if _AS_IS.fullmatch(segment) else quote(segment, safe="/~") for segment in segments
    )


def encode_query(params: Iterable[tuple[str, str]]) -> str:
    """A raw query string, names and values URI-encoded (``/`` too), in the order given.

    A parameter without a value (S3's ``?uploads``) is ``(name, "")`` and sent as ``name=``,
    which S3 and the canonical form treat alike.
    """
    return "&".join(f"{uri_encode(name)}={uri_encode(value)}" for name, value in params)


def amz_date(now: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ`` of ``now`` in UTC."""
    if now.tzinfo is not None and now.utcoffset():
        now = now.astimezone(UTC)
    # an f-string: strftime is a measurable share of signing a small request
    return (
        f"{now.year:04d}{now.month:02d}{now.day:02d}"
        f"T{now.hour:02d}{now.minute:02d}{now.second:02d}Z"
    )


def authorization(
    access_key_id: str, credential_scope: str, signed_headers: Iterable[str], signature: str
) -> str:
    """The ``Authorization`` header value."""
    return (
        f"{ALGORITHM} Credential={access_key_id}/{credential_scope}, "
        f"SignedHeaders={';'.join(signed_headers)}, Signature={signature}"
    )


def sign_headers(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    payload_hash: str,
    *,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    now: datetime,
    service: str = "s3",
) -> dict[str, str]:
    """The headers that sign a request: ``x-amz-date``, ``x-amz-content-sha256`` and
    ``authorization``.

    ``headers`` are the headers the request will carry (``host`` included), every one of
    them signed; names in any case. ``payload_hash`` is the hex SHA-256 of the body,
    ``UNSIGNED-PAYLOAD``, or ``EMPTY_SHA256`` for a request without a body.
    """
    date_time = amz_date(now)
    signed = {name.lower(): value for name, value in headers.items()}
    signed["x-amz-date"] = date_time
    signed["x-amz-content-sha256"] = payload_hash
    names = sorted(signed)
    # the canonical request of Task 1 from headers known to be distinct and lower-case
    # (``canonical_request`` also folds repeated ones): trimmed like every value signed
    creq = "\n".join(
        (
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(raw_query),
            "".join([f"{name}:{' '.join(signed[name].split())}\n" for name in names]),
            ";".join(names),
            payload_hash,
        )
    )
    credential_scope = scope(date_time[:8], region, service)
    signature = sign(
        signing_key(secret_access_key, date_time[:8], region, service),
        string_to_sign(date_time, credential_scope, creq),
    )
    return {
        "x-amz-date": date_time,
        "x-amz-content-sha256": payload_hash,
        "authorization": authorization(access_key_id, credential_scope, names, signature),
    }
