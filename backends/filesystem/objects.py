"""Object-level rules shared by the filesystem backend's reads: missing keys, byte selection.
(Version ids and their rules are ``versions.py``'s.)"""

from __future__ import annotations

import json

from backends.errors import BackendError
from backends.filesystem.metadb import ObjectRow
from backends.ranges import resolve_range
from backends.types import ByteRange


def no_such_key(key: str) -> BackendError:
    return BackendError("NoSuchKey", "The specified key does not exist.", extra={"Key": key})


def select_bytes(
    row: ObjectRow, byte_range: ByteRange | None, part_number: int | None
) -> tuple[int, int, bool]:
    """Inclusive (first, last) to serve and whether that is a slice (206). The gateway
    never passes both a range and a part number."""
    if part_number is not None:
        parts = [(1, row.size)] if row.parts is None else json.loads(row.parts)
        offset = 0
        for number, size in parts:
            if number == part_number:
                return offset, offset + size - 1, row.size > 0
            offset += size
        raise BackendError(
            "InvalidPartNumber",
            "The requested partnumber is not satisfiable",
            extra={"PartNumberRequested": str(part_number), "ActualPartCount": str(len(parts))},
        )
    if byte_range is None:
        return 0, row.size - 1, False
    first, last = resolve_range(byte_range, row.size)
    return first, last, True
