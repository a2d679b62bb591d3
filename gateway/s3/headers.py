"""Translation between HTTP headers and the backend's typed values."""

from __future__ import annotations

import base64
import functools
import logging
import math
import operator
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from backends.checksums import checksum_type_of
from backends.types import ByteRange, Conditions, ObjectInfo, ObjectMeta
from gateway.s3.errors import S3Error
from gateway.s3.lock_headers import lock_headers
from gateway.s3.numbers import decimal
from gateway.s3.sse import sse_response_headers
from gateway.text import is_header_text, is_sendable_header_value
from sigv4.memo import WeighedMemo

__all__ = [
    "CHECKSUM_PREFIX",
    "MAX_SYSTEM_METADATA",
    "MAX_USER_METADATA",
    "META_PREFIX",
    "RESPONSE_OVERRIDES",
    "STORAGE_CLASSES",
    "checked_headers",
    "checksum_headers",
    "conditions",
    "http_date",
    "if_range_holds",
    "mail_safe",
    "object_headers",
    "object_meta",
    "parse_http_date",
    "parse_range",
    "quote_etag",
    "response_overrides",
    "safe_value",
    "strip_aws_chunked",
    "system_metadata_size",
]

META_PREFIX = "x-amz-meta-"
MAX_USER_METADATA = 2048
MAX_SYSTEM_METADATA = 8192
"""Bytes of the system metadata one object keeps (names and values in UTF-8:
``Content-Type``, ``Cache-Control``, ``Content-Disposition``, ``Content-Encoding``,
``Content-Language``, ``Expires``): AWS's 8 KB of PUT request header, whose
``RequestHeaderSectionTooLarge`` answers a write carrying more (docs/limits.md)."""
CHECKSUM_PREFIX = "x-amz-checksum-"

_SYSTEM_HEADERS = {
    "content-encoding": "content_encoding",
    "content-disposition": "content_disposition",
    "content-language": "content_language",
    "cache-control": "cache_control",
    "expires": "expires",
}
STORAGE_CLASSES = frozenset(
    {
        "STANDARD",
        "REDUCED_REDUNDANCY",
        "STANDARD_IA",
        "ONEZONE_IA",
        "INTELLIGENT_TIERING",
        "GLACIER",
        "DEEP_ARCHIVE",
        "GLACIER_IR",
        "OUTPOSTS",
        "SNOW",
        "EXPRESS_ONEZONE",
    }
)


def http_date(when: datetime) -> str:
    return _http_date_at(math.floor(when.timestamp()))


@functools.lru_cache(maxsize=4096)
def _http_date_at(seconds: int) -> str:
    """``Last-Modified`` text per whole second: objects written together share one, and
    ``format_datetime`` costs ~7 us against ~0.4 us for the cached lookup."""
    return format_datetime(datetime.fromtimestamp(seconds, UTC), usegmt=True)


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP date, or None when absent or unparseable (S3 ignores a bad date)."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def safe_value(name: str, value: str) -> str:
    """A header value we may store and send back: valid UTF-8, no control characters
    (a CR/LF would split the response's headers): ``gateway.text.is_header_text``."""
    if not is_header_text(value):
        raise S3Error(
            "InvalidArgument",
            f"The value of {name} is not valid: it must be UTF-8 without control characters",
            extra={"ArgumentName": name},
        )
    return value


HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""An HTTP header name (RFC 9110 token)."""
_log = logging.getLogger("nfyio.s3")
_sendable_names: set[str] = set()


def _sendable_name(name: str) -> bool:
    if name in _sendable_names:
        return True
    if HEADER_NAME.fullmatch(name) is None:
        return False
    if len(_sendable_names) < 4096:
        _sendable_names.add(name)
    return True


_ONLY_STR = frozenset({str})


def checked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Response headers, each name a token and each value free of CR, LF and other
    control characters: one that is not (only stored data written before values were
    validated could hold one, or an upstream's answer) is left out and logged, so it can
    never split the response or end its headers early.

    The usual answer (a ``dict``, every value a ``str`` of printable ASCII, every name
    one seen before) is checked in five calls into C over all the headers at once, not two
    function calls per header: the same verdict, as each character's class is the same
    in the joined text (tests/gateway/s3/test_checked_headers.py)."""
    if type(headers) is dict and _ONLY_STR.issuperset(map(type, headers.values())):
        joined = "".join(headers.values())
        if joined.isascii() and joined.isprintable() and _sendable_names.issuperset(headers):
            return dict(headers)
    out: dict[str, str] = {}
    for name, value in headers.items():
        text = str(value)
        if _sendable_name(name) and is_sendable_header_value(text):
            out[name] = text
        else:
            _log.warning("response header %r left out: its name or value is not sendable", name)
    return out


def strip_aws_chunked(encoding: str | None) -> str | None:
    """``gzip, aws-chunked`` -> ``gzip``; ``aws-chunked`` alone -> None."""
    if encoding is None:
        return None
    kept = [p.strip() for p in encoding.split(",") if p.strip().lower() != "aws-chunked"]
    kept = [p for p in kept if p]
    return ", ".join(kept) or None


_name_of = operator.itemgetter(0)
_NEW_META_LINE = "\n" + META_PREFIX


def object_meta(headers: Mapping[str, str], pairs: Sequence[tuple[str, str]]) -> ObjectMeta:
    """The metadata a PutObject / CreateMultipartUpload / CopyObject(REPLACE) / POST
    Object sets: system headers from ``headers`` (the first value of each), user metadata
    from every one of the request's header ``pairs``, where S3 joins the values of one
    name (case aside) with commas, in order.

    Most writes carry no user metadata: the names, joined one per line and lower-cased
    in one call, tell so without a loop over them (boto3's ten headers: ~11k
    instructions). A name of user metadata begins a line of that text whenever it is
    one (lower-casing ASCII letters is the same alone or joined)."""
    user: dict[str, str] = {}
    missing = 0
    if _NEW_META_LINE in "\n" + "\n".join(map(_name_of, pairs)).lower():
        for name, value in pairs:
            lower = name.lower()
            if lower.startswith(META_PREFIX):
                meta_name = lower[len(META_PREFIX) :]
                safe_value(lower, value)
                if not meta_name:
                    # ``x-amz-meta-`` alone: S3 accepts the write, stores no such entry (no
                    # request could name it) and counts it in reads' ``x-amz-missing-meta``
                    missing += 1
                    continue
                user[meta_name] = f"{user[meta_name]},{value}" if meta_name in user else value
    size = 0
    for meta_name, value in user.items():
        size += len(meta_name.encode()) + len(value.encode())
    if size > MAX_USER_METADATA:
        raise S3Error(
            "MetadataTooLarge",
            extra={"Size": str(size), "MaxSizeAllowed": str(MAX_USER_METADATA)},
        )
    system = {
        field: safe_value(name, headers[name])
        for name, field in _SYSTEM_HEADERS.items()
        if name in headers
    }
    if "content_encoding" in system:
        stripped = strip_aws_chunked(system["content_encoding"])
        if stripped is None:
            del system["content_encoding"]
        else:
            system["content_encoding"] = stripped
    content_type = safe_value("content-type", headers.get("content-type") or "")
    _check_system_size(content_type, system)
    storage_class = headers.get("x-amz-storage-class", "STANDARD")
    if storage_class not in STORAGE_CLASSES:
        raise S3Error("InvalidStorageClass")
    return ObjectMeta(
        content_type=content_type or "binary/octet-stream",
        user_metadata=user,
        storage_class=storage_class,
        missing_meta=missing or None,
        **system,
    )


_SYSTEM_NAMES = {field: name for name, field in _SYSTEM_HEADERS.items()}


def system_metadata_size(content_type: str, system: Mapping[str, str] | None = None) -> int:
    """The bytes :data:`MAX_SYSTEM_METADATA` bounds: each stored header's name and value in
    UTF-8 (no ``content_type``: nothing, the default is stored). ``system`` maps
    :class:`ObjectMeta` fields (``cache_control``, ...) to values. The S3 writes and the
    ``/v1`` upload (its ``Content-Type`` only) count with this one rule."""
    size = len("content-type") + len(content_type.encode()) if content_type else 0
    for field, value in (system or {}).items():
        size += len(_SYSTEM_NAMES[field]) + len(value.encode())
    return size


def _check_system_size(content_type: str, system: Mapping[str, str]) -> None:
    """``RequestHeaderSectionTooLarge`` for more than :data:`MAX_SYSTEM_METADATA` bytes of
    system metadata: each header was within the listener's 8,190 bytes, but six of them
    made some 48 KiB kept with every version of the object."""
    if system_metadata_size(content_type, system) > MAX_SYSTEM_METADATA:
        raise S3Error(
            "RequestHeaderSectionTooLarge",
            "Your request header section exceeds the maximum allowed size.",
            extra={"MaxSizeAllowed": str(MAX_SYSTEM_METADATA)},
        )


def checksum_headers(checksums: Mapping[str, str], *, with_type: bool = False) -> dict[str, str]:
    """``x-amz-checksum-<alg>`` response headers of a write's verified checksums (and,
    ``with_type``, ``x-amz-checksum-type``: composite values end in ``-N``)."""
    out: dict[str, str] = {}
    for alg, value in checksums.items():  # a loop: a comprehension is a frame on 3.11
        out[CHECKSUM_PREFIX + alg.lower()] = value
    if with_type and checksums:
        out["x-amz-checksum-type"] = checksum_type_of(next(iter(checksums.values())))
    return out


def mail_safe(value: str) -> str:
    """A user metadata value with characters outside US-ASCII as S3 answers it: one RFC
    2047 encoded word, ``=?UTF-8?B?<base64>?=``. S3 reads a header's bytes as ISO-8859-1
    and encodes those characters to UTF-8, so the raw UTF-8 a client sent comes back
    encoded twice (AWS's own example: ``ÄMÄZÕÑ S3`` sent as UTF-8 is answered
    ``=?UTF-8?B?w4PChE3Dg8KEWsODwpXDg8KRIFMz?=``); the SDKs' encryption clients decode
    exactly that. The value stored is the text the client sent; only the answer is
    encoded."""
    as_s3_read_it = value.encode("utf-8", "surrogatepass").decode("latin-1")
    return f"=?UTF-8?B?{base64.b64encode(as_s3_read_it.encode()).decode()}?="


def quote_etag(etag: str) -> str:
    return f'"{etag}"'


OBJECT_HEADERS_ENTRIES = 8192
"""How many objects' headers :func:`object_headers` remembers (emptied when full): as
many as the filesystem backend's row cache keeps ``ObjectInfo``s of
(``backends.filesystem.metadb.ROW_CACHE_ENTRIES``)."""
OBJECT_HEADERS_CHARS = 4 * 1024 * 1024
"""The characters (of the header values) the remembered headers may hold in all: what
bounds the memo when headers are large."""
OBJECT_HEADERS_MAX_CHARS = 8 * 1024
"""Headers whose values hold more characters than this are not remembered: the row cache
keeps no row that large (``ROW_CACHE_MAX_CHARS``), so such an ``ObjectInfo`` is made
afresh for every read and would never be asked for again; 2,048 of them (8 KiB of system
metadata, 2 KiB of user metadata, a 1 KiB key) held ~33 MB."""
_described: WeighedMemo[int, tuple[ObjectInfo, bool, bool, dict[str, str]]] = WeighedMemo(
    OBJECT_HEADERS_ENTRIES, OBJECT_HEADERS_CHARS
)


def object_headers(
    info: ObjectInfo,
    *,
    with_checksums: bool = False,
    with_parts_count: bool = False,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Response headers describing an object (GET, HEAD). ``x-amz-mp-parts-count`` only
    with ``with_parts_count`` (a read of one part, ``?partNumber=``): S3 answers it then
    only, and a whole-object read of a multipart object without it.

    Remembered by the identity of ``info`` (the entry holds it, so no other object takes
    its id while it is there): the filesystem backend answers every GET and HEAD of a
    key read before with the same ``ObjectInfo`` (``MetaDB.info_of``), an immutable
    record, and its headers (a date, the ETag's quotes, each metadata field looked at)
    cost ~9k instructions against ~3k for the look-up and a copy. The caller gets its
    own copy (handlers add and remove headers). Headers over ``OBJECT_HEADERS_MAX_CHARS``
    are not remembered."""
    found = _described.entries.get(id(info))
    if (
        found is not None
        and found[0] is info
        and found[1] == with_checksums
        and found[2] == with_parts_count
    ):
        out = found[3].copy()
    else:
        described = _describe(info, with_checksums, with_parts_count)
        chars = sum(map(len, described.values()))
        if chars <= OBJECT_HEADERS_MAX_CHARS:
            _described.put(id(info), (info, with_checksums, with_parts_count, described), chars)
        out = described.copy()
    if overrides:
        out.update(overrides)
    return out


def _describe(info: ObjectInfo, with_checksums: bool, with_parts_count: bool) -> dict[str, str]:
    """:func:`object_headers` without the overrides, worked out."""
    meta = info.meta
    out = {
        "ETag": quote_etag(info.etag),
        "Last-Modified": http_date(info.last_modified),
        "Content-Type": meta.content_type,
        "Accept-Ranges": "bytes",
    }
    for name, value in (
        ("Content-Encoding", meta.content_encoding),
        ("Content-Disposition", meta.content_disposition),
        ("Content-Language", meta.content_language),
        ("Cache-Control", meta.cache_control),
        ("Expires", meta.expires),
    ):
        if value is not None:
            out[name] = value
    if meta.storage_class != "STANDARD":
        out["x-amz-storage-class"] = meta.storage_class
    for name, value in meta.user_metadata.items():
        out[META_PREFIX + name] = value if value.isascii() else mail_safe(value)
    if meta.missing_meta:
        out["x-amz-missing-meta"] = str(meta.missing_meta)
    if with_parts_count and info.parts_count is not None:
        out["x-amz-mp-parts-count"] = str(info.parts_count)
    if info.tag_count:
        out["x-amz-tagging-count"] = str(info.tag_count)
    if with_checksums and info.checksums:
        out.update(checksum_headers(info.checksums, with_type=True))
    if info.version_id is not None:
        out["x-amz-version-id"] = info.version_id
    if meta.server_side_encryption is not None or meta.sse_customer_algorithm is not None:
        out.update(sse_response_headers(meta))
    if info.lock is not None:
        out.update(lock_headers(info.lock))
    return out


RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


def response_overrides(query: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    if not query:  # most reads: no comprehension (a frame on Python 3.11) for nothing
        return out
    for param, header in RESPONSE_OVERRIDES.items():
        if param in query:
            out[header] = safe_value(param, query[param])
    return out


def _etag_list(value: str | None) -> tuple[str, ...] | None:
    """The entity tags of an ``If-Match`` / ``If-None-Match`` list, unquoted. ``""`` is an
    entity tag no object has (it stays empty: it never means ``*``)."""
    if value is None:
        return None
    return tuple(part.strip().strip('"') for part in value.split(",") if part.strip())


_CONDITION_NAMES = ("if-match", "if-none-match", "if-modified-since", "if-unmodified-since")
_CONDITION_HEADERS = frozenset(_CONDITION_NAMES)


def conditions(headers: Mapping[str, str], prefix: str = "") -> Conditions | None:
    """If-* (or ``x-amz-copy-source-if-*`` with ``prefix``) preconditions, if any."""
    if not prefix and _CONDITION_HEADERS.isdisjoint(headers):
        return None  # most requests: found by one set operation
    match, none_match, modified, unmodified = (headers.get(prefix + n) for n in _CONDITION_NAMES)
    if match is None and none_match is None and modified is None and unmodified is None:
        return None
    return Conditions(
        if_match=_etag_list(match),
        if_none_match=_etag_list(none_match),
        if_modified_since=parse_http_date(modified),
        if_unmodified_since=parse_http_date(unmodified),
    )


def if_range_holds(value: str, info: ObjectInfo) -> bool:
    """Whether an ``If-Range`` validator names the object as it is (RFC 9110 13.1.5): an
    entity tag equal to its ETag (a weak tag never is), or an HTTP date equal to its
    Last-Modified (whole seconds). Anything else is a validator of some other object."""
    text = value.strip()
    if text.startswith('"'):
        return len(text) > 1 and text.endswith('"') and text[1:-1] == info.etag
    if text.startswith("W/"):
        return False
    when = parse_http_date(text)
    return when is not None and math.floor(when.timestamp()) == math.floor(
        info.last_modified.timestamp()
    )


_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")


def parse_range(value: str | None) -> ByteRange | None:
    """A single byte range; anything malformed or multi-range is ignored (S3 serves 200)."""
    if not value:
        return None
    found = _RANGE.fullmatch(value.strip())
    if found is None:
        return None
    first, last = found.groups()
    if not first and not last:
        return None
    if not first:
        return ByteRange(suffix=decimal(last))
    start = decimal(first)
    end = decimal(last) if last else None
    if end is not None and end < start:
        return None
    return ByteRange(start=start, end=end)
