"""What a SigV4 signature must cover: every ``x-amz-*`` header the request carries.

AWS's rule (S3 API reference, "Authenticating Requests: Using the Authorization Header"
and "... Using Query Parameters"): the signed headers must include ``host`` and *any
``x-amz-*`` header present in the request*; otherwise S3 answers ``403 AccessDenied``
"There were headers present in the request which were not signed" with the names in a
``HeadersNotSigned`` element. ``x-amz-*`` headers decide what a request does
(``x-amz-copy-source`` turns a PUT into a copy, ``x-amz-acl``/``-grant-*``, ``-meta-*``,
``-tagging``, ``-server-side-encryption*``, ``-storage-class``, ``-checksum-*``, the
aws-chunked framing headers, ...), so a header nobody signed must never be acted on: a
presigned URL or a captured request would otherwise become an operation its signer never
asked for.

The one exception is ``x-amz-content-sha256``: under header auth its value is the last
line of the canonical request (signed whatever ``SignedHeaders`` says), and a presigned
URL signs ``UNSIGNED-PAYLOAD`` (any body), so the header can only narrow what the body
may be. Every SDK (botocore, the JS SDK v3, the Go and Java SDKs) signs every ``x-amz-*``
header it sends; their presigners either sign such headers or move them into the query
string, which the signature covers too.

SigV2 presigned URLs need no such check: their string to sign already lists every
``x-amz-*`` header of the request (``CanonicalizedAmzHeaders``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sigv4.errors import AccessDenied
from sigv4.memo import remember
from sigv4.request import Headers

__all__ = ["HEADERS_NOT_SIGNED", "UNSIGNED_ALLOWED", "check_signed_headers", "unsigned_amz_headers"]

UNSIGNED_ALLOWED = frozenset({"x-amz-content-sha256"})
"""``x-amz-*`` headers that may travel outside ``SignedHeaders`` (see the module doc)."""

HEADERS_NOT_SIGNED = "There were headers present in the request which were not signed"


def unsigned_amz_headers(
    headers: Headers, signed_headers: Iterable[str], unique: Mapping[str, str] | None = None
) -> list[str]:
    """The ``x-amz-*`` header names of ``headers`` (lower-case, sorted, once each) that
    are neither in ``signed_headers`` nor allowed unsigned. ``unique``: the request's
    headers by lower-cased name when no name repeats (as
    :func:`sigv4.canonical.canonical_headers` takes it): its names are read as they are."""
    amz: list[str] = []
    if unique is not None:
        for name in unique:
            if name.startswith("x-amz-"):
                amz.append(name)
    else:
        for name, _ in headers:
            if name[:6].lower() == "x-amz-":
                amz.append(name.lower())
    signed: frozenset[str] | None = None
    found: set[str] | None = None
    for lower in amz:
        if lower in UNSIGNED_ALLOWED:
            continue
        if signed is None:
            signed = _lowered(signed_headers)
        if lower not in signed:
            if found is None:
                found = set()
            found.add(lower)
    return sorted(found) if found else []


_lowered_lists: dict[tuple[str, ...], frozenset[str]] = {}
_LOWERED_LIMIT = 256
"""Distinct ``SignedHeaders`` lists remembered lower-cased (a client sends the same few
on every request; ``sigv4.memo``'s bound)."""
_LOWERED_CHARS = 1024
"""The longest list remembered, its names' characters and one a name (an SDK's are a few
hundred): a longer one (a presigned URL may sign thousands of names) is lower-cased each
time, so the memo holds a few MB at most (not up to ~1 MB a list)."""


def _lowered(signed_headers: Iterable[str]) -> frozenset[str]:
    """The signed header names, lower-cased; remembered for a tuple (what
    ``sigv4.auth.parse_auth`` gives, one per distinct list), so a request whose signed
    ``x-amz-*`` header is checked pays one look-up instead of lower-casing every name."""
    if type(signed_headers) is tuple:
        known = _lowered_lists.get(signed_headers)
        if known is not None:
            return known
    names: set[str] = set()
    for name in signed_headers:  # a loop: a comprehension is a frame on 3.11
        names.add(name.lower())
    lowered = frozenset(names)
    if (
        type(signed_headers) is tuple
        and len(signed_headers) + sum(map(len, signed_headers)) <= _LOWERED_CHARS
    ):
        remember(_lowered_lists, signed_headers, lowered, _LOWERED_LIMIT)
    return lowered


def check_signed_headers(
    headers: Headers, signed_headers: Iterable[str], unique: Mapping[str, str] | None = None
) -> None:
    """Raise ``AccessDenied`` (with ``HeadersNotSigned``) for unsigned ``x-amz-*``
    headers."""
    missing = unsigned_amz_headers(headers, signed_headers, unique)
    if missing:
        raise AccessDenied(HEADERS_NOT_SIGNED, extra={"HeadersNotSigned": ", ".join(missing)})
