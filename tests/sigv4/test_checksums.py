"""Checksums equal botocore's implementation; incremental equals one-shot."""

from __future__ import annotations

import base64
import hashlib
import itertools

import pytest
from botocore.httpchecksum import (
    Crc32Checksum,
    CrtCrc32cChecksum,
    CrtCrc64NvmeChecksum,
    Sha1Checksum,
    Sha256Checksum,
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
from sigv4.checksums import parse_checksum_value

BOTOCORE = {
    "CRC32": Crc32Checksum,
    "CRC32C": CrtCrc32cChecksum,
    "CRC64NVME": CrtCrc64NvmeChecksum,
    "SHA1": Sha1Checksum,
    "SHA256": Sha256Checksum,
}


def test_algorithms() -> None:
    assert ALGORITHMS == ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")


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
    for a, b in itertools.pairwise(points):
        incremental.update(memoryview(data)[a:b])
    assert incremental.b64digest() == oracle.b64digest()


def test_known_values() -> None:
    crc = new_checksum("crc32")
    crc.update(b"hello")
    assert crc.b64digest() == "NhCmhg=="
    sha = new_checksum("SHA256")
    sha.update(b"hello")
    assert sha.b64digest() == base64.b64encode(hashlib.sha256(b"hello").digest()).decode()


def test_unknown_algorithm() -> None:
    with pytest.raises(InvalidRequest):
        new_checksum("md5")
    with pytest.raises(InvalidRequest):
        header_name("xxhash64")


def test_header_name() -> None:
    assert header_name("CRC64NVME") == "x-amz-checksum-crc64nvme"
    assert header_name("sha1") == "x-amz-checksum-sha1"


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


def test_only_crcs_combine() -> None:
    assert CRC_ALGORITHMS == ("CRC32", "CRC32C", "CRC64NVME")
    with pytest.raises(InvalidRequest):
        combine_crc("SHA256", [("AAAA", 1)])
