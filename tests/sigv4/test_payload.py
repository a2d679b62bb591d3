"""PayloadPipeline: header-driven decisions and end-of-body checks."""

from __future__ import annotations

import hashlib

import pytest

from sigv4 import (
    BadDigest,
    InvalidArgument,
    InvalidRequest,
    PayloadMode,
    PayloadPipeline,
    XAmzContentSHA256Mismatch,
    header_map,
    payload_mode,
)
from sigv4.checksums import ALGORITHMS, new_checksum
from tests.checksum_oracle import checksum

Headers = tuple[tuple[str, str], ...]


def _b64(algorithm: str, data: bytes) -> str:
    checksum = new_checksum(algorithm)
    checksum.update(data)
    return checksum.b64digest()


def _run(headers: Headers, body: bytes, *, allow_streaming: bool = False) -> PayloadPipeline:
    pipeline = PayloadPipeline.create(header_map(headers), None, allow_streaming=allow_streaming)
    assert pipeline.feed(body[:3]) + pipeline.feed(body[3:]) == body
    pipeline.finish()
    return pipeline


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        (None, PayloadMode.UNSIGNED),
        ("UNSIGNED-PAYLOAD", PayloadMode.UNSIGNED),
        ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", PayloadMode.STREAMING_SIGNED),
        ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", PayloadMode.STREAMING_SIGNED_TRAILER),
        ("STREAMING-UNSIGNED-PAYLOAD-TRAILER", PayloadMode.STREAMING_UNSIGNED_TRAILER),
        ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", PayloadMode.SHA256),
    ],
)
def test_payload_mode(value: str | None, mode: PayloadMode) -> None:
    assert payload_mode(value) is mode


def test_payload_mode_junk() -> None:
    with pytest.raises(InvalidArgument):
        payload_mode("abc")
    with pytest.raises(InvalidRequest, match="SigV4a"):
        payload_mode("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")


def test_unsigned_passthrough() -> None:
    pipeline = _run((), b"hello world")
    assert pipeline.checksums == {}
    assert pipeline.decoded_length is None


def test_sha256_header_without_signature_still_checked() -> None:
    good = (("x-amz-content-sha256", hashlib.sha256(b"hello").hexdigest()),)
    _run(good, b"hello")
    pipeline = PayloadPipeline.create(header_map(good), None, allow_streaming=False)
    pipeline.feed(b"jello")
    with pytest.raises(XAmzContentSHA256Mismatch) as info:
        pipeline.finish()
    assert info.value.extra["ClientComputedContentSHA256"] == good[0][1]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_checksum_header_verified(algorithm: str) -> None:
    want = checksum(algorithm, b"payload")  # computed without sigv4
    headers = ((f"x-amz-checksum-{algorithm.lower()}", want),)
    assert _run(headers, b"payload").checksums == {algorithm: want}
    pipeline = PayloadPipeline.create(header_map(headers), None, allow_streaming=False)
    pipeline.feed(b"PAYLOAD")
    with pytest.raises(BadDigest):
        pipeline.finish()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_sdk_algorithm_header_must_name_the_checksum_sent(algorithm: str) -> None:
    value = ("x-amz-checksum-" + algorithm.lower(), checksum(algorithm, b"x"))
    agreeing = (value, ("x-amz-sdk-checksum-algorithm", algorithm.lower()))
    assert _run(agreeing, b"x").checksums == {algorithm: value[1]}
    other = "CRC32" if algorithm != "CRC32" else "SHA512"
    with pytest.raises(InvalidRequest, match="does not match"):
        PayloadPipeline.create(
            header_map((value, ("x-amz-sdk-checksum-algorithm", other))),
            None,
            allow_streaming=False,
        )


def test_no_checksum_header_no_checksum() -> None:
    """Headers that merely look alike are not checksums; no algorithm, nothing computed."""
    headers = (("x-amz-checksum-mode", "ENABLED"), ("x-amz-checksum-type", "COMPOSITE"))
    pipeline = _run(headers, b"body")
    assert pipeline.plan.checksum_algorithm is None
    assert pipeline.checksums == {}


@pytest.mark.parametrize(
    "name", ["x-amz-checksum-blake3", "x-amz-checksum-crc64", "x-amz-checksum-"]
)
def test_a_checksum_header_of_no_known_algorithm_is_refused(name: str) -> None:
    """Ignored, it would store a body the client believes checked (as a precomputed
    ``x-amz-checksum-sha512`` was stored unchecked before SHA512 was known here)."""
    with pytest.raises(InvalidRequest, match=name):
        PayloadPipeline.create(header_map(((name, "AAAA"),)), None, allow_streaming=False)


def test_malformed_checksum_header() -> None:
    with pytest.raises(InvalidRequest):
        PayloadPipeline.create(
            header_map((("x-amz-checksum-crc32", "zzz"),)), None, allow_streaming=False
        )


@pytest.mark.parametrize("second", ["sha1", "xxhash128", "md5"])
def test_two_checksum_headers_refused(second: str) -> None:
    headers = (
        ("x-amz-checksum-crc32", _b64("crc32", b"")),
        (f"x-amz-checksum-{second}", _b64(second, b"")),
    )
    with pytest.raises(InvalidRequest, match="Multiple checksum Types"):
        PayloadPipeline.create(header_map(headers), None, allow_streaming=False)


def test_trailer_and_checksum_header_together_refused() -> None:
    headers = (
        ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
        ("x-amz-decoded-content-length", "0"),
        ("x-amz-trailer", "x-amz-checksum-crc32"),
        ("x-amz-checksum-crc32", _b64("crc32", b"")),
    )
    with pytest.raises(InvalidRequest, match="together"):
        PayloadPipeline.create(header_map(headers), None, allow_streaming=True)


def test_trailer_without_trailer_mode_refused() -> None:
    with pytest.raises(InvalidRequest):
        PayloadPipeline.create(
            header_map((("x-amz-trailer", "x-amz-checksum-crc32"),)), None, allow_streaming=True
        )


def test_sdk_checksum_algorithm_must_agree() -> None:
    headers = (
        ("x-amz-checksum-crc32", _b64("crc32", b"x")),
        ("x-amz-sdk-checksum-algorithm", "CRC32"),
    )
    _run(headers, b"x")
    wrong = (
        ("x-amz-checksum-crc32", _b64("crc32", b"x")),
        ("x-amz-sdk-checksum-algorithm", "SHA256"),
    )
    with pytest.raises(InvalidRequest, match="x-amz-sdk-checksum-algorithm"):
        PayloadPipeline.create(header_map(wrong), None, allow_streaming=False)
    alone = (("x-amz-sdk-checksum-algorithm", "CRC32"),)
    with pytest.raises(InvalidRequest, match="no corresponding"):
        PayloadPipeline.create(header_map(alone), None, allow_streaming=False)


def test_content_md5_is_not_a_sigv4_matter() -> None:
    """Content-MD5 is parsed and compared by the server (once), not by the pipeline."""
    _run((("Content-MD5", "not even base64"),), b"body")


def test_decoded_length_must_be_a_number() -> None:
    headers = (
        ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
        ("x-amz-decoded-content-length", "ten"),
    )
    with pytest.raises(InvalidArgument):
        PayloadPipeline.create(header_map(headers), None, allow_streaming=True)


def test_content_encoding_alone_does_not_dechunk() -> None:
    body = b"5\r\nhello\r\n0\r\n\r\n"
    assert _run((("Content-Encoding", "aws-chunked"),), body).checksums == {}
