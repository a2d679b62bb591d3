"""Tag sets as S3 takes them: the ``Tagging`` document, the ``x-amz-tagging`` header, and
AWS's limits and error codes (objects and buckets alike).

Limits (AWS's "Categorizing your storage using tags" and "Using cost allocation S3 bucket
tags"): up to 10 tags on an object, 50 on a bucket; keys 1 to 128 and values 0 to 256
characters, counted in UTF-16 code units as S3 stores them; keys unique; letters, numbers,
separator spaces and ``_ . : / = + - @`` only; the ``aws:`` prefix is reserved. Too many
tags is 400 ``BadRequest`` (what S3 answers), every other fault 400 ``InvalidTag``; a
document that does not follow the schema is ``MalformedXML``; an ``x-amz-tagging`` header
that is not a URL-encoded query without repeated names is ``InvalidArgument``.

A valid tag set is returned sorted by key (S3 reads tags back in key order).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from urllib.parse import unquote_plus

from backends.types import Tags
from gateway.s3.errors import S3Error
from gateway.s3.xml import XmlWriter, children, leaf_text, local, parse_xml

__all__ = [
    "MAX_BUCKET_TAGS",
    "MAX_OBJECT_TAGS",
    "parse_tagging_document",
    "parse_tagging_header",
    "tagging_document",
    "validate_tags",
]

MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256
RESERVED_PREFIX = "aws:"
_SYMBOLS = frozenset("_.:/=+-@")
_HEADER = "x-amz-tagging"
_HEADER_MESSAGE = (
    "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query "
    "parameters without tag name duplicates."
)


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _allowed(text: str) -> bool:
    """``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*``: letters, separators, numbers, the symbols."""
    return all(ch in _SYMBOLS or unicodedata.category(ch)[0] in "LZN" for ch in text)


def _invalid(message: str, key: str) -> S3Error:
    return S3Error("InvalidTag", message, extra={"TagKey": key})


def validate_tags(pairs: Iterable[tuple[str, str]], *, bucket: bool = False) -> Tags:
    """Check a tag set against S3's rules; the set sorted by key."""
    tags = list(pairs)
    limit = MAX_BUCKET_TAGS if bucket else MAX_OBJECT_TAGS
    if len(tags) > limit:
        raise S3Error(
            "BadRequest",
            "Bucket tag count cannot be greater than 50"
            if bucket
            else "Object tags cannot be greater than 10",
        )
    seen: set[str] = set()
    for key, value in tags:
        if key in seen:
            raise _invalid("Cannot provide multiple Tags with the same key", key)
        seen.add(key)
        if key.startswith(RESERVED_PREFIX):
            raise _invalid(
                "System tags cannot be added/updated by requester"
                if bucket
                else "Your TagKey cannot be prefixed with aws:",
                key,
            )
        if not key or not _allowed(key):
            raise _invalid("The TagKey you have provided is invalid", key)
        if _utf16_length(key) > MAX_KEY:
            raise _invalid(f"The TagKey you have provided is too long, max {MAX_KEY}", key)
        if not _allowed(value):
            raise _invalid("The TagValue you have provided is invalid", key)
        if _utf16_length(value) > MAX_VALUE:
            raise _invalid(f"The TagValue you have provided is too long, max {MAX_VALUE}", key)
    return tuple(sorted(tags))


def parse_tagging_header(value: str) -> Tags:
    """``x-amz-tagging: k1=v1&k2=v2`` (form-encoded: ``+`` is a space; ``k`` alone holds
    the empty value). A pair with more than one ``=`` or a name given twice is
    ``InvalidArgument``; the tags themselves are checked by :func:`validate_tags`."""
    pairs: list[tuple[str, str]] = []
    names: set[str] = set()
    for piece in value.split("&"):
        if not piece:
            continue
        if piece.count("=") > 1:
            raise _header_error(value)
        raw_key, _, raw_value = piece.partition("=")
        key, tag_value = unquote_plus(raw_key), unquote_plus(raw_value)
        if key in names:
            raise _header_error(value)
        names.add(key)
        pairs.append((key, tag_value))
    return validate_tags(pairs)


def _header_error(value: str) -> S3Error:
    return S3Error(
        "InvalidArgument",
        _HEADER_MESSAGE,
        extra={"ArgumentName": _HEADER, "ArgumentValue": value},
    )


def parse_tagging_document(body: bytes, *, bucket: bool = False) -> Tags:
    """``<Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>``: ``TagSet``
    once, each ``Tag`` exactly one ``Key`` and one ``Value`` and nothing else."""
    root = parse_xml(body)
    if local(root.tag) != "Tagging":
        raise S3Error("MalformedXML")
    elements = [c for c in root if isinstance(c.tag, str)]
    tag_sets = children(root, "TagSet")
    if len(tag_sets) != 1 or len(elements) != 1:
        raise S3Error("MalformedXML")
    pairs: list[tuple[str, str]] = []
    for tag in tag_sets[0]:
        if not isinstance(tag.tag, str):
            continue
        if local(tag.tag) != "Tag":
            raise S3Error("MalformedXML")
        parts = [c for c in tag if isinstance(c.tag, str)]
        keys, values = children(tag, "Key"), children(tag, "Value")
        if len(keys) != 1 or len(values) != 1 or len(parts) != 2:
            raise S3Error("MalformedXML")
        pairs.append((leaf_text(keys[0]), leaf_text(values[0])))
    return validate_tags(pairs, bucket=bucket)


def tagging_document(tags: Tags) -> bytes:
    """The ``Tagging`` document GetObjectTagging and GetBucketTagging answer."""
    doc = XmlWriter("Tagging")
    doc.open("TagSet")
    for key, value in tags:
        doc.open("Tag")
        doc.el("Key", key)
        doc.el("Value", value)
        doc.close("Tag")
    doc.close("TagSet")
    doc.close("Tagging")
    return bytes(doc)
