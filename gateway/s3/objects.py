"""Object operations: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects,
CopyObject."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote

from backends.types import CopySource, ObjectInfo
from gateway.s3.addressing import check_bucket_name, check_key
from gateway.s3.buckets import check_canned_acl
from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.headers import (
    CHECKSUM_PREFIX,
    conditions,
    object_headers,
    object_meta,
    parse_range,
    quote_etag,
    response_overrides,
)
from gateway.s3.xml import XmlWriter, child_text, children, local, parse_xml
from sigv4 import parse_content_md5

MAX_DELETE_KEYS = 1000


def content_md5(ctx: Context) -> bytes | None:
    value = ctx.headers.get("content-md5")
    return None if value is None else parse_content_md5(value)


def version_id(ctx: Context) -> str | None:
    value = ctx.query.get("versionId")
    if value is None or value == "null":
        return value
    raise S3Error("NoSuchVersion", extra={"VersionId": value})


def _refuse_conditional_write(ctx: Context) -> None:
    if "if-none-match" in ctx.headers or "if-match" in ctx.headers:
        raise S3Error("NotImplemented", "Conditional writes are not supported")


def checksum_headers(checksums: Mapping[str, str]) -> dict[str, str]:
    return {CHECKSUM_PREFIX + alg.lower(): value for alg, value in checksums.items()}


async def put_object(ctx: Context) -> Result:
    _refuse_conditional_write(ctx)
    check_canned_acl(ctx)
    meta = object_meta(ctx.headers)
    md5 = content_md5(ctx)
    body = ctx.body(backend_checks_md5=True)
    info = await ctx.backend.put_object(
        ctx.bucket, ctx.key, body, meta, content_md5=md5, size_hint=body.size_hint
    )
    headers = {"ETag": quote_etag(info.etag), **checksum_headers(info.checksums)}
    return Result(headers=headers)


def _part_number(ctx: Context) -> int | None:
    raw = ctx.query.get("partNumber")
    if raw is None:
        return None
    try:
        number = int(raw)
    except ValueError:
        number = 0
    if not 1 <= number <= 10000:
        raise S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000")
    return number


async def get_object(ctx: Context) -> Result:
    byte_range = parse_range(ctx.headers.get("range"))
    part_number = _part_number(ctx)
    if byte_range is not None and part_number is not None:
        raise S3Error("InvalidRequest", "Cannot specify both Range header and partNumber")
    overrides = response_overrides(ctx.query)
    read = await ctx.backend.get_object(
        ctx.bucket,
        ctx.key,
        byte_range=byte_range,
        part_number=part_number,
        conditions=conditions(ctx.headers),
        version_id=version_id(ctx),
    )
    info = read.info
    with_checksums = (
        ctx.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED" and not read.partial
    )
    headers = object_headers(info, with_checksums=with_checksums, overrides=overrides)
    status = 200
    if read.partial:
        status = 206
        headers["Content-Range"] = f"bytes {read.first}-{read.last}/{info.size}"
    return Result(status=status, headers=headers, stream=read)


async def head_object(ctx: Context) -> Result:
    if "range" in ctx.headers or "partNumber" in ctx.query:
        result = await get_object(ctx)
        if result.stream is not None:
            result.headers["Content-Length"] = str(result.stream.last - result.stream.first + 1)
            await result.stream.aclose()
            result.stream = None
        return result
    info = await ctx.backend.head_object(
        ctx.bucket, ctx.key, conditions=conditions(ctx.headers), version_id=version_id(ctx)
    )
    with_checksums = ctx.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED"
    headers = object_headers(
        info, with_checksums=with_checksums, overrides=response_overrides(ctx.query)
    )
    headers["Content-Length"] = str(info.size)
    return Result(headers=headers)


async def delete_object(ctx: Context) -> Result:
    await ctx.backend.delete_object(ctx.bucket, ctx.key, version_id=version_id(ctx))
    return Result(status=204)


async def delete_objects(ctx: Context) -> Result:
    # Content-MD5 and x-amz-checksum-* of the document are verified by the body pipeline.
    root = parse_xml(await ctx.xml_body())
    if local(root.tag) != "Delete":
        raise S3Error("MalformedXML")
    quiet = (child_text(root, "Quiet") or "").strip().lower() == "true"
    entries: list[tuple[str, str | None]] = []
    for element in children(root, "Object"):
        key = child_text(element, "Key")
        if key is None:
            raise S3Error("MalformedXML")
        entries.append((key, child_text(element, "VersionId")))
    if not entries or len(entries) > MAX_DELETE_KEYS:
        raise S3Error("MalformedXML")
    valid: list[tuple[str, str | None]] = []
    errors: list[tuple[str, str | None, str, str]] = []
    for key, vid in entries:
        if len(key.encode()) > 1024:
            errors.append((key, vid, "KeyTooLongError", "Your key is too long"))
        elif vid not in (None, "null"):
            errors.append((key, vid, "NoSuchVersion", "The specified version does not exist."))
        else:
            valid.append((key, vid))
    results = await ctx.backend.delete_objects(ctx.bucket, valid) if valid else []
    doc = XmlWriter("DeleteResult")
    for result in results:
        if result.error_code is None:
            if not quiet:
                doc.open("Deleted")
                doc.el("Key", result.key)
                doc.el("VersionId", result.version_id)
                doc.close("Deleted")
        else:
            errors.append(
                (result.key, result.version_id, result.error_code, result.error_message or "")
            )
    for key, vid, code, message in errors:
        doc.open("Error")
        doc.el("Key", key)
        doc.el("VersionId", vid)
        doc.el("Code", code)
        doc.el("Message", message)
        doc.close("Error")
    doc.close("DeleteResult")
    return Result(xml=bytes(doc))


def copy_source(ctx: Context) -> CopySource:
    raw = ctx.headers["x-amz-copy-source"]
    path, _, query = raw.partition("?")
    vid: str | None = None
    if query:
        name, _, value = query.partition("=")
        if name != "versionId":
            raise S3Error("InvalidArgument", "Invalid copy source")
        vid = unquote(value)
        if vid != "null":
            raise S3Error("NoSuchVersion", extra={"VersionId": vid})
    decoded = unquote(path).lstrip("/")
    bucket, slash, key = decoded.partition("/")
    if not slash or not key or not bucket:
        raise S3Error("InvalidArgument", "Copy Source must mention the source bucket and key")
    check_bucket_name(bucket)
    check_key(key)
    cond = conditions(ctx.headers, prefix="x-amz-copy-source-")
    if cond is None:
        return CopySource(bucket=bucket, key=key, version_id=vid)
    return CopySource(bucket=bucket, key=key, version_id=vid, conditions=cond)


def copy_result(info: ObjectInfo, element: str) -> bytes:
    doc = XmlWriter(element)
    doc.el("ETag", quote_etag(info.etag))
    doc.el("LastModified", info.last_modified)
    for algorithm, value in info.checksums.items():
        doc.el(f"Checksum{algorithm}", value)
    doc.close(element)
    return bytes(doc)


async def copy_object(ctx: Context) -> Result:
    _refuse_conditional_write(ctx)
    check_canned_acl(ctx)
    source = copy_source(ctx)
    directive = ctx.headers.get("x-amz-metadata-directive", "COPY").upper()
    if directive not in {"COPY", "REPLACE"}:
        raise S3Error("InvalidArgument", "Unknown metadata directive.")
    meta = object_meta(ctx.headers) if directive == "REPLACE" else None
    same = source.bucket == ctx.bucket and source.key == ctx.key
    if same and meta is None and "x-amz-storage-class" not in ctx.headers:
        raise S3Error(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect "
            "location or encryption attributes.",
        )
    info = await ctx.backend.copy_object(source, ctx.bucket, ctx.key, meta=meta)
    headers = {"x-amz-copy-source-version-id": "null"} if source.version_id else {}
    return Result(xml=copy_result(info, "CopyObjectResult"), headers=headers)
