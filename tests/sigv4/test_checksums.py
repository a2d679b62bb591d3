"""Checksums equal botocore's implementation (MD5, which botocore never computes, equals
hashlib's); incremental equals one-shot; the xxHash digests equal the published vectors."""

from __future__ import annotations

import base64
import hashlib
import itertools

import pytest
from awscrt import checksums as crt
from botocore.httpchecksum import (
    BaseChecksum,
    Crc32Checksum,
    CrtCrc32cChecksum,
    CrtCrc64NvmeChecksum,
    CrtXxhash3Checksum,
    CrtXxhash64Checksum,
    CrtXxhash128Checksum,
    Sha1Checksum,
    Sha256Checksum,
    Sha512Checksum,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from sigv4 import (
    ALGORITHMS,
    CRC_ALGORITHMS,
    InvalidDigest,
    InvalidRequest,
    combine_crc,
    header_name,
    new_checksum,
    parse_content_md5,
)
from sigv4.checksums import DIGEST_SIZES, parse_checksum_value


class Md5Checksum(BaseChecksum):  # type: ignore[misc]
    """botocore sends MD5 only precomputed (``ChecksumMD5=``): hashlib is the oracle."""

    def __init__(self) -> None:
        self._md5 = hashlib.md5()

    def update(self, chunk: bytes) -> None:
        self._md5.update(chunk)

    def digest(self) -> bytes:
        return self._md5.digest()


BOTOCORE = {
    "CRC32": Crc32Checksum,
    "CRC32C": CrtCrc32cChecksum,
    "CRC64NVME": CrtCrc64NvmeChecksum,
    "SHA1": Sha1Checksum,
    "SHA256": Sha256Checksum,
    "SHA512": Sha512Checksum,
    "MD5": Md5Checksum,
    "XXHASH64": CrtXxhash64Checksum,
    "XXHASH3": CrtXxhash3Checksum,
    "XXHASH128": CrtXxhash128Checksum,
}


def test_algorithms() -> None:
    assert ALGORITHMS == (
        "CRC32",
        "CRC32C",
        "CRC64NVME",
        "SHA1",
        "SHA256",
        "SHA512",
        "MD5",
        "XXHASH64",
        "XXHASH3",
        "XXHASH128",
    )
    assert set(BOTOCORE) == set(ALGORITHMS)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_digest_sizes(algorithm: str) -> None:
    checksum = new_checksum(algorithm)
    checksum.update(b"x")
    assert len(base64.b64decode(checksum.b64digest())) == DIGEST_SIZES[algorithm]
    assert (
        DIGEST_SIZES[algorithm]
        == {
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
        }[algorithm]
    )


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(ALGORITHMS),
    st.binary(max_size=4096),
    st.lists(st.integers(0, 4096), max_size=5),
)
def test_matches_botocore_and_incremental(algorithm: str, data: bytes, cuts: list[int]) -> None:
    oracle = BOTOCORE[algorithm]()
    oracle.update(data)
    one_shot = new_checksum(algorithm)
    one_shot.update(data)
    assert one_shot.b64digest() == oracle.b64digest()

    points = [0, *sorted(c for c in cuts if c <= len(data)), len(data)]
    incremental = new_checksum(algorithm.lower())
    for i, (a, b) in enumerate(itertools.pairwise(points)):
        # the body pipeline feeds memoryview slices; other callers bytes or bytearrays
        piece = memoryview(data)[a:b]
        incremental.update((piece, piece.tobytes(), bytearray(piece))[i % 3])
    assert incremental.b64digest() == oracle.b64digest()


def _b64(algorithm: str, data: bytes) -> str:
    checksum = new_checksum(algorithm)
    checksum.update(data)
    return checksum.b64digest()


def _hex(algorithm: str, data: bytes) -> str:
    return base64.b64decode(_b64(algorithm, data)).hex()


def test_known_values() -> None:
    assert _b64("crc32", b"hello") == "NhCmhg=="
    for name in ("SHA256", "SHA512", "MD5"):
        want = hashlib.new(name.lower(), b"hello").digest()
        assert _b64(name, b"hello") == base64.b64encode(want).decode()


# xxHash's published test values (XXH64 and XXH3 with seed 0, canonical big-endian form)
XXHASH_VECTORS = [
    ("XXHASH64", b"", "ef46db3751d8e999"),
    ("XXHASH64", b"hello", "26c7827d889f6da3"),
    ("XXHASH3", b"", "2d06800538d394c2"),
    ("XXHASH3", b"hello", "9555e8555c62dcfd"),
    ("XXHASH128", b"", "99aa06d3014798d86001c324468d497f"),
    ("XXHASH128", b"hello", "b5e9c1ad071b3e7fc779cfaa5e523818"),
]


@pytest.mark.parametrize(("algorithm", "data", "digest"), XXHASH_VECTORS)
def test_xxhash_vectors(algorithm: str, data: bytes, digest: str) -> None:
    assert _hex(algorithm, data) == digest
    one_shot = {
        "XXHASH64": crt.XXHash.compute_xxhash64,
        "XXHASH3": crt.XXHash.compute_xxhash3_64,
        "XXHASH128": crt.XXHash.compute_xxhash3_128,
    }[algorithm]
    assert one_shot(data).hex() == digest


def test_xxhash_of_a_large_body_fed_in_chunks() -> None:
    """Past xxHash's internal block and stripe sizes, fed as the pipeline feeds it."""
    data = bytes(range(256)) * 4099
    for algorithm in ("XXHASH64", "XXHASH3", "XXHASH128"):
        incremental = new_checksum(algorithm)
        for start in range(0, len(data), 65536):
            incremental.update(memoryview(data)[start : start + 65536])
        oracle = BOTOCORE[algorithm]()
        oracle.update(data)
        assert incremental.b64digest() == oracle.b64digest()


def test_unknown_algorithm() -> None:
    with pytest.raises(InvalidRequest):
        new_checksum("crc16")
    with pytest.raises(InvalidRequest):
        header_name("blake3")
    with pytest.raises(InvalidRequest, match="XXHASH128"):  # the message lists all ten
        new_checksum("sha3")


def test_header_name() -> None:
    assert header_name("CRC64NVME") == "x-amz-checksum-crc64nvme"
    assert header_name("sha1") == "x-amz-checksum-sha1"
    assert header_name("xxhash128") == "x-amz-checksum-xxhash128"
    assert header_name("MD5") == "x-amz-checksum-md5"


def test_parse_content_md5() -> None:
    digest = hashlib.md5(b"x").digest()
    assert parse_content_md5(base64.b64encode(digest).decode()) == digest
    for bad in ("", "not base64!", base64.b64encode(b"short").decode(), digest.hex()):
        with pytest.raises(InvalidDigest):
            parse_content_md5(bad)


def test_parse_checksum_value() -> None:
    assert parse_checksum_value("crc32", "NhCmhg==") == "NhCmhg=="
    for bad in ("", "NhCm", "!!!!!!!!", base64.b64encode(b"12345678").decode()):
        with pytest.raises(InvalidRequest):
            parse_checksum_value("crc32", bad)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_parse_checksum_value_wants_the_digest_size(algorithm: str) -> None:
    size = DIGEST_SIZES[algorithm]
    good = base64.b64encode(b"\x01" * size).decode()
    assert parse_checksum_value(algorithm, good) == good
    for wrong in (size - 1, size + 1):
        with pytest.raises(InvalidRequest, match=header_name(algorithm)):
            parse_checksum_value(algorithm, base64.b64encode(b"\x01" * wrong).decode())


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(CRC_ALGORITHMS),
    st.lists(st.binary(max_size=2048), min_size=1, max_size=6),
)
def test_combined_crc_equals_the_crc_of_the_concatenation(
    algorithm: str, pieces: list[bytes]
) -> None:
    """S3's FULL_OBJECT value of a multipart object, from the parts' CRCs and sizes only."""
    oracle = BOTOCORE[algorithm]()
    oracle.update(b"".join(pieces))
    values = []
    for piece in pieces:
        one = new_checksum(algorithm)
        one.update(piece)
        values.append((one.b64digest(), len(piece)))
    assert combine_crc(algorithm, values) == oracle.b64digest()


@pytest.mark.parametrize("algorithm", [a for a in ALGORITHMS if a not in CRC_ALGORITHMS])
def test_only_crcs_combine(algorithm: str) -> None:
    assert CRC_ALGORITHMS == ("CRC32", "CRC32C", "CRC64NVME")
    with pytest.raises(InvalidRequest):
        combine_crc(algorithm, [("AAAA", 1)])
