"""GetObjectAttributes: what HEAD tells and more, as one XML document, chosen by
``x-amz-object-attributes``.

As S3: the ETag is unquoted; a composite checksum loses its ``-N`` suffix (the part count
is ``ObjectParts/PartsCount``); ``ObjectParts`` is given for objects made by
CompleteMultipartUpload only, and lists ``Part`` entries (size and checksum) only when
the object has a checksum; ``x-amz-max-parts`` and ``x-amz-part-number-marker`` page
them. A delete marker answers as on HEAD (404 with ``x-amz-delete-marker``, or 405 for
its version id). Versioned buckets report the version in ``x-amz-version-id``.
"""

from __future__ import annotations

from collections.abc import Mapping

from backends.checksums import checksum_type_of
from backends.types import ObjectAttributes
from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.headers import http_date
from gateway.s3.objects import version_header
from gateway.s3.xml import XmlWriter

__all__ = ["ATTRIBUTES", "get_object_attributes"]

ATTRIBUTES = ("ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize")
_MAX_MARKER = 2147483647


def _selected(ctx: Context) -> frozenset[str]:
    """Every ``x-amz-object-attributes`` value (the header may repeat), comma-separated."""
    names: set[str] = set()
    for name, value in ctx.req.header_pairs:
        if name.lower() == "x-amz-object-attributes":
            names.update(part.strip() for part in value.split(","))
    names.discard("")
    if not names or not names <= set(ATTRIBUTES):
        invalid = sorted(names - set(ATTRIBUTES))
        raise S3Error(
            "InvalidArgument",
            "Invalid attribute name specified.",
            extra={
                "ArgumentName": "x-amz-object-attributes",
                "ArgumentValue": ", ".join(invalid),
            },
        )
    return frozenset(names)


def _number(ctx: Context, header: str, default: int, *, low: int) -> int:
    raw = ctx.headers.get(header)
    if raw is None:
        return default
    text = raw.strip()
    value = int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else -1
    if not low <= value <= _MAX_MARKER:
        raise S3Error(
            "InvalidArgument",
            f"Argument {header} must be an integer between {low} and {_MAX_MARKER}",
            extra={"ArgumentName": header, "ArgumentValue": raw},
        )
    return value


def _checksum(doc: XmlWriter, checksums: Mapping[str, str]) -> None:
    doc.open("Checksum")
    for algorithm, value in checksums.items():
        doc.el(f"Checksum{algorithm}", value.partition("-")[0])
    doc.el("ChecksumType", checksum_type_of(next(iter(checksums.values()))))
    doc.close("Checksum")


def _object_parts(
    doc: XmlWriter, attrs: ObjectAttributes, marker: int, max_parts: int, *, with_parts: bool
) -> None:
    doc.open("ObjectParts")
    doc.el("PartsCount", attrs.total_parts)
    doc.el("PartNumberMarker", marker)
    if attrs.next_part_number_marker is not None:
        doc.el("NextPartNumberMarker", attrs.next_part_number_marker)
    doc.el("MaxParts", max_parts)
    doc.el("IsTruncated", attrs.is_truncated)
    if with_parts:
        for part in attrs.parts:
            doc.open("Part")
            for algorithm, value in part.checksums.items():
                doc.el(f"Checksum{algorithm}", value)
            doc.el("PartNumber", part.part_number)
            doc.el("Size", part.size)
            doc.close("Part")
    doc.close("ObjectParts")


async def get_object_attributes(ctx: Context) -> Result:
    wanted = _selected(ctx)
    max_parts = min(_number(ctx, "x-amz-max-parts", 1000, low=0), 1000)
    marker = _number(ctx, "x-amz-part-number-marker", 0, low=0)
    attrs = await ctx.backend.get_object_attributes(
        ctx.bucket,
        ctx.key,
        version_id=ctx.req.version_id,
        encryption=ctx.req.encryption,
        max_parts=max_parts,
        part_number_marker=marker,
    )
    info = attrs.info
    doc = XmlWriter("GetObjectAttributesResponse")
    if "ETag" in wanted:
        doc.el("ETag", info.etag)
    if "Checksum" in wanted and info.checksums:
        _checksum(doc, info.checksums)
    if "ObjectParts" in wanted and attrs.total_parts is not None:
        _object_parts(doc, attrs, marker, max_parts, with_parts=bool(info.checksums))
    if "StorageClass" in wanted:
        doc.el("StorageClass", info.meta.storage_class)
    if "ObjectSize" in wanted:
        doc.el("ObjectSize", info.size)
    doc.close("GetObjectAttributesResponse")
    headers = {"Last-Modified": http_date(info.last_modified), **version_header(info.version_id)}
    return Result(xml=bytes(doc), headers=headers)
