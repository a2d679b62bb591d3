"""Test helpers: botocore as the signing oracle, and an aws-chunked encoder per the spec."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from unittest import mock
from urllib.parse import urlsplit

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sigv4 import SignedRequest
from sigv4.canonical import canonical_request
from sigv4.signing import (
    chunk_string_to_sign,
    scope,
    sign,
    signing_key,
    string_to_sign,
    trailer_string_to_sign,
)

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
NOW = datetime(2024, 5, 24, 12, 30, 45, tzinfo=UTC)


def _to_signed(request: AWSRequest, extra_headers: Iterable[tuple[str, str]] = ()) -> SignedRequest:
    parts = urlsplit(request.url)
    headers = [(k, v if isinstance(v, str) else v.decode()) for k, v in request.headers.items()]
    if not any(k.lower() == "host" for k, _ in headers):
        headers.insert(0, ("Host", parts.netloc))
    headers.extend(extra_headers)
    return SignedRequest(
        method=request.method,
        raw_path=parts.path or "/",
        raw_query=parts.query,
        headers=tuple(headers),
    )


def botocore_sign(
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    *,
    when: datetime = NOW,
    region: str = "us-east-1",
    secret: str = SECRET,
    token: str | None = None,
    context: dict[str, object] | None = None,
) -> SignedRequest:
    """Sign with botocore's S3SigV4Auth (header auth) at time ``when``."""
    request = AWSRequest(method=method, url=url, headers=headers or {}, data=body)
    request.context.update(context or {})
    auth = S3SigV4Auth(Credentials(ACCESS_KEY, secret, token), "s3", region)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
        auth.add_auth(request)
    return _to_signed(request)


def botocore_presign(
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
    *,
    expires: int = 3600,
    when: datetime = NOW,
    region: str = "us-east-1",
    secret: str = SECRET,
    token: str | None = None,
) -> SignedRequest:
    """Presign with botocore's S3SigV4QueryAuth at time ``when``."""
    request = AWSRequest(method=method, url=url, headers=headers or {})
    auth = S3SigV4QueryAuth(Credentials(ACCESS_KEY, secret, token), "s3", region, expires=expires)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
        auth.add_auth(request)
    return _to_signed(request)


def encode_chunked(
    payload: bytes,
    chunk_size: int,
    *,
    signing_key: bytes | None = None,
    amz_date: str = "",
    scope: str = "",
    seed_signature: str = "",
    trailers: Iterable[tuple[str, str]] | None = None,
) -> bytes:
    """aws-chunked encoding per the AWS spec; signed when ``signing_key`` is given.

    ``trailers`` (a list, possibly empty) selects a trailer mode: the trailing headers
    follow the final chunk, with ``x-amz-trailer-signature`` in the signed mode.
    """
    out = bytearray()
    previous = seed_signature
    pieces = [payload[i : i + chunk_size] for i in range(0, len(payload), chunk_size)]
    for piece in [*pieces, b""]:
        if signing_key is None:
            out += b"%x\r\n" % len(piece)
        else:
            sts = chunk_string_to_sign(amz_date, scope, previous, hashlib.sha256(piece).hexdigest())
            previous = sign(signing_key, sts)
            out += b"%x;chunk-signature=%s\r\n" % (len(piece), previous.encode())
        if piece:
            out += piece + b"\r\n"
    if trailers is None:
        out += b"\r\n"
        return bytes(out)
    text = "".join(f"{name}:{value}\n" for name, value in trailers)
    for name, value in trailers:
        out += f"{name}:{value}\r\n".encode()
    if signing_key is not None:
        sts = trailer_string_to_sign(
            amz_date, scope, previous, hashlib.sha256(text.encode()).hexdigest()
        )
        out += f"x-amz-trailer-signature:{sign(signing_key, sts)}\r\n".encode()
    out += b"\r\n"
    return bytes(out)


def resign(request: SignedRequest, content_sha: str) -> SignedRequest:
    """Sign ``request`` (headers as they are) with our own signer (botocore overrides
    x-amz-content-sha256 with its own choice)."""
    headers = tuple((k, v) for k, v in request.headers if k.lower() != "authorization")
    names = tuple(sorted({k.lower() for k, _ in headers}))
    creq = canonical_request(
        request.method, request.raw_path, request.raw_query, headers, names, content_sha
    )
    credential_scope = scope("20240524", "us-east-1", "s3")
    signature = sign(
        signing_key(SECRET, "20240524", "us-east-1", "s3"),
        string_to_sign("20240524T123045Z", credential_scope, creq),
    )
    authorization = (
        f"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/{credential_scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return replace(request, headers=(*headers, ("Authorization", authorization)))
