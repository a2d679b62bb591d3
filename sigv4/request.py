"""The request as the verifier sees it: raw wire values, nothing decoded yet."""

from __future__ import annotations

import re
from collections.abc import Container
from urllib.parse import unquote_plus

from sigv4.errors import InvalidArgument, InvalidURI
from sigv4.records import record

__all__ = [
    "SignedRequest",
    "bad_escape",
    "decode_query",
    "decode_query_component",
    "get_header",
    "header_map",
    "header_values",
    "query_pairs",
    "repeated_header",
]

Headers = tuple[tuple[str, str], ...]


@record
class SignedRequest:
    """An HTTP request exactly as received.

    ``raw_path`` keeps its percent-encoding and has no query; ``raw_query`` is the query
    string without ``?`` (``""`` if none); ``headers`` are ``(name, value)`` pairs in any
    case, repeats allowed, in the order received.
    """

    method: str
    raw_path: str
    raw_query: str
    headers: Headers


def header_values(headers: Headers, name: str) -> list[str]:
    """Every value of header ``name`` (case-insensitive), in order."""
    lname = name.lower()
    return [v for k, v in headers if k.lower() == lname]


def repeated_header(headers: Headers, names: Container[str]) -> str | None:
    """The first header of ``names`` (lower-case) that ``headers`` carry twice, spelled
    as its second copy is; None when none is. Every copy counts, a blank one too (the
    gateway's Bearer / ``X-API-Key`` headers, whose blank copy is no credential, are
    checked by ``gateway.auth.credentials.repeated``). The one check of a repeated SigV4
    header; a caller that holds ``header_map(headers)`` calls it only when the map came
    out shorter (rare)."""
    seen: set[str] = set()
    for name, _ in headers:
        lower = name.lower()
        if lower in names:
            if lower in seen:
                return name
            seen.add(lower)
    return None


def get_header(headers: Headers, name: str) -> str | None:
    """The first value of header ``name`` (case-insensitive), or None."""
    lname = name.lower()
    for k, v in headers:
        if k.lower() == lname:
            return v
    return None


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """Split a raw query into ``(name, value)`` pairs, still percent-encoded.

    Split on ``&`` then on the first ``=``; empty pieces (``a&&b``) are dropped.
    """
    if not raw_query:
        return []
    pairs: list[tuple[str, str]] = []
    for piece in raw_query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        pairs.append((name, value))
    return pairs


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def bad_escape(raw: str) -> bool:
    """Whether ``raw`` (a path or query as received) holds a ``%`` that does not start a
    percent escape of two hex digits (``a%zz``, ``a%2``, a trailing ``%``). S3 refuses
    such a request target outright (400); decoding it leniently would leave the ``%`` as
    it is, so ``/b/a%zz`` would name the key ``a%zz``, as ``/b/a%25zz`` does. Cost: one
    ``in`` test when there is no ``%``."""
    return "%" in raw and _BAD_ESCAPE.search(raw) is not None


def decode_query_component(raw: str) -> str:
    """One query name or value, form-decoded as S3 reads its query: a raw ``+`` is a
    space, ``%2B`` a plus (the canonical query encodes them ``%20`` and ``%2B``).
    Invalid UTF-8 raises ``UnicodeDecodeError``."""
    return unquote_plus(raw, errors="strict")


def decode_query(raw_query: str) -> dict[str, str]:
    """Names and values of a raw query, form-decoded as S3 reads a query (a raw ``+`` is a
    space, ``%2B`` a plus, as in the canonical query).

    The one way the query is read, by routing and by every signature check, so what was
    signed is what is acted on. A ``%`` that starts no escape (:func:`bad_escape`) and
    invalid UTF-8 after decoding are ``InvalidURI``; a name
    given twice (``versionId=a&versionId=b``, or ``versionId`` beside ``version%49d``) is
    ``InvalidArgument``: the canonical query signs both values, and which one a request
    stands for must not depend on who reads it. Cost: one length comparison.
    """
    if not raw_query:  # most requests: nothing to split or decode
        return {}
    if bad_escape(raw_query):
        raise InvalidURI("Couldn't parse the specified URI.")
    params: dict[str, str] = {}
    pairs = query_pairs(raw_query)
    try:
        for name, value in pairs:
            params[decode_query_component(name)] = decode_query_component(value)
    except UnicodeDecodeError as exc:
        raise InvalidURI("Couldn't parse the specified URI.") from exc
    if len(params) != len(pairs):
        raise _repeated_parameter(pairs)
    return params


def _repeated_parameter(pairs: list[tuple[str, str]]) -> InvalidArgument:
    """The refusal of a query (already decoded once) that names a parameter twice."""
    seen: set[str] = set()
    for raw_name, _ in pairs:
        name = decode_query_component(raw_name)
        if name in seen:
            return InvalidArgument(
                f"The query parameter {name!r} may be given only once",
                extra={"ArgumentName": name},
            )
        seen.add(name)
    raise AssertionError("decode_query counted a repeated name that is not there")


def header_map(headers: Headers) -> dict[str, str]:
    """Lower-cased header names to their first value: the one header map of a request."""
    values: dict[str, str] = {}
    for name, value in headers:
        values.setdefault(name.lower(), value)
    return values
