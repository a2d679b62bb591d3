"""Upstream answers read straight off the wire, for the lean client (``lean``).

Headers and XML become the few botocore-named fields the backend reads (``ETag``,
``LastModified``, ``Metadata``, ``Contents`` ...), without botocore's shape machinery:
dates are parsed once per distinct string, listings by one pass over lxml's tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

from lxml import etree

__all__ = ["error_fields", "http_date", "list_v2_result", "object_fields"]

_META = "x-amz-meta-"
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
)


def http_date(value: datetime) -> str:
    """An HTTP date (``If-Modified-Since`` and friends)."""
    return format_datetime(value.astimezone(UTC), usegmt=True)


@lru_cache(maxsize=4096)
def _parse_http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def object_fields(status: int, headers: Mapping[str, str]) -> dict[str, Any]:
    """HeadObject / GetObject / PutObject / UploadPart answer fields from the headers."""
    lowered = {name.lower(): value for name, value in headers.items()}
    fields: dict[str, Any] = {
        field: lowered[header] for header, field in _STRING_HEADERS if header in lowered
    }
    length = lowered.get("content-length")
    if length is not None and length.isdigit():
        fields["ContentLength"] = int(length)
    last_modified = lowered.get("last-modified")
    if last_modified:
        fields["LastModified"] = _parse_http_date(last_modified)
    parts = lowered.get("x-amz-mp-parts-count")
    if parts is not None and parts.isdigit():
        fields["PartsCount"] = int(parts)
    fields["Metadata"] = {
        name[len(_META) :]: value for name, value in lowered.items() if name.startswith(_META)
    }
    fields["ResponseMetadata"] = {"HTTPStatusCode": status, "HTTPHeaders": lowered}
    return fields


def _local(tag: Any) -> str:
    text = str(tag)
    return text.rpartition("}")[2] if text.startswith("{") else text


def error_fields(body: bytes) -> tuple[str, str, dict[str, str]]:
    """(Code, Message, every field) of an S3 ``<Error>`` body; empty for no or bad XML."""
    if not body.strip():
        return "", "", {}
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError:
        return "", "", {}
    fields = {_local(child.tag): child.text or "" for child in root}
    return fields.get("Code", ""), fields.get("Message", ""), fields


def _timestamp(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def list_v2_result(body: bytes) -> dict[str, Any]:
    """A ListObjectsV2 answer as botocore shapes it (keys decoded from ``encoding-type=url``
    when the store says it encoded them)."""
    root = etree.fromstring(body, _PARSER)
    encoded = False
    truncated = False
    token: str | None = None
    contents: list[dict[str, Any]] = []
    prefixes: list[dict[str, str]] = []
    for element in root:
        name = _local(element.tag)
        if name == "Contents":
            item: dict[str, Any] = {}
            for child in element:
                field = _local(child.tag)
                if field in ("Key", "ETag", "StorageClass"):
                    item[field] = child.text or ""
                elif field == "Size":
                    item["Size"] = int(child.text or 0)
                elif field == "LastModified":
                    item["LastModified"] = _timestamp(child.text)
            contents.append(item)
        elif name == "CommonPrefixes":
            for child in element:
                if _local(child.tag) == "Prefix":
                    prefixes.append({"Prefix": child.text or ""})
        elif name == "IsTruncated":
            truncated = (element.text or "").strip().lower() == "true"
        elif name == "NextContinuationToken":
            token = element.text
        elif name == "EncodingType":
            encoded = (element.text or "").strip().lower() == "url"
    if encoded:
        for item in contents:
            item["Key"] = unquote_plus(item.get("Key", ""))
        for prefix in prefixes:
            prefix["Prefix"] = unquote_plus(prefix["Prefix"])
    result: dict[str, Any] = {
        "Contents": contents,
        "CommonPrefixes": prefixes,
        "IsTruncated": truncated,
    }
    if token is not None:
        result["NextContinuationToken"] = token
    return result
