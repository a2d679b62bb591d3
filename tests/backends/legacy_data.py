"""What the checked-in legacy data directory holds (``testdata/datadir-v0``).

That directory was written by the filesystem backend *before* versioning existed (schema
version 0, commit ``db741e1``) with ``testdata/make_datadir_v0.py``. Both that script and
the migration tests read this module, so the expected bytes and metadata are derived from
one description instead of being written down twice.
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass, field

BUCKETS = {"legacy-one": "us-east-1", "legacy-two": "eu-west-1"}
PART_SIZE = 1024
"""``min_part_size`` the generator used (the multipart object has a 1 KiB first part)."""


def pattern(seed: int, size: int) -> bytes:
    """Deterministic bytes for an object (no two objects share them)."""
    return bytes((seed * 31 + i * 7) % 251 for i in range(size))


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@dataclass(frozen=True)
class LegacyObject:
    bucket: str
    key: str
    data: bytes
    content_type: str = "binary/octet-stream"
    user_metadata: dict[str, str] = field(default_factory=dict)
    cache_control: str | None = None
    content_disposition: str | None = None
    checksum: bool = False
    """Stored with its CRC32 (as a client's x-amz-checksum-crc32 would have made it)."""


OBJECTS: tuple[LegacyObject, ...] = (
    LegacyObject(
        "legacy-one",
        "hello.txt",
        b"Hello from the schema before versioning!\n",
        content_type="text/plain",
        user_metadata={"origin": "v0"},
        checksum=True,
    ),
    LegacyObject("legacy-one", "dir/nested.bin", pattern(1, 3000)),
    LegacyObject("legacy-one", "empty", b""),
    LegacyObject(
        "legacy-one",
        "unicode/\u00fcn\u00ef \u2713.txt",
        "unicode body \u2713\n".encode(),
        content_type="text/plain; charset=utf-8",
        cache_control="max-age=60",
        content_disposition='attachment; filename="x.txt"',
    ),
    LegacyObject("legacy-one", "a", pattern(2, 10)),
    LegacyObject("legacy-one", "a/", pattern(3, 11)),
    LegacyObject("legacy-one", "a/b", pattern(4, 12)),
    LegacyObject("legacy-two", "k1", pattern(5, 100)),
    LegacyObject("legacy-two", "k2", pattern(6, 200)),
)

COPIED = ("legacy-one", "copied.txt", "hello.txt")
"""(bucket, key, source key): made by CopyObject from the source (same bytes, metadata)."""

MULTIPART = ("legacy-one", "multi.bin", (pattern(7, PART_SIZE), pattern(8, 500)))
"""(bucket, key, parts): completed from these parts (ETag ``md5-of-md5s-2``)."""

PENDING_UPLOAD = ("legacy-two", "pending", pattern(9, 300))
"""(bucket, key, part 1): an upload left in progress with one part."""

DELETED = ("legacy-two", "gone")
"""Written, then deleted: it must stay deleted."""
