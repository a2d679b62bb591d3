"""Upstream answers read straight off the wire, for the lean client (``lean``).

Headers and XML become the few botocore-named fields the backend reads (``ETag``,
``LastModified``, ``Metadata``, ``Contents`` ...), without botocore's shape machinery:
dates are parsed once per distinct string, listings by one pass over lxml's tree.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

from lxml import etree

from sigv4 import ALGORITHMS, header_name

__all__ = [
    "META_PREFIX",
    "bucket_fields",
    "error_fields",
    "http_date",
    "list_v2_result",
    "object_fields",
    "parse_http_date",
    "parse_iso_date",
]

META_PREFIX = "x-amz-meta-"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)

# response header -> botocore field, copied as strings when present
_STRING_HEADERS = (
    ("etag", "ETag"),
    ("content-type", "ContentType"),
    ("content-encoding", "ContentEncoding"),
    ("content-disposition", "ContentDisposition"),
    ("content-language", "ContentLanguage"),
    ("cache-control", "CacheControl"),
    ("expires", "ExpiresString"),
    ("x-amz-storage-class", "StorageClass"),
    ("x-amz-version-id", "VersionId"),
    ("content-range", "ContentRange"),
    ("x-amz-server-side-encryption", "ServerSideEncryption"),
    ("x-amz-server-side-encryption-customer-algorithm", "SSECustomerAlgorithm"),
    ("x-amz-server-side-encryption-customer-key-md5", "SSECustomerKeyMD5"),
    ("x-amz-object-lock-mode", "ObjectLockMode"),
    ("x-amz-object-lock-legal-hold", "ObjectLockLegalHoldStatus"),
    *((header_name(alg), f"Checksum{alg}") for alg in ALGORITHMS),
    ("x-amz-checksum-type", "ChecksumType"),
)


def http_date(value: datetime) -> str:
    """An HTTP date (``If-Modified-Since`` and friends)."""
    return format_datetime(value.astimezone(UTC), usegmt=True)


@lru_cache(maxsize=4096)
def parse_http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_FIELD_OF = dict(_STRING_HEADERS)
_COUNT_FIELDS = {
    "content-length": "ContentLength",
    "x-amz-mp-parts-count": "PartsCount",
    "x-amz-tagging-count": "TagCount",
}


def object_fields(status: int, headers: Mapping[str, str]) -> dict[str, Any]:
    """HeadObject / GetObject / PutObject / UploadPart answer fields from the headers.

    ``headers`` has lower-case names (``http1_response.Response.headers``); it is kept as
    ``ResponseMetadata.HTTPHeaders``. One pass over the headers the answer has, not a
    look-up per header it might have: this runs for every proxied HEAD, GET and PUT.
    """
    fields: dict[str, Any] = {}
    metadata: dict[str, str] = {}
    field_of = _FIELD_OF.get
    for name, value in headers.items():
        field = field_of(name)
        if field is not None:
            fields[field] = value
        elif name.startswith(META_PREFIX):
            metadata[name[len(META_PREFIX) :]] = value
        elif name in _COUNT_FIELDS:
            if value.isdigit():
                fields[_COUNT_FIELDS[name]] = int(value)
        elif name == "last-modified":
            if value:
                fields["LastModified"] = parse_http_date(value)
        elif name == "x-amz-object-lock-retain-until-date" and value:
            fields["ObjectLockRetainUntilDate"] = parse_iso_date(value)
    fields["Metadata"] = metadata
    fields["ResponseMetadata"] = {"HTTPStatusCode": status, "HTTPHeaders": headers}
    return fields


_BUCKET_HEADERS = (
    ("x-amz-bucket-region", "BucketRegion"),
    ("x-amz-bucket-location-type", "BucketLocationType"),
    ("x-amz-bucket-location-name", "BucketLocationName"),
    ("x-amz-bucket-arn", "BucketArn"),
)


def bucket_fields(status: int, headers: Mapping[str, str]) -> dict[str, Any]:
    """HeadBucket answer fields from the headers (lower-case names), as botocore gives
    them: each header present as a string, ``AccessPointAlias`` as a boolean."""
    fields: dict[str, Any] = {
        field: headers[name] for name, field in _BUCKET_HEADERS if name in headers
    }
    alias = headers.get("x-amz-access-point-alias")
    if alias is not None:
        fields["AccessPointAlias"] = alias == "true"
    fields["ResponseMetadata"] = {"HTTPStatusCode": status, "HTTPHeaders": headers}
    return fields


def parse_iso_date(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _local(tag: Any) -> str:
    text = str(tag)
    return text.rpartition("}")[2] if text.startswith("{") else text


def error_fields(body: bytes) -> tuple[str, str, dict[str, str]]:
    """(Code, Message, every field) of an S3 ``<Error>`` body; empty for no or bad XML."""
    if not body.strip():
        return "", "", {}
    fields = _plain_error(body)
    if fields is None:
        fields = _error_tree(body)
    return fields.get("Code", ""), fields.get("Message", ""), fields


# An error document as stores write it: an optional UTF-8 declaration, <Error> and its
# fields, each a plain element whose text needs no XML processing (no entity, no CR,
# which XML turns into LF, no character XML forbids). Anything else is read by lxml.
_PLAIN_ERROR = re.compile(
    r'(?:<\?xml version="1\.0"(?: encoding="(?:UTF|utf)-8")?\?>)?[ \t\n]*<Error>'
    r"((?:[ \t\n]*<([A-Za-z][A-Za-z0-9]*)>"
    r"[^<&\]\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]*</\2>)*)"
    r"[ \t\n]*</Error>[ \t\n]*\Z"
)
_ERROR_FIELD = re.compile(r"<([A-Za-z][A-Za-z0-9]*)>([^<]*)</")


def _plain_error(body: bytes) -> dict[str, str] | None:
    """The fields of a plain error document (``_PLAIN_ERROR``) by two regular-expression
    passes, as lxml reads them in twice the time (a missing key's GET is answered so);
    None for any other body."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return None
    match = _PLAIN_ERROR.fullmatch(text)
    if match is None:
        return None
    return dict(_ERROR_FIELD.findall(text, match.start(1), match.end(1)))


def _error_tree(body: bytes) -> dict[str, str]:
    """Every field of an ``<Error>`` body by lxml; empty for bad XML."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError:
        return {}
    return {_local(child.tag): child.text or "" for child in root}


def _timestamp(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_FIELD_NAMES = {
    name.encode(): name for name in ("Key", "Size", "ETag", "LastModified", "StorageClass")
}
"""The fields of each <Contents> read from a listing (as matched: their names)."""

# One pass over a ListObjectsV2 body: the fields of each <Contents> (in any order), the
# end of each <Contents>, each common prefix, and the page's own fields. Text in XML
# holds no "<", so "[^<]*" is a whole value; entities are resolved afterwards.
_LISTING_TOKENS = re.compile(
    rb"<(" + b"|".join(_FIELD_NAMES) + rb")>([^<]*)</"
    rb"|(</Contents>)"
    rb"|<CommonPrefixes>\s*<Prefix>([^<]*)</Prefix>"
    rb"|<(IsTruncated|NextContinuationToken|EncodingType)>([^<]*)</"
)


def _timestamps() -> Callable[[bytes], datetime | None]:
    """``_timestamp`` for one page, remembering each distinct value (objects written in
    the same second share one)."""
    seen: dict[bytes, datetime | None] = {}

    def parse(raw: bytes) -> datetime | None:
        try:
            return seen[raw]
        except KeyError:
            seen[raw] = parsed = _timestamp(raw.decode())
            return parsed

    return parse


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8", "surrogateescape")
    return html.unescape(text) if "&" in text else text


def list_v2_result(body: bytes) -> dict[str, Any]:
    """A ListObjectsV2 answer as botocore shapes it (keys decoded from ``encoding-type=url``
    when the store says it encoded them).

    Read by one regular expression rather than a tree (several times cheaper for a
    1,000-key page); a body it cannot read that way (CDATA, prefixed element names) goes
    through lxml.
    """
    if b"<![CDATA[" in body or b":Contents>" in body:
        return _list_v2_tree(body)
    contents: list[dict[str, Any]] = []
    prefixes: list[dict[str, str]] = []
    page: dict[str, str] = {}
    item: dict[str, Any] = {}
    names = _FIELD_NAMES
    for field, value, end, prefix, page_field, page_value in _LISTING_TOKENS.findall(body):
        if field:
            item[names[field]] = value
        elif end:
            contents.append(item)
            item = {}
        elif page_field:
            page[page_field.decode()] = _text(page_value)
        else:
            prefixes.append({"Prefix": _text(prefix)})
    encoded = page.get("EncodingType", "").strip().lower() == "url"
    when = _timestamps()
    for entry in contents:
        key = _text(entry.get("Key", b""))
        entry["Key"] = unquote_plus(key) if encoded and ("%" in key or "+" in key) else key
        # ETags are quoted, the quotes often as entities: no general unescape for those
        etag = entry.get("ETag", b"").replace(b"&#34;", b'"').replace(b"&quot;", b'"')
        entry["ETag"] = _text(etag)
        entry["Size"] = int(entry.get("Size", b"0") or 0)
        entry["LastModified"] = when(entry.get("LastModified", b""))
        if "StorageClass" in entry:
            entry["StorageClass"] = _text(entry["StorageClass"])
    if encoded:
        for entry in prefixes:
            entry["Prefix"] = unquote_plus(entry["Prefix"])
    return _page(contents, prefixes, page)


def _page(
    contents: list[dict[str, Any]], prefixes: list[dict[str, str]], page: Mapping[str, str]
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "Contents": contents,
        "CommonPrefixes": prefixes,
        "IsTruncated": page.get("IsTruncated", "").strip().lower() == "true",
    }
    if page.get("NextContinuationToken"):
        result["NextContinuationToken"] = page["NextContinuationToken"]
    return result


def _list_v2_tree(body: bytes) -> dict[str, Any]:
    root = etree.fromstring(body, _PARSER)
    page: dict[str, str] = {}
    contents: list[dict[str, Any]] = []
    prefixes: list[dict[str, str]] = []
    for element in root:
        name = _local(element.tag)
        if name == "Contents":
            item = {_local(child.tag): child.text or "" for child in element}
            entry: dict[str, Any] = {
                "Key": item.get("Key", ""),
                "ETag": item.get("ETag", ""),
                "Size": int(item.get("Size") or 0),
                "LastModified": _timestamp(item.get("LastModified")),
            }
            if "StorageClass" in item:
                entry["StorageClass"] = item["StorageClass"]
            contents.append(entry)
        elif name == "CommonPrefixes":
            prefixes += [
                {"Prefix": child.text or ""} for child in element if _local(child.tag) == "Prefix"
            ]
        else:
            page[name] = element.text or ""
    if page.get("EncodingType", "").strip().lower() == "url":
        for entry in contents:
            entry["Key"] = unquote_plus(entry["Key"])
        for prefix in prefixes:
            prefix["Prefix"] = unquote_plus(prefix["Prefix"])
    return _page(contents, prefixes, page)
