"""Task 1 of SigV4: the canonical request, as S3 computes it.

S3 differs from the generic algorithm in one way: the path is not normalised (no
dot-segment removal, ``//`` kept). Each path segment and each query name and value is
percent-decoded once and re-encoded with AWS's rules, so a client that encoded more or
less than strictly needed (``~`` as ``%7E``, lower-case hex) still matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, unquote_to_bytes

from sigv4.request import Headers, query_pairs

__all__ = [
    "canonical_headers",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
    "trim_header_value",
    "uri_encode",
]

# Unreserved characters are kept as is, everything else becomes %XX (upper-case hex).
_CANONICAL_SEGMENT = re.compile(r"[A-Za-z0-9\-_.~]*")
_CANONICAL_PATH = re.compile(r"[A-Za-z0-9\-_.~/]*")


def uri_encode(raw: str | bytes) -> str:
    """AWS URI encoding of already-decoded text: unreserved kept, ``/`` encoded."""
    return quote(raw, safe="-_.~")


def _recode(component: str) -> str:
    """Percent-decode ``component`` once, then URI-encode it per AWS."""
    if _CANONICAL_SEGMENT.fullmatch(component):
        return component
    return quote(unquote_to_bytes(component), safe="-_.~")


def canonical_uri(raw_path: str) -> str:
    """The canonical URI of a raw S3 path: each segment decoded then encoded once."""
    if not raw_path:
        return "/"
    if _CANONICAL_PATH.fullmatch(raw_path):
        return raw_path
    return "/".join(_recode(segment) for segment in raw_path.split("/"))


def _recode_query(component: str) -> str:
    """A query name or value: a raw ``+`` is a space (``%20``), as S3 form-decodes the
    query (object_store and Go's ``url.Values`` send spaces so); ``%2B`` is a plus."""
    return _recode(component.replace("+", "%20"))


def canonical_query(raw_query: str, *, exclude: str | None = None) -> str:
    """The canonical query string; ``exclude`` drops one parameter (X-Amz-Signature).

    A raw ``+`` is a space (``%20``), a plus is ``%2B`` (as botocore sends it): in the
    query, unlike the path, S3 reads ``+`` as a space.
    """
    if not raw_query:
        return ""
    encoded: list[tuple[str, str]] = []
    for name, value in query_pairs(raw_query):
        enc_name = _recode_query(name)
        if exclude is not None and enc_name == exclude:
            continue
        encoded.append((enc_name, _recode_query(value)))
    encoded.sort()
    return "&".join(f"{name}={value}" for name, value in encoded)


def trim_header_value(value: str) -> str:
    """Trimall: strip, and fold runs of whitespace to one space (as botocore does)."""
    return " ".join(value.split())


def canonical_headers(
    headers: Headers, signed_headers: Iterable[str], unique: Mapping[str, str] | None = None
) -> str:
    """``name:value\n`` for each signed header; repeated headers joined with ``,``.

    A signed header missing from the request contributes ``name:`` (the signature then
    fails to match rather than the request being reinterpreted). ``unique``: the
    request's headers by lower-cased name when no name repeats (``header_map`` of them,
    as many entries as ``headers``), read instead of lower-casing every name again.
    """
    names = tuple(signed_headers)
    if unique is not None:
        lines = ""
        for name in names:  # a loop: a comprehension is a frame on Python 3.11
            value = unique.get(name)
            lines += f"{name}:{'' if value is None else ' '.join(value.split())}\n"
        return lines
    wanted = frozenset(names)
    by_name: dict[str, str] = {}
    for name, value in headers:
        lower = name.lower()
        if lower in wanted:
            trimmed = " ".join(value.split())
            previous = by_name.get(lower)
            by_name[lower] = trimmed if previous is None else f"{previous},{trimmed}"
    lines = ""
    for name in names:  # a loop: a comprehension is a frame on Python 3.11
        lines += f"{name}:{by_name.get(name, '')}\n"
    return lines


def canonical_request(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Headers,
    signed_headers: tuple[str, ...],
    payload_hash: str,
    *,
    exclude_query: str | None = None,
    unique: Mapping[str, str] | None = None,
) -> str:
    """The full canonical request (Task 1); ``unique`` as :func:`canonical_headers`."""
    return "\n".join(
        (
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(raw_query, exclude=exclude_query),
            canonical_headers(headers, signed_headers, unique),
            ";".join(signed_headers),
            payload_hash,
        )
    )
