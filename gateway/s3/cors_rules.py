"""CORS rules as S3 models them: parsing and validating a ``CORSConfiguration``, storing
it, rendering it back, and finding the rule that answers a browser's request. Pure: no
I/O, no aiohttp (``gateway/s3/cors.py`` wires it to requests).

A configuration is up to 100 ``CORSRule`` elements, each with ``AllowedOrigin`` (one
``*`` wildcard at most) and ``AllowedMethod`` (``GET``, ``PUT``, ``HEAD``, ``POST``,
``DELETE``; at least one of each), optional ``AllowedHeader`` (one wildcard at most,
matched case-insensitively), ``ExposeHeader`` (no wildcard), ``MaxAgeSeconds`` and
``ID`` (up to 255 characters). Validation errors are AWS's: ``MalformedXML`` for a
document that does not fit the schema, ``InvalidRequest`` with AWS's message for a value
the schema allows but S3 refuses. The first rule matching origin, method and (for a
preflight) every requested header answers; later rules are not consulted.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from lxml import etree

from gateway.s3.errors import S3Error
from gateway.s3.xml import XmlWriter, children, leaf_text, local, parse_xml

__all__ = [
    "CORS_METHODS",
    "LARGE_DOCUMENT_CHARS",
    "MAX_CONFIGURATION_BYTES",
    "MAX_HEADER_COMPARISONS",
    "MAX_REQUESTED_HEADERS",
    "MAX_RULES",
    "VARY",
    "CorsRule",
    "find_rule",
    "parse_cors_xml",
    "render_cors_xml",
    "request_headers",
    "response_headers",
    "rules_from_json",
    "rules_to_json",
]

MAX_RULES = 100
MAX_CONFIGURATION_BYTES = 64 * 1024
"""AWS: a CORS configuration is at most 64 KB."""
MAX_ID = 255
CORS_METHODS = ("GET", "PUT", "HEAD", "POST", "DELETE")
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
_EXPOSE_HEADER = re.compile(r"[!#$%&'+.^_`|~0-9A-Za-z-]+")
"""A header name (RFC 9110 token) without the wildcard S3 refuses: ``x-amz-meta-my_key``
is a name S3 stores and exposes."""
_MAX_AGE = re.compile(r"[0-9]{1,10}")
_RULE_CHILDREN = frozenset(
    {"ID", "AllowedOrigin", "AllowedMethod", "AllowedHeader", "ExposeHeader", "MaxAgeSeconds"}
)


@dataclass(frozen=True, slots=True)
class CorsRule:
    origins: tuple[str, ...]
    methods: tuple[str, ...]
    headers: tuple[str, ...] = ()
    """Allowed request headers as configured (``GetBucketCors`` returns them as they were
    put, as S3 does); matched case-insensitively (:attr:`exact_headers`,
    :attr:`wild_headers`)."""
    expose: tuple[str, ...] = ()
    max_age: int | None = None
    id: str | None = None
    actual: Mapping[str, str] = field(init=False, repr=False, compare=False, hash=False)
    """The headers of an actual (not preflight) response this rule matches, but for an
    echoed origin: built once per rule, as rules are parsed once per document."""
    exact_headers: frozenset[str] = field(init=False, repr=False, compare=False, hash=False)
    """:attr:`headers` without a wildcard, lower-cased as the requested names are: a name
    among them is allowed by one lookup."""
    wild_headers: tuple[tuple[str, str], ...] = field(
        init=False, repr=False, compare=False, hash=False
    )
    """The wildcard patterns as (head, tail), ``()`` when ``*`` alone is one: then every
    name is allowed (:attr:`any_header`)."""
    any_header: bool = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "actual", MappingProxyType(_actual_headers(self)))
        patterns = tuple(h.lower() for h in self.headers)
        object.__setattr__(self, "exact_headers", frozenset(p for p in patterns if "*" not in p))
        object.__setattr__(self, "any_header", "*" in patterns)
        wild = () if "*" in patterns else tuple(_split_wildcard(p) for p in patterns if "*" in p)
        object.__setattr__(self, "wild_headers", wild)

    def allows_origin(self, origin: str) -> bool:
        return any(_wildcard_match(pattern, origin) for pattern in self.origins)

    def header_comparisons(self, requested: Sequence[str]) -> int:
        """The wildcard comparisons :meth:`allows_headers` makes for ``requested`` at
        most: each name no exact pattern allows, times the wildcard patterns."""
        if self.any_header or not self.wild_headers:
            return 0
        exact = self.exact_headers
        return len(self.wild_headers) * sum(1 for name in requested if name not in exact)

    def allows_headers(self, requested: Sequence[str]) -> bool:
        if self.any_header:
            return True
        exact, wild = self.exact_headers, self.wild_headers
        return all(
            name in exact
            or any(
                len(name) >= len(head) + len(tail) and name.startswith(head) and name.endswith(tail)
                for head, tail in wild
            )
            for name in requested
        )

    @property
    def any_origin(self) -> bool:
        return "*" in self.origins


def _split_wildcard(pattern: str) -> tuple[str, str]:
    head, _, tail = pattern.partition("*")
    return head, tail


def _wildcard_match(pattern: str, value: str) -> bool:
    """S3's one-wildcard match: ``http://*.example.com`` or ``*``."""
    star = pattern.find("*")
    if star < 0:
        return pattern == value
    head, tail = pattern[:star], pattern[star + 1 :]
    return len(value) >= len(head) + len(tail) and value.startswith(head) and value.endswith(tail)


# --- parsing and validation -------------------------------------------------------------


def _one_wildcard(kind: str, value: str) -> str:
    if not value:
        raise S3Error("MalformedXML")
    if value.count("*") > 1:
        raise S3Error("InvalidRequest", f'{kind} "{value}" can not have more than one wildcard.')
    return value


def _method(value: str) -> str:
    if value not in CORS_METHODS:
        raise S3Error(
            "InvalidRequest",
            f"Found unsupported HTTP method in CORS config. Unsupported method is {value}",
        )
    return value


def _expose(value: str) -> str:
    if "*" in value:
        raise S3Error(
            "InvalidRequest",
            f'ExposeHeader "{value}" contains wildcard. We currently do not support wildcard '
            "for ExposeHeader.",
        )
    if _EXPOSE_HEADER.fullmatch(value) is None:
        raise S3Error("InvalidRequest", f"ExposeHeader {value} contains invalid character.")
    return value


def _texts(rule: etree._Element, name: str) -> list[str]:
    return [leaf_text(c).strip() for c in children(rule, name)]


def _parse_rule(element: etree._Element) -> CorsRule:
    for child in element:
        if isinstance(child.tag, str) and local(child.tag) not in _RULE_CHILDREN:
            raise S3Error("MalformedXML")
    origins = _texts(element, "AllowedOrigin")
    methods = _texts(element, "AllowedMethod")
    if not origins or not methods:
        raise S3Error(
            "MalformedXML", "Each CORSRule must identify at least one origin and one method."
        )
    ids = _texts(element, "ID")
    ages = _texts(element, "MaxAgeSeconds")
    if len(ids) > 1 or len(ages) > 1:
        raise S3Error("MalformedXML")
    rule_id = ids[0] if ids and ids[0] else None
    if rule_id is not None and len(rule_id) > MAX_ID:
        raise S3Error("InvalidRequest", f"The ID of a CORSRule is limited to {MAX_ID} characters.")
    max_age = None
    if ages and ages[0]:
        if _MAX_AGE.fullmatch(ages[0]) is None or int(ages[0]) > 2**31 - 1:
            raise S3Error("MalformedXML", f'MaxAgeSeconds "{ages[0]}" is not a valid value.')
        max_age = int(ages[0])
    return CorsRule(
        origins=tuple(_one_wildcard("AllowedOrigin", o) for o in origins),
        methods=tuple(dict.fromkeys(_method(m) for m in methods)),
        headers=tuple(_one_wildcard("AllowedHeader", h) for h in _texts(element, "AllowedHeader")),
        expose=tuple(_expose(e) for e in _texts(element, "ExposeHeader")),
        max_age=max_age,
        id=rule_id,
    )


def parse_cors_xml(body: bytes) -> tuple[CorsRule, ...]:
    """A ``PutBucketCors`` document as rules; S3's error for anything it refuses."""
    root = parse_xml(body)
    if local(root.tag) != "CORSConfiguration":
        raise S3Error("MalformedXML")
    elements = []
    for child in root:
        if not isinstance(child.tag, str):
            continue
        if local(child.tag) != "CORSRule":
            raise S3Error("MalformedXML")
        elements.append(child)
    if not elements:
        raise S3Error("MalformedXML")
    if len(elements) > MAX_RULES:
        raise S3Error(
            "InvalidRequest",
            f"The number of CORS rules should not exceed allowed limit of {MAX_RULES} rules.",
        )
    return tuple(_parse_rule(e) for e in elements)


def render_cors_xml(rules: Iterable[CorsRule]) -> bytes:
    """The ``GetBucketCors`` document."""
    doc = XmlWriter("CORSConfiguration")
    for rule in rules:
        doc.open("CORSRule")
        doc.el("ID", rule.id)
        for header in rule.headers:
            doc.el("AllowedHeader", header)
        for method in rule.methods:
            doc.el("AllowedMethod", method)
        for origin in rule.origins:
            doc.el("AllowedOrigin", origin)
        for header in rule.expose:
            doc.el("ExposeHeader", header)
        doc.el("MaxAgeSeconds", rule.max_age)
        doc.close("CORSRule")
    doc.close("CORSConfiguration")
    return bytes(doc)


# --- storage (the bucket-settings document) ---------------------------------------------


def rules_to_json(rules: Iterable[CorsRule]) -> str:
    return json.dumps(
        [
            {
                "origins": list(r.origins),
                "methods": list(r.methods),
                "headers": list(r.headers),
                "expose": list(r.expose),
                "max_age": r.max_age,
                "id": r.id,
            }
            for r in rules
        ],
        separators=(",", ":"),
    )


LARGE_DOCUMENT_CHARS = 8 * 1024
"""Stored documents up to this long share 1,024 cache entries (8 MiB of text at most);
longer ones (up to 64 KiB) share 16: distinct large documents, each kept with its
parsed rules, could otherwise hold a couple of hundred MiB per worker."""


def rules_from_json(text: str) -> tuple[CorsRule, ...]:
    """The stored document as rules; parsed once per distinct document while it is among
    the last ones read (``LARGE_DOCUMENT_CHARS``)."""
    if len(text) <= LARGE_DOCUMENT_CHARS:
        return _small_rules(text)
    return _large_rules(text)


@functools.lru_cache(maxsize=1024)
def _small_rules(text: str) -> tuple[CorsRule, ...]:
    return _rules(text)


@functools.lru_cache(maxsize=16)
def _large_rules(text: str) -> tuple[CorsRule, ...]:
    return _rules(text)


def _rules(text: str) -> tuple[CorsRule, ...]:
    return tuple(
        CorsRule(
            origins=tuple(r["origins"]),
            methods=tuple(r["methods"]),
            headers=tuple(r["headers"]),
            expose=tuple(r["expose"]),
            max_age=r["max_age"],
            id=r["id"],
        )
        for r in json.loads(text)
    )


# --- matching ---------------------------------------------------------------------------


MAX_REQUESTED_HEADERS = 128
"""Distinct names a preflight may ask for: the request it announces could carry no more
header fields (the listener refuses a request with more than 128)."""
MAX_HEADER_COMPARISONS = 16_384
"""Wildcard comparisons of requested names with ``AllowedHeader`` patterns one preflight
may cost. Preflights are anonymous, and a 64 KB configuration holds some 1,800 wildcard
patterns: against 1,400 requested names a preflight held the event loop for 0.4 s. Names
allowed by an exact pattern or by ``*`` cost nothing, so real configurations stay far
below it (128 names against 100 wildcard patterns are 12,800)."""


def request_headers(value: str | None) -> tuple[str, ...]:
    """``Access-Control-Request-Headers`` as distinct lower-case names in the order given,
    empty entries dropped."""
    if not value:
        return ()
    return tuple(dict.fromkeys(name for part in value.split(",") if (name := part.strip().lower())))


def find_rule(
    rules: Sequence[CorsRule], origin: str, method: str, headers: Sequence[str] = ()
) -> CorsRule | None:
    """The first rule allowing ``origin``, ``method`` and every name of ``headers``.

    None, too, for a preflight asking for more than ``MAX_REQUESTED_HEADERS`` names, or
    one whose header checks would take more than ``MAX_HEADER_COMPARISONS`` wildcard
    comparisons over the rules tried (docs/cors.md)."""
    if len(headers) > MAX_REQUESTED_HEADERS:
        return None
    budget = MAX_HEADER_COMPARISONS
    for rule in rules:
        if method not in rule.methods:
            continue
        for pattern in rule.origins:
            if pattern == origin or ("*" in pattern and _wildcard_match(pattern, origin)):
                break
        else:
            continue
        if not headers:
            return rule
        budget -= rule.header_comparisons(headers)
        if budget < 0:
            return None
        if rule.allows_headers(headers):
            return rule
    return None


def _actual_headers(rule: CorsRule) -> dict[str, str]:
    out = response_headers(rule, "", requested=())
    if not rule.any_origin:
        del out["Access-Control-Allow-Origin"]  # echoed per request
    return out


def response_headers(
    rule: CorsRule, origin: str, *, requested: Sequence[str] | None = None
) -> dict[str, str]:
    """The headers a matching rule adds: to a preflight (``requested``: the headers it
    asked for, echoed) or to an actual request. ``*`` is answered for a rule allowing any
    origin, never together with ``Access-Control-Allow-Credentials``."""
    if requested is None:  # an actual request: the origin (``*`` in ``actual`` wins)
        return {"Access-Control-Allow-Origin": origin, **rule.actual}
    out = {"Vary": VARY}
    if rule.any_origin:
        out["Access-Control-Allow-Origin"] = "*"
    else:
        out["Access-Control-Allow-Origin"] = origin
        out["Access-Control-Allow-Credentials"] = "true"
    out["Access-Control-Allow-Methods"] = ", ".join(rule.methods)
    if requested:
        out["Access-Control-Allow-Headers"] = ", ".join(requested)
    if rule.expose:
        out["Access-Control-Expose-Headers"] = ", ".join(rule.expose)
    if rule.max_age is not None:
        out["Access-Control-Max-Age"] = str(rule.max_age)
    return out
