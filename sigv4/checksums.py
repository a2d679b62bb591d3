"""The flexible checksums S3 accepts (``x-amz-checksum-*``) and Content-MD5.

Values travel as base64 of the big-endian digest, as S3 and the SDKs send them. The
algorithms are S3's ten: the CRCs (zlib's CRC32, awscrt's CRC32C and CRC64NVME), the
hashlib ones (SHA1, SHA256, SHA512, MD5) and awscrt's xxHash family (XXHASH64, XXHASH3 =
XXH3 64-bit, XXHASH128 = XXH3 128-bit), each digest in its canonical big-endian form, as
botocore computes them. A request pays only for the algorithm it names.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Callable, Iterable
from typing import Protocol

from awscrt import checksums as _crt

from sigv4.errors import InvalidDigest, InvalidRequest

__all__ = [
    "ALGORITHMS",
    "CHECKSUM_HEADERS",
    "CHECKSUM_HEADER_NAMES",
    "CHECKSUM_MEMBERS",
    "CRC_ALGORITHMS",
    "DIGEST_SIZES",
    "Checksum",
    "combine_crc",
    "header_name",
    "new_checksum",
    "normalize_algorithm",
    "parse_checksum_value",
    "parse_content_md5",
]

DIGEST_SIZES: dict[str, int] = {
    "CRC32": 4,
    "CRC32C": 4,
    "CRC64NVME": 8,
    "SHA1": 20,
    "SHA256": 32,
    "SHA512": 64,
    "MD5": 16,
    "XXHASH64": 8,
    "XXHASH3": 8,
    "XXHASH128": 16,
}
"""Every algorithm S3 accepts, with the size of its raw digest (a value's base64 must
decode to exactly this many bytes)."""
ALGORITHMS: tuple[str, ...] = tuple(DIGEST_SIZES)
CRC_ALGORITHMS: tuple[str, ...] = ("CRC32", "CRC32C", "CRC64NVME")
"""The algorithms whose values combine: CRC(a || b) from CRC(a), CRC(b) and len(b)."""


class Checksum(Protocol):
    def update(self, data: bytes | bytearray | memoryview) -> None: ...

    def b64digest(self) -> str: ...


class _Crc:
    __slots__ = ("_func", "_size", "_value")

    def __init__(self, func: _CrcFunc, size: int) -> None:
        self._func = func
        self._size = size
        self._value = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._value = self._func(data, self._value)

    def b64digest(self) -> str:
        return base64.b64encode(self._value.to_bytes(self._size, "big")).decode("ascii")


class _CrcFunc(Protocol):
    def __call__(self, data: bytes | bytearray | memoryview, previous: int, /) -> int: ...


class _Hash:
    __slots__ = ("_hash",)

    def __init__(self, name: str) -> None:
        # integrity checksums, not security: MD5 and SHA1 stay usable on FIPS builds
        self._hash = hashlib.new(name, usedforsecurity=False)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._hash.update(data)

    def b64digest(self) -> str:
        return base64.b64encode(self._hash.digest()).decode("ascii")


class _XXHash:
    """awscrt's xxHash (the implementation botocore uses), whose ``finalize`` returns the
    canonical big-endian digest. Its ``update`` takes ``bytes`` only: other buffers (the
    aws-chunked decoder's memoryview slices) are copied, a chunk at a time."""

    __slots__ = ("_hash",)

    def __init__(self, factory: Callable[[], _crt.XXHash]) -> None:
        self._hash = factory()

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._hash.update(data if type(data) is bytes else bytes(data))

    def b64digest(self) -> str:
        return base64.b64encode(self._hash.finalize()).decode("ascii")


def _crc32(data: bytes | bytearray | memoryview, previous: int, /) -> int:
    return zlib.crc32(data, previous)


def _crc32c(data: bytes | bytearray | memoryview, previous: int, /) -> int:
    return int(_crt.crc32c(data, previous))


def _crc64nvme(data: bytes | bytearray | memoryview, previous: int, /) -> int:
    return int(_crt.crc64nvme(data, previous))


_COMBINE = {
    "CRC32": _crt.combine_crc32,
    "CRC32C": _crt.combine_crc32c,
    "CRC64NVME": _crt.combine_crc64nvme,
}


def combine_crc(algorithm: str, pieces: Iterable[tuple[str, int]]) -> str:
    """The CRC of a concatenation from the base64 CRC and the length of each piece, in
    order, without reading any data (S3's FULL_OBJECT multipart checksum). Each step is
    awscrt's combine (zlib's ``crc32_combine``: the first CRC times x^(8 * len) modulo the
    polynomial, plus the second), a few microseconds whatever the lengths."""
    name = normalize_algorithm(algorithm)
    combine = _COMBINE.get(name)
    if combine is None:
        raise InvalidRequest(f"The {name} checksum cannot be combined")
    size = DIGEST_SIZES[name]
    total: int | None = None
    for value, length in pieces:
        crc = int.from_bytes(base64.b64decode(value), "big")
        total = crc if total is None else int(combine(total, crc, length))
    return base64.b64encode((total or 0).to_bytes(size, "big")).decode("ascii")


def normalize_algorithm(algorithm: str) -> str:
    """The upper-case name of a supported algorithm; InvalidRequest otherwise."""
    name = algorithm.strip().upper()
    if name not in DIGEST_SIZES:  # a dict: one look-up, however many algorithms
        raise InvalidRequest(
            f"Checksum algorithm {algorithm!r} is not supported; use one of {', '.join(ALGORITHMS)}"
        )
    return name


_FACTORIES: dict[str, Callable[[], Checksum]] = {
    "CRC32": lambda: _Crc(_crc32, 4),
    "CRC32C": lambda: _Crc(_crc32c, 4),
    "CRC64NVME": lambda: _Crc(_crc64nvme, 8),
    "SHA1": lambda: _Hash("sha1"),
    "SHA256": lambda: _Hash("sha256"),
    "SHA512": lambda: _Hash("sha512"),
    "MD5": lambda: _Hash("md5"),
    "XXHASH64": lambda: _XXHash(_crt.XXHash.new_xxhash64),
    "XXHASH3": lambda: _XXHash(_crt.XXHash.new_xxhash3_64),
    "XXHASH128": lambda: _XXHash(_crt.XXHash.new_xxhash3_128),
}
"""Algorithm -> a fresh incremental checksum of it: one entry per name of ALGORITHMS."""


def new_checksum(algorithm: str) -> Checksum:
    """A fresh incremental checksum for ``algorithm`` (case-insensitive)."""
    return _FACTORIES[normalize_algorithm(algorithm)]()


def header_name(algorithm: str) -> str:
    """``x-amz-checksum-<alg>`` for ``algorithm``."""
    return f"x-amz-checksum-{normalize_algorithm(algorithm).lower()}"


CHECKSUM_HEADERS: dict[str, str] = {header_name(alg): alg for alg in ALGORITHMS}
"""``x-amz-checksum-<alg>`` header -> its algorithm: the one map every reader of the
headers (and trailers) uses."""
CHECKSUM_HEADER_NAMES = frozenset(CHECKSUM_HEADERS)
"""The same names as a set, for the set operations on a request's header names."""
CHECKSUM_MEMBERS: dict[str, str] = {f"Checksum{alg}": alg for alg in ALGORITHMS}
"""``Checksum<ALG>``, the name of a value in S3's XML and botocore's answers -> its
algorithm."""


def parse_checksum_value(algorithm: str, value: str) -> str:
    """Validate a base64 checksum value for ``algorithm``; InvalidRequest if malformed."""
    name = normalize_algorithm(algorithm)
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != DIGEST_SIZES[name]:
        raise InvalidRequest(f"Value for {header_name(name)} header is invalid.")
    return base64.b64encode(raw).decode("ascii")


def parse_content_md5(value: str) -> bytes:
    """The raw 16 bytes of a Content-MD5 header; InvalidDigest if malformed."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise InvalidDigest("The Content-MD5 you specified was invalid.")
    return raw
