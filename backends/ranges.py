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
            raise _invalid(size)
        return max(0, size - byte_range.suffix), size - 1
    first = byte_range.start or 0
    if first >= size:
        raise _invalid(size)
    last = size - 1 if byte_range.end is None else min(byte_range.end, size - 1)
    return first, last


def _invalid(size: int) -> BackendError:
    return BackendError(
        "InvalidRange",
        "The requested range is not satisfiable",
        extra={"ActualObjectSize": str(size), "RangeRequested": ""},
    )


MAX_PART_SIZE = 5 * 1024**3
"""S3's largest part (and single PUT): 5 GiB."""


def check_part_copy_size(size: int, limit: int = MAX_PART_SIZE) -> None:
    """UploadPartCopy copies at most a part's worth: a larger source (or range) is
    ``InvalidRequest``, with S3's message."""
    if size > limit:
        raise BackendError(
            "InvalidRequest",
            "The specified copy source is larger than the maximum allowable size for a copy "
            f"source: {limit}",
        )
