"""Object operations: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects,
CopyObject."""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree

from backends.checksums import checksum_type_of
from backends.conditions import NOT_MODIFIED_FIELDS
from backends.errors import BackendError
from backends.types import COMPOSITE, ByteRange, DeleteResult, ObjectInfo, ObjectLock, ObjectRead
from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.flags import parse_checksum_mode
from gateway.s3.headers import (
    checksum_headers,
    if_range_holds,
    object_headers,
    object_meta,
    quote_etag,
    response_overrides,
)
from gateway.s3.lifecycle import expiration_headers, may_expire
from gateway.s3.lock_headers import UNTIL_HEADER, check_future, has_digest
from gateway.s3.object_lock import withhold_lock_headers
from gateway.s3.ownership import forget_deleted, plan_write, record_write
from gateway.s3.sse import sse_response_headers
from gateway.s3.tagging import tag_count_hidden
from gateway.s3.xml import XmlWriter, bool_element, children, local, parse_xml, sole_text
from sigv4.checksums import normalize_algorithm

__all__ = [
    "MAX_DELETE_DOCUMENT",
    "MAX_DELETE_KEYS",
    "checksum_headers",
    "copy_object",
    "copy_result",
    "delete_object",
    "delete_objects",
    "get_object",
    "head_object",
    "put_object",
    "write_checksums",
]

MAX_DELETE_KEYS = 1000
MAX_DELETE_DOCUMENT = MAX_DELETE_KEYS * 8 * 1024
"""The largest DeleteObjects body read (unless ``s3.max_xml_body`` is larger): room for
1,000 keys of 1,024 bytes written with XML's five-byte escapes, a version id and an ETag
each. S3 accepts every such request, which the general 1 MiB cap refused."""


def requested_lock(ctx: Context) -> ObjectLock | None:
    """The write's ``x-amz-object-lock-*`` settings, with a retain-until in the future."""
    lock = ctx.req.object_lock
    if lock is not None:
        check_future(lock.retain_until, ctx.now, ctx.headers.get(UNTIL_HEADER, ""))
    return lock


def version_header(version_id: str | None) -> dict[str, str]:
    return {} if version_id is None else {"x-amz-version-id": version_id}


def written_version_header(version_id: str | None) -> dict[str, str]:
    """The version a write made (PutObject, CopyObject, CompleteMultipartUpload, POST),
    as S3 names it: none for the ``null`` version a ``Suspended`` bucket's write
    replaces, which S3 answers without ``x-amz-version-id`` (GET and HEAD of it, and a
    DELETE's null marker, do say ``null``)."""
    return {} if version_id == "null" else version_header(version_id)


async def put_object(ctx: Context) -> Result:
    plan = await plan_write(ctx)
    meta = object_meta(ctx.headers, ctx.req.header_pairs)
    lock = requested_lock(ctx)
    if lock is not None and not has_digest(ctx.headers):
        raise S3Error(
            "InvalidRequest",
            "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests "
            "with Object Lock parameters",
        )
    body = ctx.body()
    info = await ctx.backend.put_object(
        ctx.bucket,
        ctx.key,
        body,
        meta,
        content_md5=ctx.req.content_md5,
        size_hint=body.size_hint,
        encryption=ctx.req.encryption,
        object_lock=lock,
        condition=ctx.req.write_condition,
        tags=ctx.req.tags or (),
    )
    await record_write(ctx, plan, info)
    headers = {
        "ETag": quote_etag(info.etag),
        **checksum_headers(info.checksums, with_type=True),
        **sse_response_headers(info.meta),
        **written_version_header(info.version_id),
    }
    if may_expire(ctx):
        headers.update(await expiration_headers(ctx, info, ctx.req.tags or ()))
    return Result(headers=headers)


def _overrides(ctx: Context) -> dict[str, str]:
    """The ``response-*`` header overrides of a GET or HEAD. S3 honours them on signed
    requests only (a presigned URL is signed): an anonymous one is ``InvalidRequest``, so
    a link to a public object cannot make it be served as another type (``text/html``)
    or with another disposition."""
    overrides = response_overrides(ctx.req.query)
    if overrides and ctx.principal.is_anonymous:
        raise S3Error(
            "InvalidRequest",
            "Request specific response headers cannot be used for anonymous GET requests.",
        )
    return overrides


async def _read(ctx: Context, byte_range: ByteRange | None) -> ObjectRead:
    """``get_object``'s read with this range (an ``If-Range`` decides between two)."""
    req = ctx.req
    return await ctx.backend.get_object(
        ctx.bucket,
        ctx.key,
        byte_range=byte_range,
        part_number=req.part_number,
        conditions=req.conditions,
        version_id=req.version_id,
        encryption=req.encryption,
    )


async def _ranged_read(ctx: Context, if_range: str) -> ObjectRead:
    """A Range with ``If-Range``: the range of the object the validator names, else
    the whole object as it is now (200), so a resumed download never joins bytes of two
    objects. A range the object cannot satisfy is 416 only when the validator holds."""
    try:
        read = await _read(ctx, ctx.req.byte_range)
    except BackendError as exc:
        if exc.code != "InvalidRange":
            raise
        read = await _read(ctx, None)
        if if_range_holds(if_range, read.info):
            await read.aclose()
            raise
        return read
    if if_range_holds(if_range, read.info):
        return read
    await read.aclose()
    return await _read(ctx, None)


def _override_not_modified(exc: BackendError, overrides: Mapping[str, str]) -> None:
    """A 304 carries the Cache-Control and Expires the 200 would have (RFC 9110 15.4.5):
    those the request's ``response-*`` overrides set, when it has any (the overrides name
    no other header of ``NOT_MODIFIED_FIELDS``)."""
    if exc.code == "NotModified":
        for field in NOT_MODIFIED_FIELDS:
            if field.header in overrides:
                exc.extra[field.name] = overrides[field.header]


async def get_object(ctx: Context) -> Result:
    req = ctx.req
    overrides = _overrides(ctx)
    checksum_mode = parse_checksum_mode(ctx.headers)
    try:  # free unless raised (Python 3.11's zero-cost exceptions)
        if req.if_range is None:  # the usual read, without another coroutine's frame
            read = await ctx.backend.get_object(
                ctx.bucket,
                ctx.key,
                byte_range=req.byte_range,
                part_number=req.part_number,
                conditions=req.conditions,
                version_id=req.version_id,
                encryption=req.encryption,
            )
        else:
            read = await _ranged_read(ctx, req.if_range)
    except BackendError as exc:
        if overrides:
            _override_not_modified(exc, overrides)
        raise
    info = read.info
    with_checksums = checksum_mode and not read.partial
    headers = object_headers(
        info,
        with_checksums=with_checksums,
        with_parts_count=req.part_number is not None,
        overrides=overrides,
    )
    if read.part_checksums is not None and checksum_mode:
        # one part of a COMPOSITE object: S3 answers that part's own checksum
        headers.update(checksum_headers(read.part_checksums))
        headers["x-amz-checksum-type"] = COMPOSITE
    if req.version_id is None and may_expire(ctx):
        headers.update(await expiration_headers(ctx, info))
    if info.tag_count and await tag_count_hidden(ctx, info):
        del headers["x-amz-tagging-count"]
    if info.lock is not None:
        await withhold_lock_headers(ctx, info, headers)
    status = 200
    if read.partial:
        status = 206
        headers["Content-Range"] = f"bytes {read.first}-{read.last}/{info.size}"
    return Result(status=status, headers=headers, stream=read)


async def head_object(ctx: Context) -> Result:
    overrides = _overrides(ctx)
    with_checksums = parse_checksum_mode(ctx.headers)
    if ctx.req.byte_range is not None or ctx.req.part_number is not None:
        result = await get_object(ctx)
        if result.stream is not None:
            result.headers["Content-Length"] = str(result.stream.last - result.stream.first + 1)
            await result.stream.aclose()
            result.stream = None
        return result
    try:
        info = await ctx.backend.head_object(
            ctx.bucket,
            ctx.key,
            conditions=ctx.req.conditions,
            version_id=ctx.req.version_id,
            encryption=ctx.req.encryption,
        )
    except BackendError as exc:
        if overrides:
            _override_not_modified(exc, overrides)
        raise
    headers = object_headers(info, with_checksums=with_checksums, overrides=overrides)
    if ctx.req.version_id is None and may_expire(ctx):
        headers.update(await expiration_headers(ctx, info))
    if info.tag_count and await tag_count_hidden(ctx, info):
        del headers["x-amz-tagging-count"]
    if info.lock is not None:
        await withhold_lock_headers(ctx, info, headers)
    headers["Content-Length"] = str(info.size)
    return Result(headers=headers)


def _delete_headers(result: DeleteResult) -> dict[str, str]:
    """A created or removed delete marker says so; the version id is the marker's (a
    delete without a version id) or the one deleted."""
    headers = {"x-amz-delete-marker": "true"} if result.delete_marker else {}
    version_id = result.version_id or result.delete_marker_version_id
    return {**headers, **version_header(version_id)}


async def delete_object(ctx: Context) -> Result:
    result = await ctx.backend.delete_object(
        ctx.bucket,
        ctx.key,
        version_id=ctx.req.version_id,
        bypass_governance=ctx.bypass_governance,
        if_match=ctx.req.delete_if_match,
    )
    await forget_deleted(ctx, [(ctx.key, ctx.req.version_id)])
    return Result(status=204, headers=_delete_headers(result))


_DIRECTORY_BUCKET_ELEMENTS = ("LastModifiedTime", "Size")
"""``<Object>`` conditions S3 evaluates in directory buckets only."""
_OBJECT_ELEMENTS = frozenset({"Key", "VersionId", "ETag", *_DIRECTORY_BUCKET_ELEMENTS})
_DELETE_ELEMENTS = frozenset({"Object", "Quiet"})
"""S3's schema: ``Delete`` holds ``Object``s and at most one ``Quiet`` (S3's booleans:
:func:`~gateway.s3.xml.xml_bool`), in any order, an ``Object`` one ``Key`` and at most
one of each other element; anything else is ``MalformedXML`` (docs/architecture.md),
before any key is deleted."""
MAX_DELETE_ELEMENTS = 2 + MAX_DELETE_KEYS * (1 + len(_OBJECT_ELEMENTS))
"""The most elements a DeleteObjects document S3's schema allows holds: ``Delete``,
``Quiet``, and 1,000 ``Object``s of one of each element an ``Object`` may hold."""


def _schema_elements(element: etree._Element, allowed: frozenset[str]) -> None:
    if any(isinstance(c.tag, str) and local(c.tag) not in allowed for c in element):
        raise S3Error("MalformedXML")


def _delete_entry(element: etree._Element) -> tuple[str, str | None, str | None]:
    """One ``<Object>`` of a DeleteObjects body: its key, version id and ``<ETag>``
    (unquoted, or ``*``). A condition the gateway does not evaluate (``LastModifiedTime``,
    ``Size``; an ``ETag`` with a ``VersionId``) refuses the whole request before anything
    is deleted, naming it: ignoring it would delete what the client conditioned."""
    _schema_elements(element, _OBJECT_ELEMENTS)
    key = sole_text(element, "Key")
    if key is None:
        raise S3Error("MalformedXML")
    version_id = sole_text(element, "VersionId")
    for name in _DIRECTORY_BUCKET_ELEMENTS:
        if children(element, name):
            raise S3Error(
                "NotImplemented",
                f"The {name} condition of DeleteObjects is not implemented",
                extra={"Element": name},
            )
    raw = sole_text(element, "ETag")
    etag = None if raw is None else raw.strip().strip('"')
    if etag is not None:
        if not etag:
            raise S3Error("MalformedXML")
        if version_id is not None:
            raise S3Error(
                "NotImplemented",
                "A conditional delete of a version is not implemented: S3 evaluates "
                "conditional deletes against the current version only",
                extra={"Element": "ETag,VersionId"},
            )
    return key, version_id, etag


def _distinct(
    entries: list[tuple[str, str | None, str | None]],
) -> list[tuple[str, str | None, str | None]]:
    """DeleteObjects entries naming one (key, version) pair once: the first of them. S3
    deletes each pair once and reports it once (a key named twice without a version
    makes one delete marker, not two; the key bare and with ``null`` are two pairs), as
    a capture of AWS's answers shows."""
    seen: set[tuple[str, str | None]] = set()
    distinct = []
    for entry in entries:
        if (entry[0], entry[1]) not in seen:
            seen.add((entry[0], entry[1]))
            distinct.append(entry)
    return distinct


async def delete_objects(ctx: Context) -> Result:
    # Content-MD5 and x-amz-checksum-* of the document are verified by the body pipeline.
    limit = max(ctx.config.s3.max_xml_body, MAX_DELETE_DOCUMENT)
    root = parse_xml(await ctx.xml_body(limit), max_elements=MAX_DELETE_ELEMENTS)
    if local(root.tag) != "Delete":
        raise S3Error("MalformedXML")
    _schema_elements(root, _DELETE_ELEMENTS)
    quiet = bool_element(root, "Quiet", default=False)
    objects = children(root, "Object")
    # counted before any entry is read: 8 MB of tiny <Object>s is 280,000 of them, whose
    # reading held the event loop for seconds before the count refused them
    if not objects or len(objects) > MAX_DELETE_KEYS:
        raise S3Error("MalformedXML")
    entries = _distinct([_delete_entry(element) for element in objects])
    # the keys to delete, grouped by whether the governance bypass takes effect on them
    valid: dict[bool, list[tuple[str, str | None]]] = {False: [], True: []}
    etags: dict[bool, list[str | None]] = {False: [], True: []}
    errors: list[tuple[str, str | None, str, str]] = []
    for key, vid, etag in entries:
        if len(key.encode()) > 1024:
            errors.append((key, vid, "KeyTooLongError", "Your key is too long"))
            continue
        if not key:
            # No object can have it (keys are 1 to 1,024 bytes): deleting it would leave a
            # delete marker no other request can name, and DELETE /bucket/ is DeleteBucket.
            errors.append((key, vid, "InvalidArgument", "An object key must not be empty"))
            continue
        if vid == "":
            # ``<VersionId/>`` names a version no object has (S3 answers NoSuchVersion); a
            # backend reading it as "no version" would delete the current object instead.
            errors.append((key, vid, "NoSuchVersion", "The specified version does not exist."))
            continue
        decision, bypass = await ctx.access.check_delete(key, vid, etag)  # S3 decides each key
        if decision.allowed:
            valid[bypass].append((key, vid))
            etags[bypass].append(etag)
        else:
            errors.append((key, vid, "AccessDenied", decision.message))
    results: list[DeleteResult] = []
    for bypass, keys in valid.items():
        if keys:
            results.extend(
                await ctx.backend.delete_objects(
                    ctx.bucket,
                    keys,
                    bypass_governance=bypass,
                    etags=etags[bypass] if any(e is not None for e in etags[bypass]) else None,
                )
            )
    await forget_deleted(ctx, [(r.key, r.version_id) for r in results if r.error_code is None])
    doc = XmlWriter("DeleteResult")
    for result in results:
        if result.error_code is None:
            if not quiet:
                doc.open("Deleted")
                doc.el("Key", result.key)
                doc.el("VersionId", result.version_id)
                if result.delete_marker:
                    doc.el("DeleteMarker", True)
                    doc.el("DeleteMarkerVersionId", result.delete_marker_version_id)
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


def write_checksums(doc: XmlWriter, checksums: Mapping[str, str]) -> None:
    """``<Checksum<ALG>>`` elements and ``<ChecksumType>`` of a write's result."""
    for algorithm, value in checksums.items():
        doc.el(f"Checksum{algorithm}", value)
    if checksums:
        doc.el("ChecksumType", checksum_type_of(next(iter(checksums.values()))))


def copy_result(info: ObjectInfo, element: str) -> bytes:
    doc = XmlWriter(element)
    doc.el("ETag", quote_etag(info.etag))
    doc.el("LastModified", info.last_modified)
    write_checksums(doc, info.checksums)
    doc.close(element)
    return bytes(doc)


async def copy_object(ctx: Context) -> Result:
    plan = await plan_write(ctx)
    source = ctx.req.copy_source
    assert source is not None  # the operation table requires x-amz-copy-source
    # the directives are read once, as S3 reads them (gateway.s3.request._directive)
    meta = object_meta(ctx.headers, ctx.req.header_pairs) if ctx.req.replace_metadata else None
    # COPY keeps the source's tags (an x-amz-tagging header is then ignored, as S3 does)
    tags = (ctx.req.tags or ()) if ctx.req.replace_tags else None
    # Copying a named version onto its own key is how a version is restored: allowed.
    same = source.bucket == ctx.bucket and source.key == ctx.key and source.version_id is None
    encryption = ctx.req.encryption
    changes_encryption = encryption is not None and (
        encryption.algorithm is not None or encryption.customer is not None
    )
    if (
        same
        and meta is None
        and "x-amz-storage-class" not in ctx.headers
        and not changes_encryption
    ):
        raise S3Error(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect "
            "location or encryption attributes.",
        )
    requested = ctx.headers.get("x-amz-checksum-algorithm")
    info = await ctx.backend.copy_object(
        source,
        ctx.bucket,
        ctx.key,
        meta=meta,
        encryption=encryption,
        object_lock=requested_lock(ctx),
        condition=ctx.req.write_condition,
        tags=tags,
        # S3 gives the copy a checksum of this algorithm (InvalidRequest for an unknown one)
        checksum_algorithm=None if requested is None else normalize_algorithm(requested),
    )
    await record_write(ctx, plan, info)
    # The version copied: the one named, else the source's latest (S3 names it whenever
    # the source bucket has versions)
    copied = source.version_id or info.source_version_id
    headers = {"x-amz-copy-source-version-id": copied} if copied else {}
    headers.update(sse_response_headers(info.meta))
    headers.update(written_version_header(info.version_id))
    headers.update(await expiration_headers(ctx, info, tags))
    return Result(xml=copy_result(info, "CopyObjectResult"), headers=headers)
