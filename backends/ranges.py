"""Byte-range resolution shared by every backend (S3's rules)."""

from __future__ import annotations

from backends.errors import BackendError
from backends.types import ByteRange


def resolve_range(byte_range: ByteRange, size: int) -> tuple[int, int]:
    """Inclusive (first, last) of ``byte_range`` within an object of ``size`` bytes.

    A range past the end is clamped. ``first >= size`` (including any range on an empty
    object) and a zero-length suffix raise ``InvalidRange`` carrying the object size.
    """
    if byte_range.suffix is not None:
        if byte_range.suffix == 0 or size == 0:
            raise _invalid(size, byte_range)
        return max(0, size - byte_range.suffix), size - 1
    first = byte_range.start or 0
    if first >= size:
        raise _invalid(size, byte_range)
    last = size - 1 if byte_range.end is None else min(byte_range.end, size - 1)
    return first, last


def range_header(byte_range: ByteRange) -> str:
    """The range as a ``Range`` header names it (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``):
    S3's ``InvalidRange`` echoes it as ``RangeRequested``."""
    if byte_range.suffix is not None:
        return f"bytes=-{byte_range.suffix}"
    end = "" if byte_range.end is None else str(byte_range.end)
    return f"bytes={byte_range.start or 0}-{end}"


def _invalid(size: int, byte_range: ByteRange) -> BackendError:
    return BackendError(
        "InvalidRange",
        "The requested range is not satisfiable",
        extra={"ActualObjectSize": str(size), "RangeRequested": range_header(byte_range)},
    )


MAX_PART_SIZE = 5 * 1024**3
"""S3's largest part, single PUT and CopyObject source: 5 GiB."""

MAX_OBJECT_SIZE = 5 * 1024**4
"""S3's largest object, which only a CompleteMultipartUpload makes: 5 TiB."""


def check_part_copy_size(size: int, limit: int = MAX_PART_SIZE) -> None:
    """UploadPartCopy and CopyObject copy at most a part's worth: a larger source (or
    range) is ``InvalidRequest``, with S3's message."""
    if size > limit:
        raise BackendError(
            "InvalidRequest",
            "The specified copy source is larger than the maximum allowable size for a copy "
            f"source: {limit}",
        )


def part_copy_range(byte_range: tuple[int, int] | None, size: int) -> tuple[int, int]:
    """Inclusive (first, last) an UploadPartCopy copies from a source of ``size`` bytes:
    its ``x-amz-copy-source-range`` (already well formed, first <= last), else the whole
    source. A range that does not lie within the source is S3's 400 ``InvalidArgument``
    "Range specified is not valid for source object of size: N", not a GET's 416: the
    copy range is never clamped."""
    if byte_range is None:
        return 0, size - 1
    first, last = byte_range
    if first < 0 or first > last or last >= size:
        raise BackendError(
            "InvalidArgument",
            f"Range specified is not valid for source object of size: {size}",
            extra={
                "ArgumentName": "x-amz-copy-source-range",
                "ArgumentValue": f"bytes={first}-{last}",
            },
        )
    return first, last
