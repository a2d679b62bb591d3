"""Multipart uploads: create, upload part (and copy), complete, abort, list."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote

from backends.checksums import parse_checksum_type, upload_checksum
from backends.errors import BackendError
from backends.types import ObjectInfo, Upload
from gateway.authz.stored import acl_to_json
from gateway.identity.object_acls import UploadAcl
from gateway.s3.bucket_facts import private_acl
from gateway.s3.completion import (
    MAX_COMPLETION_ELEMENTS,
    MAX_PARTS,
    completion_checksums,
    completion_parts,
)
from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.headers import checksum_headers, object_meta, quote_etag
from gateway.s3.lifecycle import abort_headers, aborts_uploads_of, expiration_headers
from gateway.s3.listing import KeyNames, max_keys
from gateway.s3.objects import requested_lock, write_checksums, written_version_header
from gateway.s3.owner import OwnerName, owner_name, write_owner
from gateway.s3.ownership import existing_bucket, plan_write, reclaim_row, record_upload
from gateway.s3.sse import part_encryption_headers, sse_response_headers
from gateway.s3.xml import XmlWriter, parse_xml

__all__ = [
    "MAX_COMPLETION_DOCUMENT",
    "MAX_PARTS",
    "abort_multipart_upload",
    "complete_multipart_upload",
    "create_multipart_upload",
    "list_multipart_uploads",
    "list_parts",
    "upload_part",
    "upload_part_copy",
]

MAX_COMPLETION_DOCUMENT = MAX_PARTS * 512
"""The largest CompleteMultipartUpload body read (unless ``s3.max_xml_body`` is larger):
512 bytes for each of 10,000 parts holds a part number, an ETag (even one quoted as
``&quot;``) and a checksum. botocore writes about 130 bytes a part with a CRC32, so an
SDK's completion of more than about 8,200 parts passed the general 1 MiB cap and was
refused."""

_MAX_MARKER = 2147483647  # as S3: a part-number-marker beyond a signed 32-bit integer is refused


def _upload_id(ctx: Context) -> str:
    value = ctx.query.get("uploadId", "")
    if not value:
        raise S3Error("NoSuchUpload")
    return value


def _part_number(ctx: Context) -> int:
    number = ctx.req.part_number
    assert number is not None  # the operation table requires partNumber
    return number


async def create_multipart_upload(ctx: Context) -> Result:
    plan = await plan_write(ctx)
    meta = object_meta(ctx.headers, ctx.req.header_pairs)
    algorithm = ctx.headers.get("x-amz-checksum-algorithm")
    if algorithm is not None:
        algorithm = algorithm.strip().upper()
    checksum_type = upload_checksum(
        algorithm, parse_checksum_type(ctx.headers.get("x-amz-checksum-type"))
    )
    upload = await ctx.backend.create_multipart_upload(
        ctx.bucket,
        ctx.key,
        meta,
        checksum_algorithm=algorithm,
        checksum_type=checksum_type,
        encryption=ctx.req.encryption,
        object_lock=requested_lock(ctx),
        tags=ctx.req.tags or (),
    )
    await record_upload(ctx, plan, ctx.key, upload.upload_id)
    doc = XmlWriter("InitiateMultipartUploadResult")
    doc.el("Bucket", ctx.bucket)
    doc.el("Key", ctx.key)
    doc.el("UploadId", upload.upload_id)
    doc.close("InitiateMultipartUploadResult")
    headers = {}
    if algorithm and checksum_type:
        headers = {"x-amz-checksum-algorithm": algorithm, "x-amz-checksum-type": checksum_type}
    headers.update(sse_response_headers(upload.meta))
    headers.update(await _abort_headers(ctx, upload))
    return Result(xml=bytes(doc), headers=headers)


_MAX_START_PAGES = 10
"""ListMultipartUploads pages read to find when an upload began (1,000 uploads each):
the uploads of one key, which a client rarely leaves by the thousand."""


async def _abort_headers(ctx: Context, upload: Upload) -> dict[str, str]:
    """``x-amz-abort-date`` / ``x-amz-abort-rule-id`` of an upload in progress, which S3
    sends on CreateMultipartUpload and ListParts when a lifecycle rule aborts it. When the
    store's answer did not say when the upload began (the s3 backend's ListParts), the
    uploads of the key are listed to find out, only if a rule covers the key."""
    initiated = upload.initiated
    if initiated is None and aborts_uploads_of(ctx, upload.key):
        initiated = await _upload_started(ctx, upload)
    return {} if initiated is None else abort_headers(ctx, upload.key, initiated)


async def _upload_started(ctx: Context, upload: Upload) -> datetime | None:
    """When ``upload`` began, from the listing of the uploads of its key (None: not
    listed, e.g. completed or aborted meanwhile)."""
    key_marker: str | None = None
    id_marker: str | None = None
    for _ in range(_MAX_START_PAGES):
        page = await ctx.backend.list_multipart_uploads(
            upload.bucket, prefix=upload.key, key_marker=key_marker, upload_id_marker=id_marker
        )
        for listed in page.uploads:
            if listed.upload_id == upload.upload_id and listed.key == upload.key:
                return listed.initiated
        if not page.is_truncated or page.next_key_marker != upload.key:
            return None  # past the key's uploads
        key_marker, id_marker = page.next_key_marker, page.next_upload_id_marker
    return None


async def upload_part(ctx: Context) -> Result:
    number = _part_number(ctx)
    body = ctx.body()
    part = await ctx.backend.upload_part(
        ctx.bucket,
        ctx.key,
        _upload_id(ctx),
        number,
        body,
        content_md5=ctx.req.content_md5,
        size_hint=body.size_hint,
        encryption=ctx.req.encryption,
        checksum_algorithm=body.checksum_algorithm,
    )
    headers = {"ETag": quote_etag(part.etag), **checksum_headers(part.checksums)}
    headers.update(part_encryption_headers(part, ctx.req.encryption))
    return Result(headers=headers)


async def upload_part_copy(ctx: Context) -> Result:
    number = _part_number(ctx)
    source = ctx.req.copy_source
    assert source is not None  # the operation table requires x-amz-copy-source
    part = await ctx.backend.upload_part_copy(
        source, ctx.bucket, ctx.key, _upload_id(ctx), number, encryption=ctx.req.encryption
    )
    doc = XmlWriter("CopyPartResult")
    doc.el("ETag", quote_etag(part.etag))
    doc.el("LastModified", part.last_modified)
    for algorithm, value in part.checksums.items():
        doc.el(f"Checksum{algorithm}", value)
    doc.close("CopyPartResult")
    # The version copied: the one named, else the source's latest (S3 names it whenever
    # the source bucket has been versioned), as CopyObject answers
    copied = source.version_id or part.source_version_id
    headers = {"x-amz-copy-source-version-id": copied} if copied else {}
    headers.update(part_encryption_headers(part, ctx.req.encryption))
    return Result(xml=bytes(doc), headers=headers)


def _location(ctx: Context) -> str:
    """The object's URL as the client addresses the gateway (path or virtual host)."""
    key = quote(ctx.key, safe="/")
    if ctx.req.address.virtual_host:
        return f"{ctx.req.base_url}/{key}"
    return f"{ctx.req.base_url}/{ctx.bucket}/{key}"


async def complete_multipart_upload(ctx: Context) -> Result:
    upload_id = _upload_id(ctx)
    limit = max(ctx.config.s3.max_xml_body, MAX_COMPLETION_DOCUMENT)
    root = parse_xml(
        await ctx.xml_body(limit, object_checksums=True),
        max_elements=MAX_COMPLETION_ELEMENTS,
        too_many="TooManyParts",
    )
    parts, part_checksums = completion_parts(root)
    keeps_rows = await _keeps_rows(ctx)
    replay = keeps_rows and not await _in_progress(ctx, upload_id)
    info = await ctx.backend.complete_multipart_upload(
        ctx.bucket,
        ctx.key,
        upload_id,
        parts,
        encryption=ctx.req.encryption,
        checksums=completion_checksums(ctx.headers, part_checksums),
        condition=ctx.req.write_condition,
        object_size=_expected_size(ctx),
    )
    if not replay and not info.retried:
        await _record_completion(ctx, info, keeps_rows=keeps_rows)
    doc = XmlWriter("CompleteMultipartUploadResult")
    doc.el("Location", _location(ctx))
    doc.el("Bucket", ctx.bucket)
    doc.el("Key", ctx.key)
    doc.el("ETag", quote_etag(info.etag))
    write_checksums(doc, info.checksums)
    doc.close("CompleteMultipartUploadResult")
    headers = sse_response_headers(info.meta)
    headers.update(written_version_header(info.version_id))
    headers.update(await expiration_headers(ctx, info))
    return Result(xml=bytes(doc), headers=headers)


def _expected_size(ctx: Context) -> int | None:
    """``x-amz-mp-object-size``: the size the client expects the object to have (S3
    refuses the completion when the parts make another, ``InvalidRequest``)."""
    raw = ctx.headers.get("x-amz-mp-object-size")
    if raw is None:
        return None
    value = raw.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        raise S3Error(
            "InvalidArgument",
            "x-amz-mp-object-size must be a non-negative integer",
            extra={"ArgumentName": "x-amz-mp-object-size", "ArgumentValue": raw},
        )
    return int(value)


async def _keeps_rows(ctx: Context) -> bool:
    """Whether the completion's bucket keeps ownership rows as the completion begins, when
    that matters: the upload has no row of its own (with one, its row becomes the
    object's whatever the bucket). Asked of the state store only when the cached
    settings say "no rows" (``rows_begun_elsewhere``), once: the answer decides whether
    :func:`_in_progress` is asked, and a yes stands for the row after the write."""
    bucket = existing_bucket(ctx)
    if ctx.access.upload is not None or bucket.has_rows:
        return True
    return await ctx.access.store.object_acls.rows_begun_elsewhere(bucket.name)


async def _in_progress(ctx: Context, upload_id: str) -> bool:
    """Whether the upload is there as the completion begins. A store answers a completion
    retried after it succeeded with the object it made (S3 does, the filesystem backend
    too): that answer wrote nothing, so neither may the ownership rows, whose default row
    would replace the object's (its ACL, its owner: an ACL change by anyone who may write
    the key, with no ``s3:PutObjectAcl``). Asked of the store only when it matters: the
    bucket keeps rows (:func:`_keeps_rows`) and the upload has none (an upload's row is
    gone once completed). A completion that finds the upload there but loses to another
    completion of it is answered as a retry too: the backend marks that answer
    (``CompletedUpload.retried``)."""
    if ctx.access.upload is not None:
        return True
    try:
        await ctx.backend.list_parts(
            ctx.bucket, ctx.key, upload_id, max_parts=1, encryption=ctx.req.encryption
        )
    except BackendError as exc:
        if exc.code == "NoSuchUpload":
            return False
        raise
    return True


async def _record_completion(ctx: Context, info: ObjectInfo, *, keeps_rows: bool) -> None:
    """The upload's row (who started it, who owns the object, its ACL) becomes the
    object's; in a bucket that keeps rows, an upload without one gives the default.
    ``keeps_rows``: :func:`_keeps_rows` before the write. A no is asked again now: rows
    another host begins while the parts are joined (seconds, for a large object) must
    still get this version its row (``rows_begun_elsewhere``); a yes stands (a bucket's
    rows, once begun, stay while it exists). A row refused (a row of the version from a
    write at the same time or later) is the storage's to settle (``reclaim_row``)."""
    bucket = existing_bucket(ctx)
    assert bucket.owner is not None
    rows = ctx.access.store.object_acls
    upload = ctx.access.upload
    if upload is not None:
        foreign = upload.owner != bucket.owner.account_id
        owner_id, acl = upload.owner, upload.acl
        stood = await rows.complete_upload(
            bucket.name, upload, info.version_id, foreign=foreign, written_at=info.last_modified
        )
    elif keeps_rows or await rows.rows_begun_elsewhere(bucket.name):
        owner = await owner_name(ctx.access.store, bucket.owner.account_id)
        owner_id, acl = bucket.owner.account_id, acl_to_json(private_acl(owner.user))
        stood = await rows.record(
            bucket.name,
            info.key,
            info.version_id,
            owner=owner_id,
            acl=acl,
            foreign=False,
            written_at=info.last_modified,
        )
    else:
        return
    if not stood:
        await reclaim_row(ctx.access.store, ctx.backend, info, owner=owner_id, acl=acl)


async def abort_multipart_upload(ctx: Context) -> Result:
    await ctx.backend.abort_multipart_upload(ctx.bucket, ctx.key, _upload_id(ctx))
    if ctx.access.upload is not None:
        await ctx.access.store.object_acls.forget_upload(ctx.bucket, ctx.access.upload.upload_id)
    return Result(status=204)


async def _people(ctx: Context, upload: UploadAcl | None) -> tuple[OwnerName, OwnerName]:
    """(Initiator, Owner) of an upload: the bucket owner's unless its row says else."""
    bucket = existing_bucket(ctx)
    assert bucket.owner is not None
    store = ctx.access.store
    if upload is None:
        owner = await owner_name(store, bucket.owner.account_id)
        return owner, owner
    return await owner_name(store, upload.initiator), await owner_name(store, upload.owner)


def _initiator(doc: XmlWriter, people: tuple[OwnerName, OwnerName]) -> None:
    write_owner(doc, people[0], "Initiator")
    write_owner(doc, people[1], "Owner")


async def list_parts(ctx: Context) -> Result:
    raw = ctx.query.get("part-number-marker", "0") or "0"
    marker = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 10 else -1
    if not 0 <= marker <= _MAX_MARKER:
        raise S3Error(
            "InvalidArgument",
            f"Argument part-number-marker must be an integer between 0 and {_MAX_MARKER}",
            extra={"ArgumentName": "part-number-marker", "ArgumentValue": raw},
        )
    limit = max_keys(ctx, "max-parts")
    page = await ctx.backend.list_parts(
        ctx.bucket,
        ctx.key,
        _upload_id(ctx),
        part_number_marker=marker,
        max_parts=limit,
        encryption=ctx.req.encryption,
    )
    doc = XmlWriter("ListPartsResult")
    doc.el("Bucket", ctx.bucket)
    doc.el("Key", ctx.key)
    doc.el("UploadId", page.upload.upload_id)
    _initiator(doc, await _people(ctx, ctx.access.upload))
    doc.el("StorageClass", page.upload.meta.storage_class)
    doc.el("PartNumberMarker", marker)
    if page.next_part_number_marker is not None:
        doc.el("NextPartNumberMarker", page.next_part_number_marker)
    doc.el("MaxParts", limit)
    doc.el("IsTruncated", page.is_truncated)
    if page.upload.checksum_algorithm:
        doc.el("ChecksumAlgorithm", page.upload.checksum_algorithm)
        doc.el("ChecksumType", page.upload.checksum_type)
    for part in page.parts:
        doc.open("Part")
        doc.el("PartNumber", part.part_number)
        doc.el("LastModified", part.last_modified)
        doc.el("ETag", quote_etag(part.etag))
        doc.el("Size", part.size)
        for algorithm, value in part.checksums.items():
            doc.el(f"Checksum{algorithm}", value)
        doc.close("Part")
    doc.close("ListPartsResult")
    return Result(xml=bytes(doc), headers=await _abort_headers(ctx, page.upload))


def _upload_entry(
    doc: XmlWriter, upload: Upload, people: tuple[OwnerName, OwnerName], names: KeyNames
) -> None:
    doc.open("Upload")
    doc.el("Key", names(upload.key))
    doc.el("UploadId", upload.upload_id)
    _initiator(doc, people)
    doc.el("StorageClass", upload.meta.storage_class)
    doc.el("Initiated", upload.initiated)
    if upload.checksum_algorithm:
        doc.el("ChecksumAlgorithm", upload.checksum_algorithm)
        doc.el("ChecksumType", upload.checksum_type)
    doc.close("Upload")


async def list_multipart_uploads(ctx: Context) -> Result:
    """``encoding-type=url`` encodes the key names, as in the object listings: Delimiter,
    KeyMarker, Prefix, NextKeyMarker, each Key and each common prefix (AWS's list)."""
    names = KeyNames(ctx)
    limit = max_keys(ctx, "max-uploads")
    prefix = ctx.query.get("prefix", "")
    delimiter = ctx.query.get("delimiter") or None
    key_marker = ctx.query.get("key-marker") or None
    upload_marker = ctx.query.get("upload-id-marker") or None
    page = await ctx.backend.list_multipart_uploads(
        ctx.bucket,
        prefix=prefix,
        delimiter=delimiter,
        key_marker=key_marker,
        upload_id_marker=upload_marker if key_marker else None,
        max_uploads=limit,
    )
    doc = XmlWriter("ListMultipartUploadsResult")
    doc.el("Bucket", ctx.bucket)
    doc.el("KeyMarker", names(key_marker or ""))
    doc.el("UploadIdMarker", upload_marker or "")
    doc.el("NextKeyMarker", names(page.next_key_marker or ""))
    doc.el("NextUploadIdMarker", page.next_upload_id_marker or "")
    doc.el("Prefix", names(prefix))
    doc.el("Delimiter", names(delimiter))
    doc.el("MaxUploads", limit)
    doc.el("IsTruncated", page.is_truncated)
    if names.url:
        doc.el("EncodingType", "url")
    bucket = existing_bucket(ctx)
    rows: Mapping[str, UploadAcl] = {}
    if bucket.has_rows and page.uploads:
        rows = await ctx.access.store.object_acls.uploads(
            bucket.name, (u.upload_id for u in page.uploads)
        )
    for upload in page.uploads:
        _upload_entry(doc, upload, await _people(ctx, rows.get(upload.upload_id)), names)
    for common in page.common_prefixes:
        doc.open("CommonPrefixes")
        doc.el("Prefix", names(common))
        doc.close("CommonPrefixes")
    doc.close("ListMultipartUploadsResult")
    return Result(xml=bytes(doc))
