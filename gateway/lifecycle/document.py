"""The ``LifecycleConfiguration`` document: parsed and checked as S3 checks it, and
written back as it was sent (rule-level ``Prefix`` stays one; generated IDs included).

Errors (AWS's, as recorded in docs/lifecycle.md): schema faults are ``MalformedXML``;
``InvalidArgument`` for a non-positive day count, ``NewerNoncurrentVersions`` above 100,
a ``Date`` not at midnight UTC, an ID above 255 characters or repeated (a count above
2**31 - 1, S3's integer type, is ``MalformedXML``); ``InvalidRequest`` for a rule without
action, no rules or more than 1,000, mixed rule-level prefixes and filters, duplicate tag
keys in an ``And``, size bounds out of range, ``ExpiredObjectDeleteMarker`` or
``AbortIncompleteMultipartUpload`` beside a tag or size filter; transitions to other
storage classes are ``NotImplemented``.
"""

from __future__ import annotations

import base64
import functools
import uuid
from datetime import UTC, datetime

from lxml import etree

from gateway.lifecycle.rules import LifecycleConfiguration, LifecycleFilter, Rule
from gateway.s3.errors import S3Error
from gateway.s3.numbers import xml_integer
from gateway.s3.xml import XmlWriter, bool_element, children, local, parse_xml

__all__ = [
    "LARGE_DOCUMENT_CHARS",
    "cached_lifecycle",
    "lifecycle_document",
    "parse_lifecycle",
]

MAX_RULES = 1000
MAX_ID = 255
MAX_SIZE = 1_099_511_627_776_000  # what S3 names as the bound of the size filters
MAX_INTEGER = 2**31 - 1
MAX_NEWER_NONCURRENT = 100  # "You can specify up to 100 noncurrent versions to retain"
_RULE_CHILDREN = frozenset(
    {
        "ID",
        "Status",
        "Filter",
        "Prefix",
        "Expiration",
        "Transition",
        "NoncurrentVersionTransition",
        "NoncurrentVersionExpiration",
        "AbortIncompleteMultipartUpload",
    }
)
_PREDICATES = ("Prefix", "Tag", "ObjectSizeGreaterThan", "ObjectSizeLessThan", "And")
AND_WITHOUT_PREFIX = "And-without-Prefix"
"""``Rule.form`` of an ``And`` sent without ``Prefix``: it is given back without one."""


def _malformed() -> S3Error:
    return S3Error("MalformedXML")


def _elements(element: etree._Element) -> list[etree._Element]:
    return [c for c in element if isinstance(c.tag, str)]


def _one(element: etree._Element, name: str) -> etree._Element | None:
    found = children(element, name)
    if len(found) > 1:
        raise _malformed()
    return found[0] if found else None


def _text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    if _elements(element):
        raise _malformed()
    return element.text or ""


def _integer(element: etree._Element | None) -> int | None:
    """An integer element as S3 reads it (``xml_integer``: XML whitespace around an
    optional sign and ASCII digits); None when absent, else MalformedXML."""
    text = _text(element)
    if text is None:
        return None
    value = xml_integer(text)
    if value is None:
        raise _malformed()
    return value


def _positive(element: etree._Element | None, message: str) -> int | None:
    value = _integer(element)
    if value is not None and value <= 0:
        raise S3Error("InvalidArgument", message)
    return value


def _size(element: etree._Element | None, name: str, low: int) -> int | None:
    value = _integer(element)
    if value is not None and not low <= value <= MAX_SIZE:
        raise S3Error("InvalidRequest", f"'{name}' should be between {low} and {MAX_SIZE}.")
    return value


def _tag(element: etree._Element) -> tuple[str, str]:
    names = [local(c.tag) for c in _elements(element)]
    if sorted(names) != ["Key", "Value"]:  # S3's Tag requires both, once each
        raise _malformed()
    key = _text(_one(element, "Key")) or ""
    if not key:
        raise _malformed()
    return key, _text(_one(element, "Value")) or ""


def _filter(element: etree._Element) -> tuple[LifecycleFilter, str]:
    """The filter and its form (``Rule.form``)."""
    predicates = _elements(element)
    if not predicates:
        return LifecycleFilter(), "empty"
    if len(predicates) > 1 or local(predicates[0].tag) not in _PREDICATES:
        raise _malformed()
    only = predicates[0]
    form = local(only.tag)
    if form == "Prefix":
        return LifecycleFilter(prefix=_text(only) or ""), form
    if form == "Tag":
        return LifecycleFilter(tags=(_tag(only),)), form
    if form == "ObjectSizeGreaterThan":
        return LifecycleFilter(greater_than=_size(only, form, 0)), form
    if form == "ObjectSizeLessThan":
        return LifecycleFilter(less_than=_size(only, form, 1)), form
    found = _and(only)
    return found, form if children(only, "Prefix") else AND_WITHOUT_PREFIX


def _and(element: etree._Element) -> LifecycleFilter:
    parts = _elements(element)
    names = [local(c.tag) for c in parts]
    if any(n not in _PREDICATES[:4] for n in names) or len(parts) < 2:
        raise _malformed()
    tags = [_tag(c) for c in children(element, "Tag")]
    if len({k for k, _ in tags}) != len(tags):
        raise S3Error("InvalidRequest", "Duplicate Tag Keys are not allowed.")
    greater = _size(_one(element, "ObjectSizeGreaterThan"), "ObjectSizeGreaterThan", 0)
    less = _size(_one(element, "ObjectSizeLessThan"), "ObjectSizeLessThan", 1)
    if greater is not None and less is not None and greater >= less:
        raise S3Error(
            "InvalidRequest",
            "'ObjectSizeLessThan' has to be a value greater than 'ObjectSizeGreaterThan'.",
        )
    return LifecycleFilter(
        prefix=_text(_one(element, "Prefix")) or "",
        tags=tuple(tags),
        greater_than=greater,
        less_than=less,
    )


def _date(element: etree._Element | None) -> datetime | None:
    text = _text(element)
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.strip())
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: before the year 1 in UTC
        raise _malformed() from None
    if (when.hour, when.minute, when.second, when.microsecond) != (0, 0, 0, 0):
        raise S3Error("InvalidArgument", "'Date' must be at midnight GMT")
    return when


def _expiration(rule: etree._Element) -> tuple[int | None, datetime | None, bool | None]:
    element = _one(rule, "Expiration")
    if element is None:
        return None, None, None
    names = [local(c.tag) for c in _elements(element)]
    allowed = ("Days", "Date", "ExpiredObjectDeleteMarker")
    if not names or any(n not in allowed for n in names) or len(set(names)) != len(names):
        raise _malformed()
    if len(names) > 1:  # Days, Date and ExpiredObjectDeleteMarker exclude each other
        raise _malformed()
    days = _positive(
        _one(element, "Days"), "'Days' for Expiration action must be a positive integer"
    )
    marker = bool_element(element, "ExpiredObjectDeleteMarker")
    return days, _date(_one(element, "Date")), marker


def _noncurrent(rule: etree._Element) -> tuple[int | None, int | None]:
    element = _one(rule, "NoncurrentVersionExpiration")
    if element is None:
        return None, None
    names = [local(c.tag) for c in _elements(element)]
    if any(n not in ("NoncurrentDays", "NewerNoncurrentVersions") for n in names):
        raise _malformed()
    days = _positive(
        _one(element, "NoncurrentDays"),
        "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer",
    )
    if days is None:
        raise _malformed()
    newer = _positive(
        _one(element, "NewerNoncurrentVersions"),
        "'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be a positive "
        "integer",
    )
    return days, newer


def _abort(rule: etree._Element) -> int | None:
    element = _one(rule, "AbortIncompleteMultipartUpload")
    if element is None:
        return None
    names = [local(c.tag) for c in _elements(element)]
    if names != ["DaysAfterInitiation"]:
        raise _malformed()
    return _positive(
        _one(element, "DaysAfterInitiation"),
        "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive "
        "integer",
    )


def _rule(element: etree._Element) -> Rule:
    names = [local(c.tag) for c in _elements(element)]
    if any(n not in _RULE_CHILDREN for n in names):
        raise _malformed()
    rule_id = _text(_one(element, "ID"))
    status = _text(_one(element, "Status"))
    if status not in ("Enabled", "Disabled"):
        raise _malformed()
    filter_element, prefix = _one(element, "Filter"), _one(element, "Prefix")
    if (filter_element is None) == (prefix is None):
        raise _malformed()
    if filter_element is not None:
        found, form = _filter(filter_element)
    else:
        found, form = LifecycleFilter(prefix=_text(prefix) or ""), "legacy"
    if children(element, "Transition") or children(element, "NoncurrentVersionTransition"):
        raise S3Error("NotImplemented", "Transitions to other storage classes are not supported")
    days, date, marker = _expiration(element)
    noncurrent, newer = _noncurrent(element)
    abort = _abort(element)
    if days is None and date is None and marker is None and noncurrent is None and abort is None:
        raise S3Error("InvalidRequest", "At least one action needs to be specified in a rule")
    for action, present in (
        ("ExpiredObjectDeleteMarker", marker is not None),
        ("AbortIncompleteMultipartUpload", abort is not None),
    ):
        if present and found.needs_tags:
            raise S3Error("InvalidRequest", f"{action} cannot be specified with Tags.")
        if present and found.by_size:
            raise S3Error("InvalidRequest", f"{action} cannot be specified with Object Size.")
    if newer is not None and form == "legacy":
        raise S3Error(
            "InvalidRequest", "NewerNoncurrentVersions element can only be used in Lifecycle V2."
        )
    if rule_id is not None and len(rule_id) > MAX_ID:
        raise S3Error("InvalidArgument", "ID length should not exceed allowed limit of 255")
    return Rule(
        id=rule_id if rule_id else _new_id(),
        enabled=status == "Enabled",
        filter=found,
        form=form,
        expiration_days=days,
        expiration_date=date,
        expired_delete_marker=marker,
        noncurrent_days=noncurrent,
        newer_noncurrent=newer,
        abort_days=abort,
    )


def _new_id() -> str:
    """An ID of the form S3 gives rules sent without one: base64 of a UUID's text."""
    return base64.b64encode(str(uuid.uuid4()).encode()).decode()


def parse_lifecycle(body: bytes) -> LifecycleConfiguration:
    """A document PutBucketLifecycleConfiguration received, checked as S3 checks it."""
    config = _parse(body)
    for rule in config.rules:
        _check_bounds(rule)
    return config


def _check_bounds(rule: Rule) -> None:
    """Bounds checked on new documents only, so that one stored before they were
    checked still reads (its far dates are "never", ``rules.Clock.due``)."""
    counts = (rule.expiration_days, rule.noncurrent_days, rule.newer_noncurrent, rule.abort_days)
    if any(n is not None and n > MAX_INTEGER for n in counts):
        raise _malformed()  # S3's schema types them as 32-bit integers
    if rule.newer_noncurrent is not None and rule.newer_noncurrent > MAX_NEWER_NONCURRENT:
        raise S3Error(
            "InvalidArgument",
            f"'NewerNoncurrentVersions' must be between 1 and {MAX_NEWER_NONCURRENT}",
        )


def _parse(body: bytes) -> LifecycleConfiguration:
    root = parse_xml(body)
    if local(root.tag) != "LifecycleConfiguration":
        raise _malformed()
    elements = _elements(root)
    if any(local(e.tag) != "Rule" for e in elements):
        raise _malformed()
    if not elements:
        raise S3Error("InvalidRequest", "At least one lifecycle rule must be specified.")
    if len(elements) > MAX_RULES:
        raise S3Error(
            "InvalidRequest",
            "The number of lifecycle rules must not exceed the allowed limit of 1000 rules.",
        )
    rules = tuple(_rule(e) for e in elements)
    legacy = [r.form == "legacy" for r in rules]
    if any(legacy) and not all(legacy):
        first = legacy[0]
        raise S3Error(
            "InvalidRequest",
            "Filter element can only be used in Lifecycle V2."
            if first
            else "Base level prefix cannot be used in Lifecycle V2, prefixes are only "
            "supported in the Filter.",
        )
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise S3Error(
            "InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule"
        )
    return LifecycleConfiguration(rules)


LARGE_DOCUMENT_CHARS = 16 * 1024
"""Stored documents up to this long share 256 cache entries (4 MiB of text at most, with
their parsed rules about twice that); longer ones (up to 256 KiB, about 530 KiB with
their rules) share 8, so that distinct large configurations cannot hold 135 MiB."""


def cached_lifecycle(text: str) -> LifecycleConfiguration:
    """A stored document (one this module wrote), parsed once per distinct text while it
    is among the last ones read (``LARGE_DOCUMENT_CHARS``)."""
    if len(text) <= LARGE_DOCUMENT_CHARS:
        return _cached_small(text)
    return _cached_large(text)


@functools.lru_cache(maxsize=256)
def _cached_small(text: str) -> LifecycleConfiguration:
    return _parse(text.encode("utf-8"))


@functools.lru_cache(maxsize=8)
def _cached_large(text: str) -> LifecycleConfiguration:
    return _parse(text.encode("utf-8"))


def _write_filter(doc: XmlWriter, rule: Rule) -> None:
    found = rule.filter
    if rule.form == "legacy":
        doc.el("Prefix", found.prefix)
        return
    doc.open("Filter")
    within_and = rule.form in ("And", AND_WITHOUT_PREFIX)
    if within_and:
        doc.open("And")
    if rule.form in ("Prefix", "And"):
        doc.el("Prefix", found.prefix)
    for key, value in found.tags:
        doc.open("Tag")
        doc.el("Key", key)
        doc.el("Value", value)
        doc.close("Tag")
    doc.el("ObjectSizeGreaterThan", found.greater_than)
    doc.el("ObjectSizeLessThan", found.less_than)
    if within_and:
        doc.close("And")
    doc.close("Filter")


def lifecycle_document(config: LifecycleConfiguration) -> bytes:
    """The document GetBucketLifecycleConfiguration answers (and the one stored)."""
    doc = XmlWriter("LifecycleConfiguration")
    for rule in config.rules:
        doc.open("Rule")
        doc.el("ID", rule.id)
        _write_filter(doc, rule)
        doc.el("Status", "Enabled" if rule.enabled else "Disabled")
        if rule.expires or rule.expired_delete_marker is not None:
            doc.open("Expiration")
            doc.el("Days", rule.expiration_days)
            doc.el("Date", rule.expiration_date)
            doc.el("ExpiredObjectDeleteMarker", rule.expired_delete_marker)
            doc.close("Expiration")
        if rule.noncurrent_days is not None:
            doc.open("NoncurrentVersionExpiration")
            doc.el("NoncurrentDays", rule.noncurrent_days)
            doc.el("NewerNoncurrentVersions", rule.newer_noncurrent)
            doc.close("NoncurrentVersionExpiration")
        if rule.abort_days is not None:
            doc.open("AbortIncompleteMultipartUpload")
            doc.el("DaysAfterInitiation", rule.abort_days)
            doc.close("AbortIncompleteMultipartUpload")
        doc.close("Rule")
    doc.close("LifecycleConfiguration")
    return bytes(doc)
