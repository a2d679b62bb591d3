"""Legacy (Signature Version 2) presigned URLs: ``?AWSAccessKeyId=&Expires=&Signature=``.

boto3's ``generate_presigned_url`` and aws-cli v1's ``s3 presign`` still produce these by
default, and AWS S3 still accepts them, so the gateway verifies them too. Only the query
form is accepted; SigV2 ``Authorization: AWS ...`` headers are refused by ``parse_auth``.

String to sign (AWS "Signing and authenticating REST requests", query string variant)::

    HTTP-Verb \\n Content-MD5 \\n Content-Type \\n Expires \\n
    CanonicalizedAmzHeaders CanonicalizedResource

signed with HMAC-SHA1 and base64-encoded.

Rules beyond the signature (the gateway's, documented in ``docs/security.md``):

* ``Expires`` is an absolute time (seconds since the epoch) that must be at most
  :data:`sigv4.auth.MAX_PRESIGN_EXPIRES` (seven days, as for SigV4) plus the allowed clock
  skew ahead of the server clock; anything else, including values that are not plain
  decimal numbers, is ``AccessDenied`` (as S3 answers a malformed SigV2 ``Expires``).
* The canonical resource lists the subresources by their *percent-decoded* names, the
  names routing reads (:func:`sigv4.request.decode_query`): ``?%61cl`` is signed as the
  ``acl`` it is routed as, so a URL signed without it does not verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sigv4.auth import MAX_PRESIGN_EXPIRES
from sigv4.errors import (
    AccessDenied,
    AuthorizationQueryParametersError,
    InvalidURI,
    SignatureDoesNotMatch,
    only_one_auth_mechanism,
)
from sigv4.request import (
    SignedRequest,
    decode_query,
    decode_query_component,
    get_header,
    query_pairs,
)

__all__ = [
    "PresignedV2",
    "canonical_resource_v2",
    "parse_presigned_v2",
    "string_to_sign_v2",
    "verify_presigned_v2",
]

_EXPIRES = re.compile(r"-?[0-9]{1,20}")
_LATEST_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z: the last one datetime can show

# Query parameters that are part of the canonical resource: botocore's list, plus the
# subresources of operations botocore only ever signs with SigV4 (attributes, encryption,
# intelligent-tiering, legal-hold, ownershipControls, policyStatus, publicAccessBlock,
# retention). Those must be signed too, or a SigV2 URL for another operation could be
# routed to them; no SigV2 client sends them.
SUBRESOURCES = frozenset(
    {
        "attributes",
        "encryption",
        "intelligent-tiering",
        "legal-hold",
        "ownershipControls",
        "policyStatus",
        "publicAccessBlock",
        "retention",
        "accelerate",
        "acl",
        "analytics",
        "cors",
        "defaultObjectAcl",
        "delete",
        "inventory",
        "lifecycle",
        "location",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "partNumber",
        "policy",
        "replication",
        "requestPayment",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
        "restore",
        "select",
        "select-type",
        "storageClass",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
    }
)


@dataclass(frozen=True, slots=True)
class PresignedV2:
    access_key_id: str
    signature: str
    expires: int
    security_token: str | None = None
    """``x-amz-security-token`` (parameter or header): a session credential's token; an
    empty one is None, no token."""


def parse_presigned_v2(request: SignedRequest) -> PresignedV2 | None:
    """The SigV2 presign claims of ``request``, or None when it has none."""
    if "AWSAccessKeyId" not in request.raw_query:
        return None
    params = decode_query(request.raw_query)
    if "AWSAccessKeyId" not in params or "Signature" not in params:
        return None
    if get_header(request.headers, "authorization") is not None:
        raise only_one_auth_mechanism()
    text = params.get("Expires")
    if text is None:
        raise AuthorizationQueryParametersError(
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId "
            "parameters"
        )
    if not _EXPIRES.fullmatch(text):
        raise AccessDenied(f"Invalid date (should be seconds since epoch): {text[:40]}")
    return PresignedV2(
        params["AWSAccessKeyId"],
        params["Signature"],
        int(text),
        params.get("x-amz-security-token")
        or get_header(request.headers, "x-amz-security-token")
        or None,
    )


def _decoded(raw: str) -> str:
    """A query name or value as routing reads it (``+`` is a space)."""
    try:
        return decode_query_component(raw)
    except UnicodeDecodeError as exc:
        raise InvalidURI("Couldn't parse the specified URI.") from exc


def canonical_resource_v2(raw_path: str, raw_query: str) -> str:
    """The path as sent plus the subresources in the query, sorted by name, names and
    values percent-decoded (names as routing reads them).

    ``name`` and ``name=`` differ (as botocore signs them).
    """
    selected: list[tuple[str, str]] = []
    for piece in raw_query.split("&"):
        raw_name, eq, value = piece.partition("=")
        name = _decoded(raw_name)
        if name in SUBRESOURCES:
            selected.append((name, f"{name}={_decoded(value)}" if eq else name))
    selected.sort(key=lambda item: item[0])
    if not selected:
        return raw_path
    return raw_path + "?" + "&".join(rendered for _, rendered in selected)


def string_to_sign_v2(
    request: SignedRequest, expires: int, *, bucket_path: str = "", slash: bool = False
) -> str:
    """The SigV2 query-auth string to sign. ``bucket_path`` prefixes the path for
    virtual-hosted requests (``/bucket``); ``slash`` ends the path with ``/`` (a
    path-style bucket's resource as botocore signs it: :func:`verify_presigned_v2`)."""
    query = {_decoded(n).lower(): _decoded(v) for n, v in query_pairs(request.raw_query)}
    content_md5 = get_header(request.headers, "content-md5") or query.get("content-md5", "")
    content_type = get_header(request.headers, "content-type") or query.get("content-type", "")
    amz: dict[str, list[str]] = {}
    for name, value in request.headers:
        lower = name.lower()
        if lower.startswith("x-amz-"):
            amz.setdefault(lower, []).append(value.strip())
    for name, value in query.items():
        if name.startswith("x-amz-") and name not in amz:
            amz[name] = [value.strip()]
    lines = [request.method.upper(), content_md5.strip(), content_type.strip(), str(expires)]
    lines += [f"{name}:{','.join(values)}" for name, values in sorted(amz.items())]
    path = bucket_path + request.raw_path + ("/" if slash else "")
    lines.append(canonical_resource_v2(path, request.raw_query))
    return "\n".join(lines)


def _signed(text: str, secret: str, signature: str) -> bool:
    digest = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()
    expected = base64.b64encode(digest).decode("ascii")
    return hmac.compare_digest(expected.encode(), signature.encode())


def _names_a_bucket(path: str) -> bool:
    """A path-style bucket's path, ``/bucket`` (no key, no final ``/``). botocore signs
    a bucket operation's resource as ``/bucket/`` (the virtual-hosted form's bucket plus
    its ``/`` path) while it sends the path-style URL as ``/bucket``: both name the one
    bucket, so a signature over either verifies."""
    return path.count("/") == 1 and len(path) > 1


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def verify_presigned_v2(
    request: SignedRequest,
    auth: PresignedV2,
    secret: str,
    now: datetime,
    *,
    bucket_path: str = "",
    max_skew: timedelta = timedelta(minutes=15),
) -> None:
    """Raise ``AccessDenied`` for an expired URL or one valid for longer than seven days
    (plus ``max_skew``, the signer's clock may be ahead), ``SignatureDoesNotMatch`` for a
    wrong signature."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    current = now.timestamp()
    if current > auth.expires:
        extra = {"ServerTime": _iso(current)}
        if auth.expires >= 0:
            extra = {"Expires": _iso(min(auth.expires, _LATEST_TIMESTAMP)), **extra}
        raise AccessDenied("Request has expired", extra=extra)
    if auth.expires - current > MAX_PRESIGN_EXPIRES + max_skew.total_seconds():
        raise AccessDenied(
            f"Expires must be at most {MAX_PRESIGN_EXPIRES} seconds (seven days) from now",
            extra={"ServerTime": _iso(current)},
        )
    text = string_to_sign_v2(request, auth.expires, bucket_path=bucket_path)
    if not _signed(text, secret, auth.signature) and not (
        _names_a_bucket(bucket_path + request.raw_path)
        and _signed(
            string_to_sign_v2(request, auth.expires, bucket_path=bucket_path, slash=True),
            secret,
            auth.signature,
        )
    ):
        raise SignatureDoesNotMatch(
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            extra={"AWSAccessKeyId": auth.access_key_id, "StringToSign": text},
            string_to_sign=text,
        )
