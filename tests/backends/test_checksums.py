"""The multipart checksum rules (``backends.checksums``), table by table: AWS's pairs of
algorithm and type, the part rule, and what a completion must agree with."""

from __future__ import annotations

import base64
import hashlib
import zlib

import pytest

from backends.checksums import (
    check_part_algorithm,
    checksum_type_of,
    completion_checksums,
    composite_value,
    parse_checksum_type,
    upload_checksum,
)
from backends.errors import BackendError
from backends.types import COMPOSITE, FULL_OBJECT, CompletionChecksums
from tests.checksum_oracle import NEW_ALGORITHMS, checksum, composite


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.mark.parametrize(
    ("algorithm", "given", "expected"),
    [
        ("CRC32", None, COMPOSITE),
        ("CRC32C", None, COMPOSITE),
        ("SHA1", None, COMPOSITE),
        ("SHA256", None, COMPOSITE),
        ("CRC64NVME", None, FULL_OBJECT),
        ("CRC32", FULL_OBJECT, FULL_OBJECT),
        ("CRC32C", FULL_OBJECT, FULL_OBJECT),
        ("CRC64NVME", FULL_OBJECT, FULL_OBJECT),
        ("SHA256", COMPOSITE, COMPOSITE),
        (None, None, None),
        *((alg, None, COMPOSITE) for alg in NEW_ALGORITHMS),
        *((alg, COMPOSITE, COMPOSITE) for alg in NEW_ALGORITHMS),
    ],
)
def test_upload_types(algorithm: str | None, given: str | None, expected: str | None) -> None:
    assert upload_checksum(algorithm, given) == expected


@pytest.mark.parametrize(
    ("algorithm", "given", "message"),
    [
        (
            "CRC64NVME",
            COMPOSITE,
            "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.",
        ),
        (
            "SHA1",
            FULL_OBJECT,
            "The FULL_OBJECT checksum type cannot be used with the sha1 checksum algorithm.",
        ),
        (
            None,
            FULL_OBJECT,
            "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm "
            "header.",
        ),
        ("BLAKE3", None, None),
        *(
            (
                alg,
                FULL_OBJECT,
                f"The FULL_OBJECT checksum type cannot be used with the {alg.lower()} "
                "checksum algorithm.",
            )
            for alg in NEW_ALGORITHMS
        ),
    ],
)
def test_upload_types_s3_refuses(
    algorithm: str | None, given: str | None, message: str | None
) -> None:
    with pytest.raises(BackendError) as caught:
        upload_checksum(algorithm, given)
    assert caught.value.code == "InvalidRequest"
    if message is not None:
        assert caught.value.message == message


def test_type_header_and_stored_values() -> None:
    assert parse_checksum_type(None) is None
    assert parse_checksum_type("full_object") == FULL_OBJECT
    with pytest.raises(BackendError):
        parse_checksum_type("WHOLE")
    assert checksum_type_of("AAAAAA==-3") == COMPOSITE
    assert checksum_type_of("AAAAAA==") == FULL_OBJECT


def test_part_algorithm_rule() -> None:
    check_part_algorithm(None, None)
    check_part_algorithm(None, "CRC32")  # SDKs send CRC32 whatever the upload
    check_part_algorithm("SHA256", "SHA256")
    with pytest.raises(BackendError) as caught:
        check_part_algorithm("SHA256", None)
    assert caught.value.message == (
        "Checksum Type mismatch occurred, expected checksum Type: sha256, "
        "actual checksum Type: null"
    )
    with pytest.raises(BackendError):
        check_part_algorithm("SHA256", "CRC32")


PARTS = [(1, 3, {"CRC32": crc32(b"abc")}), (2, 2, {"CRC32": crc32(b"de")})]


def test_full_object_completion() -> None:
    whole = crc32(b"abcde")
    request = CompletionChecksums(algorithm="CRC32", value=whole, checksum_type=FULL_OBJECT)
    assert completion_checksums("CRC32", FULL_OBJECT, PARTS, request) == {"CRC32": whole}
    assert completion_checksums("CRC32", FULL_OBJECT, PARTS, None) == {"CRC32": whole}


def test_composite_completion() -> None:
    listed = {1: PARTS[0][2], 2: PARTS[1][2]}
    value = completion_checksums("CRC32", COMPOSITE, PARTS, CompletionChecksums(parts=listed))
    assert value == {
        "CRC32": composite_value("CRC32", [PARTS[0][2]["CRC32"], PARTS[1][2]["CRC32"]])
    }
    assert value["CRC32"].endswith("-2")


@pytest.mark.parametrize(
    ("checksum_type", "request_", "code"),
    [
        (FULL_OBJECT, CompletionChecksums(parts={1: {"CRC32": crc32(b"x")}}), "InvalidPart"),
        (FULL_OBJECT, CompletionChecksums(algorithm="CRC32", value=crc32(b"x")), "BadDigest"),
        (FULL_OBJECT, CompletionChecksums(algorithm="SHA1", value="AA"), "InvalidRequest"),
        (FULL_OBJECT, CompletionChecksums(checksum_type=COMPOSITE), "InvalidRequest"),
        (COMPOSITE, CompletionChecksums(parts={1: PARTS[0][2]}), "InvalidRequest"),
    ],
)
def test_completions_s3_refuses(
    checksum_type: str, request_: CompletionChecksums, code: str
) -> None:
    with pytest.raises(BackendError) as caught:
        completion_checksums("CRC32", checksum_type, PARTS, request_)
    assert caught.value.code == code


def test_an_upload_without_algorithm() -> None:
    assert completion_checksums(None, None, PARTS, None) == {}
    # the parts' own checksums (SDK defaults) are still compared when listed
    with pytest.raises(BackendError):
        completion_checksums(
            None, None, PARTS, CompletionChecksums(parts={2: {"CRC32": "AAAAAA=="}})
        )
    with pytest.raises(BackendError):
        completion_checksums(None, None, PARTS, CompletionChecksums(algorithm="CRC32", value="x"))


@pytest.mark.parametrize("algorithm", NEW_ALGORITHMS)
def test_composite_of_the_new_algorithms(algorithm: str) -> None:
    """The checksum (same algorithm) of the concatenated raw part digests, ``-N``."""
    chunks = [b"first part" * 100, b"second", b""]
    parts = [(n, len(c), {algorithm: checksum(algorithm, c)}) for n, c in enumerate(chunks, 1)]
    want = composite(algorithm, chunks)
    listed = {n: sums for n, _size, sums in parts}
    request = CompletionChecksums(parts=listed, algorithm=algorithm, value=want)
    assert completion_checksums(algorithm, COMPOSITE, parts, request) == {algorithm: want}
    assert composite_value(algorithm, [sums[algorithm] for _n, _s, sums in parts]) == want
    wrong = CompletionChecksums(parts=listed, algorithm=algorithm, value=checksum(algorithm, b""))
    with pytest.raises(BackendError) as caught:
        completion_checksums(algorithm, COMPOSITE, parts, wrong)
    assert (caught.value.code, caught.value.message) == (
        "BadDigest",
        f"The {algorithm} you specified did not match the calculated checksum.",
    )


def test_composite_values_are_unchanged_for_the_older_algorithms() -> None:
    """composite_value is table-driven now: the CRC and SHA values S3 gives stay."""
    values = [crc32(b"abc"), crc32(b"de")]
    raw = b"".join(base64.b64decode(v) for v in values)
    assert composite_value("CRC32", values) == f"{crc32(raw)}-2"
    shas = [checksum("SHA1", b"abc"), checksum("SHA1", b"de")]
    raw = hashlib.sha1(b"".join(base64.b64decode(v) for v in shas)).digest()
    assert composite_value("SHA1", shas) == f"{base64.b64encode(raw).decode()}-2"
    with pytest.raises(BackendError):
        composite_value("CRC64NVME", [base64.b64encode(b"\0" * 8).decode()])
