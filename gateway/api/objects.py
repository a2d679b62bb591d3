"""``/v1/buckets/{name}/objects``: browse a bucket by prefix; upload, download, delete one
object (what the web console's bucket browser uses; any REST client may too).

- ``GET .../objects?prefix=&delimiter=&limit=&cursor=``: one page, keys in UTF-8 byte
  order, rolled up at the delimiter into ``prefixes`` (S3's common prefixes); an opaque
  ``next_cursor`` while more follow.
- ``PUT .../objects/content?key=K``: the request body becomes the object, streamed to the
  backend (never held whole), ``Content-Type`` kept, at most ``s3.max_object_size``
  bytes; nothing is stored unless the whole body arrived. A ``Content-Encoding`` (gzip,
  ...) is 415: the listener does not decompress, and the encoding would not be kept.
  ``Content-MD5``, ``x-amz-checksum-*`` and ``x-amz-content-sha256`` are checked as S3
  checks them (400 ``BadDigest``, nothing stored). Any other header S3's PutObject would
  act on (every other ``x-amz-*``: encryption, Object Lock, metadata, tags, ACLs, ...;
  ``Content-Disposition``, ``Content-Language``, ``Expires``, ``Content-Range``) is 400
  ``ValidationError`` naming it, before anything is stored: ignored, an SSE-C upload
  would be stored in clear (``gateway/api/upload_body.py``).
- ``GET .../objects/content?key=K``: the object's bytes, streamed, always as an
  attachment with ``nosniff`` and a sandboxing CSP: the API listener is the console's
  origin, so an HTML object must never render there.
- ``DELETE .../objects/content?key=K``: idempotent, as S3's DeleteObject.

Preconditions are evaluated or refused, never ignored (an ignored ``If-Match`` would delete
or overwrite what the client meant to keep): ``If-Match`` / ``If-None-Match`` /
``If-Modified-Since`` / ``If-Unmodified-Since`` on a download (412, or 304 with the
``ETag``); ``If-None-Match: *`` or ``If-Match: <etag>`` on an upload and ``If-Match`` on a
delete (412 when it does not hold, 404 for ``If-Match`` on a missing object, 409 when a
concurrent write won), read as the S3 listener reads them; any other condition on a write
is 400 ``ValidationError`` naming the header, and nothing is written or deleted. ``Range``
is not supported and ignored (the whole object, 200), which HTTP allows.

The key travels in the query, not the path: keys may be ``.``, ``..`` or contain ``//``,
which URL parsers (browsers' included) normalise away in a path. Access (scope) comes
from the route table; the caller's bucket limits from :func:`buckets.path_bucket`; the
S3 listener's decision for the operation (bucket policy, object ACLs) from
:func:`object_access.authorize_rest`. An upload records its object's owner as PutObject
does (``gateway/s3/ownership.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.utils import format_datetime
from typing import Any, NoReturn
from urllib.parse import quote, unquote_plus, unquote_to_bytes

from aiohttp import web

from backends.errors import BackendError
from backends.types import Conditions, ObjectInfo, ObjectMeta, ObjectRead, WriteCondition
from gateway.api.access_keys import iso
from gateway.api.backend_errors import raise_backend
from gateway.api.buckets import path_bucket
from gateway.api.cursors import decode_cursor, encode_cursor
from gateway.api.errors import ApiError
from gateway.api.object_access import authorize_rest
from gateway.api.routing import continue_body
from gateway.api.upload_body import (
    RequestBody,
    bad_digest,
    integrity,
    refuse_unread_headers,
    too_large,
)
from gateway.api.validation import check_identity_encoding, header_text, invalid, query_limit
from gateway.s3.errors import S3Error
from gateway.s3.headers import MAX_SYSTEM_METADATA, conditions, system_metadata_size
from gateway.s3.ownership import plan_object_write, record_object_write
from gateway.s3.request import parse_delete_condition, parse_write_condition
from gateway.state import BACKEND, CONFIG, IDENTITY

__all__ = [
    "DEFAULT_PAGE",
    "MAX_KEY_BYTES",
    "MAX_PAGE",
    "checked_key",
    "delete_object",
    "download_object",
    "list_objects",
    "object_json",
    "query_key",
    "upload_object",
]

MAX_KEY_BYTES = 1024
DEFAULT_PAGE = 100
MAX_PAGE = 1000
MAX_DELIMITER_BYTES = 16
_DEFAULT_CONTENT_TYPE = "binary/octet-stream"  # what S3 stores when none is sent
_DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Cache-Control": "private, no-store",
}


def query_text(request: web.Request, name: str) -> str | None:
    """The first ``name`` of the raw query, percent-decoded as strict UTF-8 (aiohttp's
    ``request.query`` turns bytes that are not UTF-8 into U+FFFD: another key)."""
    for part in request.rel_url.raw_query_string.split("&"):
        raw_name, _, raw_value = part.partition("=")
        if unquote_plus(raw_name) != name:
            continue
        try:
            return unquote_to_bytes(raw_value.replace("+", " ")).decode("utf-8")
        except UnicodeDecodeError:
            raise invalid(name, f"'{name}' must be valid UTF-8") from None
    return None


def _utf8_length(value: str) -> int:
    return len(value.encode("utf-8"))


def checked_key(key: str) -> str:
    """An object key: 1 to 1024 bytes of UTF-8, as S3 allows."""
    if not key:
        raise invalid("key", "'key' is required")
    if _utf8_length(key) > MAX_KEY_BYTES:
        raise invalid("key", f"'key' must be at most {MAX_KEY_BYTES} bytes of UTF-8")
    return key


def query_key(request: web.Request) -> str:
    """The object key of ``?key=``."""
    return checked_key(query_text(request, "key") or "")


def object_json(info: ObjectInfo) -> dict[str, Any]:
    return {
        "key": info.key,
        "size": info.size,
        "etag": info.etag,
        "last_modified": iso(info.last_modified),
    }


def _target(bucket: str) -> Mapping[str, Any]:
    # Keys are not echoed: a caller's value never comes back in an error.
    return {"bucket": bucket}


def _refused_condition(header: str, rule: str) -> ApiError:
    return invalid(header, f"{rule}; any other condition is refused rather than ignored")


_DATES = "If-Modified-Since,If-Unmodified-Since"
_UPLOAD_RULE = "An upload takes If-None-Match: * or If-Match: <etag>, one of them"
_DELETE_RULE = "A delete takes If-Match: <etag> or If-Match: *"


def _write_condition(request: web.Request) -> WriteCondition | None:
    """An upload's ``If-None-Match: *`` / ``If-Match: <etag>`` (400 for anything else)."""
    if "If-Modified-Since" in request.headers or "If-Unmodified-Since" in request.headers:
        raise _refused_condition(_DATES, _UPLOAD_RULE)
    try:
        return parse_write_condition(request.headers)
    except S3Error as exc:
        raise _refused_condition(exc.extra.get("Header", ""), _UPLOAD_RULE) from None


def _delete_condition(request: web.Request) -> str | None:
    """A delete's ``If-Match`` (an ETag or ``*``; 400 for any other condition)."""
    if "If-Modified-Since" in request.headers or "If-Unmodified-Since" in request.headers:
        raise _refused_condition(_DATES, _DELETE_RULE)
    try:
        return parse_delete_condition(request.headers, None)
    except S3Error as exc:
        raise _refused_condition(exc.extra.get("Header", ""), _DELETE_RULE) from None


def _read_conditions(request: web.Request) -> Conditions | None:
    """A download's ``If-*`` headers (the S3 parser reads lower-case names)."""
    return conditions({name.lower(): value for name, value in request.headers.items()})


def _raise_object_error(exc: BackendError, bucket: str) -> NoReturn:
    """A backend refusal of an object request; a failed precondition is 412 here (the
    client's own condition), not the 409 of a store's internal one."""
    if exc.code == "PreconditionFailed":
        raise ApiError(
            412,
            "PreconditionFailed",
            "A precondition of the request did not hold",
            _target(bucket),
        ) from exc
    raise_backend(exc, _target(bucket))


async def list_objects(request: web.Request) -> web.Response:
    bucket = await path_bucket(request, backend_answers_missing=True)
    await authorize_rest(request, bucket, "ListObjectsV2")
    prefix = query_text(request, "prefix") or ""
    if _utf8_length(prefix) > MAX_KEY_BYTES:
        raise invalid("prefix", f"'prefix' must be at most {MAX_KEY_BYTES} bytes of UTF-8")
    delimiter = query_text(request, "delimiter") or None
    if delimiter is not None and _utf8_length(delimiter) > MAX_DELIMITER_BYTES:
        raise invalid("delimiter", f"'delimiter' must be at most {MAX_DELIMITER_BYTES} bytes")
    limit = query_limit(request, default=DEFAULT_PAGE, maximum=MAX_PAGE)
    keyring = request.app[IDENTITY].keyring
    cursor = request.query.get("cursor") or None
    marker = None if cursor is None else decode_cursor(keyring, bucket, cursor)
    try:
        page = await request.app[BACKEND].list_objects(
            bucket, prefix=prefix, delimiter=delimiter, marker=marker, max_keys=limit
        )
    except BackendError as exc:
        raise_backend(exc, _target(bucket))
    next_cursor = (
        encode_cursor(keyring, bucket, page.next_marker)
        if page.is_truncated and page.next_marker
        else None
    )
    return web.json_response(
        {
            "bucket": bucket,
            "prefix": prefix,
            "delimiter": delimiter,
            "objects": [object_json(info) for info in page.objects],
            "prefixes": list(page.common_prefixes),
            "next_cursor": next_cursor,
        }
    )


def _content_type(request: web.Request) -> str:
    """The ``Content-Type`` an upload stores: UTF-8 text, within the S3 listener's bound
    on the system metadata a version keeps (``MAX_SYSTEM_METADATA``, name included; the
    listener alone lets a header reach 8,190 bytes), else 400 ``ValidationError``."""
    sent = header_text(request, "Content-Type")
    if system_metadata_size(sent) > MAX_SYSTEM_METADATA:
        raise ApiError(
            400,
            "ValidationError",
            f"Content-Type is too long: the name and value together are at most "
            f"{MAX_SYSTEM_METADATA} bytes of UTF-8",
            {"field": "Content-Type", "limit": MAX_SYSTEM_METADATA},
        )
    return sent or _DEFAULT_CONTENT_TYPE


async def upload_object(request: web.Request) -> web.Response:
    bucket = await path_bucket(request, backend_answers_missing=True)
    key = query_key(request)
    check_identity_encoding(request)
    refuse_unread_headers(request)
    limit = request.app[CONFIG].s3.max_object_size
    declared = request.content_length
    if declared is not None and declared > limit:
        raise too_large(limit)
    condition = _write_condition(request)
    access, facts = await authorize_rest(request, bucket, "PutObject", key=key)
    # Who owns the object, as a PutObject without ACL headers would have it
    plan = await plan_object_write(access.store, facts, access.principal, {}, key)
    content_type = _content_type(request)
    checks = integrity(request)
    await continue_body(request)  # only now is the body welcome (Expect: 100-continue)
    body = RequestBody(request.content, limit, declared, checks)
    try:
        info = await request.app[BACKEND].put_object(
            bucket,
            key,
            body,
            ObjectMeta(content_type=content_type),
            content_md5=checks.content_md5,
            size_hint=declared,
            condition=condition,
        )
    except BackendError as exc:
        if exc.code == "BadDigest":
            raise bad_digest("Content-MD5", "the MD5 differs") from exc
        _raise_object_error(exc, bucket)
    await record_object_write(access.store, plan, info, backend=request.app[BACKEND])
    return web.json_response({**object_json(info), "content_type": content_type}, status=201)


_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._ -]")


def attachment(key: str) -> str:
    """``Content-Disposition`` naming the key's last segment (RFC 6266 / 8187)."""
    name = key.rstrip("/").rsplit("/", 1)[-1] or "download"
    fallback = _UNSAFE_FILENAME.sub("_", name)[:200] or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def download_object(request: web.Request) -> web.StreamResponse:
    """The object's bytes; HEAD (the same row) answers the headers only and asks the
    backend for none (``head_object``: an upstream store is not sent a GET)."""
    bucket = await path_bucket(request, backend_answers_missing=True)
    key = query_key(request)
    await authorize_rest(request, bucket, "GetObject", key=key)
    backend = request.app[BACKEND]
    read: ObjectRead | None = None
    wanted = _read_conditions(request)
    try:
        if request.method == "HEAD":
            info = await backend.head_object(bucket, key, conditions=wanted)
        else:
            read = await backend.get_object(bucket, key, conditions=wanted)
            info = read.info
    except BackendError as exc:
        if exc.code == "NotModified":  # still naming the object (RFC 9110 15.4.5)
            validators = {
                header: exc.extra[name]
                for header, name in (("ETag", "ETag"), ("Last-Modified", "LastModified"))
                if name in exc.extra
            }
            return web.Response(status=304, headers={**_DOWNLOAD_HEADERS, **validators})
        _raise_object_error(exc, bucket)
    try:
        response = web.StreamResponse(
            headers={
                **_DOWNLOAD_HEADERS,
                "Content-Type": info.meta.content_type or _DEFAULT_CONTENT_TYPE,
                "Content-Disposition": attachment(key),
                "ETag": f'"{info.etag}"',
                "Last-Modified": format_datetime(info.last_modified, usegmt=True),
            }
        )
        response.content_length = info.size
        await response.prepare(request)
        if read is not None:
            async for chunk in read.body:
                await response.write(chunk)
        await response.write_eof()
    finally:
        if read is not None:
            await read.aclose()
    return response


async def delete_object(request: web.Request) -> web.Response:
    bucket = await path_bucket(request, backend_answers_missing=True)
    key = query_key(request)
    if_match = _delete_condition(request)
    await authorize_rest(request, bucket, "DeleteObject", key=key, if_match=if_match)
    try:
        await request.app[BACKEND].delete_object(bucket, key, if_match=if_match)
    except BackendError as exc:
        _raise_object_error(exc, bucket)
    return web.Response(status=204)
