"""S3's checksums computed for the tests without the code under test: zlib, hashlib and
awscrt called directly (the libraries botocore uses), so a test that compares the
gateway's values with these fails when the gateway's table is wrong."""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable, Sequence

from awscrt import checksums as crt

__all__ = ["NEW_ALGORITHMS", "checksum", "composite", "digest"]

NEW_ALGORITHMS = ("SHA512", "MD5", "XXHASH64", "XXHASH3", "XXHASH128")
"""S3's 2026 algorithms."""


def _hashlib(name: str) -> Callable[[bytes], bytes]:
    return lambda data: hashlib.new(name, data).digest()


_DIGESTS: dict[str, Callable[[bytes], bytes]] = {
    "CRC32": lambda data: zlib.crc32(data).to_bytes(4, "big"),
    "CRC32C": lambda data: int(crt.crc32c(data)).to_bytes(4, "big"),
    "CRC64NVME": lambda data: int(crt.crc64nvme(data)).to_bytes(8, "big"),
    "SHA1": _hashlib("sha1"),
    "SHA256": _hashlib("sha256"),
    "SHA512": _hashlib("sha512"),
    "MD5": _hashlib("md5"),
    "XXHASH64": lambda data: bytes(crt.XXHash.compute_xxhash64(data)),
    "XXHASH3": lambda data: bytes(crt.XXHash.compute_xxhash3_64(data)),
    "XXHASH128": lambda data: bytes(crt.XXHash.compute_xxhash3_128(data)),
}


def digest(algorithm: str, data: bytes) -> bytes:
    """The raw digest of ``data`` (big-endian, as S3 sends it)."""
    return _DIGESTS[algorithm](data)


def checksum(algorithm: str, data: bytes) -> str:
    """The ``x-amz-checksum-<alg>`` value of ``data``: base64 of the digest."""
    return base64.b64encode(digest(algorithm, data)).decode()


def composite(algorithm: str, parts: Sequence[bytes]) -> str:
    """S3's COMPOSITE value of an object made of ``parts``: the checksum of the
    concatenated raw part digests, ``-N``."""
    joined = b"".join(digest(algorithm, part) for part in parts)
    return f"{checksum(algorithm, joined)}-{len(parts)}"
