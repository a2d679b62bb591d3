"""aws-chunked bodies: AWS's worked example, trailers, botocore's encoder, tampering."""

from __future__ import annotations

import io
import itertools
from dataclasses import replace

import pytest
from botocore.httpchecksum import (
    AwsChunkedWrapper,
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
    MAX_TRAILER_BYTES,
    MAX_TRAILERS,
    MIN_CHUNK_SIZE,
    BadDigest,
    ChunkDecoder,
    IncompleteBody,
    InvalidChunkSizeError,
    InvalidRequest,
    MalformedTrailerError,
    MissingContentLength,
    PayloadMode,
    PayloadPipeline,
    SignatureDoesNotMatch,
    SignedRequest,
    VerifiedRequest,
    header_map,
    parse_auth,
    verify,
)
from tests.sigv4.helpers import NOW, SECRET, botocore_sign, encode_chunked, resign

# -- AWS's worked example ("Signature calculation: Transfer payload in multiple chunks") ---

EXAMPLE_SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
EXAMPLE_CHUNK_SIGNATURES = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
]
EXAMPLE_PAYLOAD = b"a" * 66560
EXAMPLE_REQUEST = SignedRequest(
    method="PUT",
    raw_path="/examplebucket/chunkObject.txt",
    raw_query="",
    headers=(
        ("Host", "s3.amazonaws.com"),
        ("x-amz-date", "20130524T000000Z"),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
            f"x-amz-decoded-content-length;x-amz-storage-class,Signature={EXAMPLE_SEED}",
        ),
        ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
        ("Content-Encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "66560"),
        ("Content-Length", "66824"),
    ),
)


def _example_verified() -> VerifiedRequest:
    auth = parse_auth(EXAMPLE_REQUEST)
    assert auth is not None
    return verify(EXAMPLE_REQUEST, auth, SECRET, auth.amz_date)


def _example_body() -> bytes:
    a = b"a"
    return (
        b"10000;chunk-signature=%s\r\n%s\r\n" % (EXAMPLE_CHUNK_SIGNATURES[0].encode(), a * 65536)
        + b"400;chunk-signature=%s\r\n%s\r\n" % (EXAMPLE_CHUNK_SIGNATURES[1].encode(), a * 1024)
        + b"0;chunk-signature=%s\r\n\r\n" % EXAMPLE_CHUNK_SIGNATURES[2].encode()
    )


def test_aws_example_seed_signature() -> None:
    verified = _example_verified()
    assert verified.seed_signature == EXAMPLE_SEED
    assert verified.payload_mode is PayloadMode.STREAMING_SIGNED
    assert len(_example_body()) == 66824  # the example's Content-Length


def test_aws_example_chunk_signatures_reproduced_by_encoder() -> None:
    verified = _example_verified()
    body = encode_chunked(
        EXAMPLE_PAYLOAD,
        65536,
        signing_key=verified.signing_key,
        amz_date=verified.amz_date,
        scope=verified.scope,
        seed_signature=verified.seed_signature,
    )
    assert body == _example_body()


def test_aws_example_decodes() -> None:
    pipeline = PayloadPipeline.create(
        header_map(EXAMPLE_REQUEST.headers), _example_verified(), allow_streaming=True
    )
    assert pipeline.decoded_length == 66560
    out = pipeline.feed(_example_body())
    pipeline.finish()
    assert out == EXAMPLE_PAYLOAD


@pytest.mark.parametrize("index", [0, 1, 2])
def test_aws_example_tampered_chunk_signature(index: int) -> None:
    body = _example_body().replace(EXAMPLE_CHUNK_SIGNATURES[index].encode(), b"0" * 64)
    pipeline = PayloadPipeline.create(
        header_map(EXAMPLE_REQUEST.headers), _example_verified(), allow_streaming=True
    )
    with pytest.raises(SignatureDoesNotMatch):
        pipeline.feed(body)


def test_aws_example_tampered_data() -> None:
    body = bytearray(_example_body())
    body[200] = ord("b")
    pipeline = PayloadPipeline.create(
        header_map(EXAMPLE_REQUEST.headers), _example_verified(), allow_streaming=True
    )
    with pytest.raises(SignatureDoesNotMatch):
        pipeline.feed(bytes(body))


def test_aws_example_reordered_chunks() -> None:
    body = _example_body()
    first_end = body.index(b"400;")
    final_start = body.index(b"0;chunk-signature=" + EXAMPLE_CHUNK_SIGNATURES[2].encode())
    reordered = body[first_end:final_start] + body[:first_end] + body[final_start:]
    pipeline = PayloadPipeline.create(
        header_map(EXAMPLE_REQUEST.headers), _example_verified(), allow_streaming=True
    )
    with pytest.raises(SignatureDoesNotMatch):
        pipeline.feed(reordered)


@pytest.mark.parametrize("cut", [1, 50, 66000, 66820, 66822])
def test_aws_example_truncated(cut: int) -> None:
    pipeline = PayloadPipeline.create(
        header_map(EXAMPLE_REQUEST.headers), _example_verified(), allow_streaming=True
    )
    out = pipeline.feed(_example_body()[:cut])
    assert EXAMPLE_PAYLOAD.startswith(out)  # what arrived verified is released, no more
    with pytest.raises(IncompleteBody):
        pipeline.finish()


def test_aws_example_decoded_length_disagrees() -> None:
    for declared in ("66559", "66561"):
        headers = tuple(
            (k, declared if k == "x-amz-decoded-content-length" else v)
            for k, v in EXAMPLE_REQUEST.headers
        )
        pipeline = PayloadPipeline.create(
            header_map(headers), _example_verified(), allow_streaming=True
        )
        with pytest.raises(IncompleteBody):
            pipeline.feed(_example_body())
            pipeline.finish()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 66824), max_size=12))
def test_aws_example_any_split_points(cuts: list[int]) -> None:
    body = _example_body()
    points = [0, *sorted(cuts), len(body)]
    pipeline = PayloadPipeline.create(
        header_map(EXAMPLE_REQUEST.headers), _example_verified(), allow_streaming=True
    )
    out = b"".join(pipeline.feed(body[a:b]) for a, b in itertools.pairwise(points))
    pipeline.finish()
    assert out == EXAMPLE_PAYLOAD


# -- signed modes generated by the spec helper -------------------------------------------


def _signed_streaming(
    payload: bytes, chunk: int, *, trailers: list[tuple[str, str]] | None, extra: dict[str, str]
) -> tuple[tuple[tuple[str, str], ...], VerifiedRequest, bytes]:
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailers is not None else "")
    headers = {
        "X-Amz-Content-SHA256": mode,
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(len(payload)),
        **extra,
    }
    request = botocore_sign("PUT", "https://s3.example.com/bucket/key", headers)
    request = replace(
        request,
        headers=tuple(
            (k, mode if k.lower() == "x-amz-content-sha256" else v) for k, v in request.headers
        ),
    )
    # botocore replaced the content-sha256 header before signing; re-sign with ours.
    request = resign(request, mode)
    auth = parse_auth(request)
    assert auth is not None
    verified = verify(request, auth, SECRET, NOW)
    body = encode_chunked(
        payload,
        chunk,
        signing_key=verified.signing_key,
        amz_date=verified.amz_date,
        scope=verified.scope,
        seed_signature=verified.seed_signature,
        trailers=trailers,
    )
    return request.headers, verified, body


CRC32_OF_HELLO = "NhCmhg=="  # crc32(b"hello"), base64 big-endian


@settings(max_examples=40, deadline=None)
@given(
    st.binary(max_size=3 * MIN_CHUNK_SIZE),
    st.integers(MIN_CHUNK_SIZE, 2 * MIN_CHUNK_SIZE),
    st.lists(st.integers(0, 4 * MIN_CHUNK_SIZE), max_size=6),
)
def test_signed_trailer_roundtrip_any_split(payload: bytes, chunk: int, cuts: list[int]) -> None:
    from sigv4.checksums import new_checksum

    checksum = new_checksum("crc32c")
    checksum.update(payload)
    headers, verified, body = _signed_streaming(
        payload,
        chunk,
        trailers=[("x-amz-checksum-crc32c", checksum.b64digest())],
        extra={"X-Amz-Trailer": "x-amz-checksum-crc32c"},
    )
    points = [0, *sorted(c for c in cuts if c <= len(body)), len(body)]
    pipeline = PayloadPipeline.create(header_map(headers), verified, allow_streaming=True)
    out = b"".join(pipeline.feed(body[a:b]) for a, b in itertools.pairwise(points))
    pipeline.finish()
    assert out == payload
    assert pipeline.checksums == {"CRC32C": checksum.b64digest()}


def test_signed_trailer_bad_checksum_is_bad_digest() -> None:
    headers, verified, body = _signed_streaming(
        b"hello",
        8,
        trailers=[("x-amz-checksum-crc32", "AAAAAA==")],
        extra={"X-Amz-Trailer": "x-amz-checksum-crc32"},
    )
    pipeline = PayloadPipeline.create(header_map(headers), verified, allow_streaming=True)
    assert pipeline.feed(body) == b"hello"
    with pytest.raises(BadDigest):
        pipeline.finish()


def test_signed_trailer_tampered_trailer_fails_signature() -> None:
    headers, verified, body = _signed_streaming(
        b"hello",
        8,
        trailers=[("x-amz-checksum-crc32", CRC32_OF_HELLO)],
        extra={"X-Amz-Trailer": "x-amz-checksum-crc32"},
    )
    pipeline = PayloadPipeline.create(header_map(headers), verified, allow_streaming=True)
    assert pipeline.feed(body) == b"hello"
    pipeline.finish()
    assert pipeline.checksums == {"CRC32": CRC32_OF_HELLO}
    tampered = body.replace(CRC32_OF_HELLO.encode(), b"AAAAAA==")
    pipeline = PayloadPipeline.create(header_map(headers), verified, allow_streaming=True)
    with pytest.raises(SignatureDoesNotMatch):
        pipeline.feed(tampered)


def test_signed_trailer_missing_signature() -> None:
    headers, verified, body = _signed_streaming(
        b"hello",
        8,
        trailers=[("x-amz-checksum-crc32", CRC32_OF_HELLO)],
        extra={"X-Amz-Trailer": "x-amz-checksum-crc32"},
    )
    start = body.index(b"x-amz-trailer-signature:")
    stripped = body[:start] + b"\r\n"
    pipeline = PayloadPipeline.create(header_map(headers), verified, allow_streaming=True)
    with pytest.raises(SignatureDoesNotMatch):
        pipeline.feed(stripped)


def test_signed_streaming_requires_verified_request() -> None:
    headers, _, _ = _signed_streaming(b"x", 1, trailers=None, extra={})
    with pytest.raises(InvalidRequest):
        PayloadPipeline.create(header_map(headers), None, allow_streaming=True)


def test_streaming_refused_outside_put_object() -> None:
    headers, verified, _ = _signed_streaming(b"x", 1, trailers=None, extra={})
    with pytest.raises(InvalidRequest, match="not supported for this operation"):
        PayloadPipeline.create(header_map(headers), verified, allow_streaming=False)


def test_data_after_end_is_refused_but_extra_crlf_tolerated() -> None:
    headers, verified, body = _signed_streaming(b"hello", 8, trailers=None, extra={})
    pipeline = PayloadPipeline.create(header_map(headers), verified, allow_streaming=True)
    assert pipeline.feed(body + b"\r\n\r\n") == b"hello"
    pipeline.finish()
    pipeline = PayloadPipeline.create(header_map(headers), verified, allow_streaming=True)
    with pytest.raises(InvalidRequest):
        pipeline.feed(body + b"junk")


@pytest.mark.parametrize(
    "body",
    [
        b"zz;chunk-signature=" + b"0" * 64 + b"\r\n",
        b"5;chunk-signature=short\r\n",
        b"5\r\nhello\r\n",
        b"5;chunk-signature=" + b"0" * 64 + b"x" * 5000,
    ],
)
def test_bad_framing_is_refused(body: bytes) -> None:
    headers, verified, _ = _signed_streaming(b"hello", 5, trailers=None, extra={})
    pipeline = PayloadPipeline.create(header_map(headers), verified, allow_streaming=True)
    with pytest.raises(InvalidRequest):
        pipeline.feed(body)


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned-trailer"])
def test_only_the_last_chunk_may_be_smaller_than_8192_bytes(signed: bool) -> None:
    def framed(payload: bytes, chunk: int) -> tuple[PayloadPipeline, bytes]:
        if signed:
            headers, verified, body = _signed_streaming(payload, chunk, trailers=None, extra={})
        else:
            headers, verified, body = _botocore_unsigned_trailer(payload, "CRC32", chunk)
        return PayloadPipeline.create(header_map(headers), verified, allow_streaming=True), body

    payload = b"x" * (MIN_CHUNK_SIZE + 1)
    pipeline, body = framed(payload, MIN_CHUNK_SIZE)  # 8192 bytes, then 1
    assert pipeline.feed(body) == payload
    pipeline.finish()
    pipeline, body = framed(payload, MIN_CHUNK_SIZE - 1)  # 8191, then 2
    with pytest.raises(InvalidChunkSizeError) as refused:
        pipeline.feed(body)
    assert refused.value.extra == {"Chunk": "2", "BadChunkSize": str(MIN_CHUNK_SIZE - 1)}


# -- STREAMING-UNSIGNED-PAYLOAD-TRAILER, as botocore sends it over HTTPS ------------------

BOTOCORE_CHECKSUMS = {
    "CRC32": Crc32Checksum,
    "CRC32C": CrtCrc32cChecksum,
    "CRC64NVME": CrtCrc64NvmeChecksum,
    "SHA1": Sha1Checksum,
    "SHA256": Sha256Checksum,
    # S3's 2026 algorithms botocore computes (MD5 it sends only precomputed, in a header)
    "SHA512": Sha512Checksum,
    "XXHASH64": CrtXxhash64Checksum,
    "XXHASH3": CrtXxhash3Checksum,
    "XXHASH128": CrtXxhash128Checksum,
}


def _botocore_unsigned_trailer(
    payload: bytes, algorithm: str, chunk_size: int
) -> tuple[tuple[tuple[str, str], ...], VerifiedRequest, bytes]:
    name = f"x-amz-checksum-{algorithm.lower()}"
    headers = {
        "Content-Encoding": "aws-chunked",
        "Transfer-Encoding": "chunked",
        "X-Amz-Trailer": name,
        "X-Amz-Decoded-Content-Length": str(len(payload)),
        "X-Amz-Sdk-Checksum-Algorithm": algorithm,
    }
    context: dict[str, object] = {
        "checksum": {
            "request_algorithm": {"in": "trailer", "name": name, "algorithm": algorithm.lower()}
        }
    }
    request = botocore_sign("PUT", "https://s3.example.com/bucket/key", headers, context=context)
    auth = parse_auth(request)
    assert auth is not None
    assert auth.payload_hash == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    verified = verify(request, auth, SECRET, NOW)
    wrapper = AwsChunkedWrapper(
        io.BytesIO(payload),
        checksum_cls=BOTOCORE_CHECKSUMS[algorithm],
        checksum_name=name,
        chunk_size=chunk_size,
    )
    return request.headers, verified, wrapper.read()


@pytest.mark.parametrize("algorithm", sorted(BOTOCORE_CHECKSUMS))
@pytest.mark.parametrize("size", [0, 1, 1000, 70000])
def test_botocore_unsigned_trailer_body_accepted(algorithm: str, size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    headers, verified, body = _botocore_unsigned_trailer(payload, algorithm, 16384)
    pipeline = PayloadPipeline.create(header_map(headers), verified, allow_streaming=True)
    assert pipeline.payload_mode is PayloadMode.STREAMING_UNSIGNED_TRAILER
    out = pipeline.feed(body)
    pipeline.finish()
    assert out == payload
    expected = BOTOCORE_CHECKSUMS[algorithm]()
    expected.update(payload)
    assert pipeline.checksums == {algorithm: expected.b64digest()}


@settings(max_examples=60, deadline=None)
@given(
    st.binary(max_size=3 * MIN_CHUNK_SIZE),
    st.integers(MIN_CHUNK_SIZE, 2 * MIN_CHUNK_SIZE),
    st.lists(st.integers(0, 4 * MIN_CHUNK_SIZE), max_size=8),
)
def test_botocore_unsigned_trailer_any_split(payload: bytes, chunk: int, cuts: list[int]) -> None:
    headers, verified, body = _botocore_unsigned_trailer(payload, "CRC32", chunk)
    points = [0, *sorted(c for c in cuts if c <= len(body)), len(body)]
    pipeline = PayloadPipeline.create(header_map(headers), verified, allow_streaming=True)
    out = b"".join(pipeline.feed(body[a:b]) for a, b in itertools.pairwise(points))
    pipeline.finish()
    assert out == payload


@pytest.mark.parametrize("algorithm", sorted(BOTOCORE_CHECKSUMS))
def test_unsigned_trailer_mismatch_is_bad_digest(algorithm: str) -> None:
    headers, verified, body = _botocore_unsigned_trailer(b"hello world", algorithm, 64)
    tampered = body.replace(b"hello", b"jello")
    pipeline = PayloadPipeline.create(header_map(headers), verified, allow_streaming=True)
    assert pipeline.feed(tampered) == b"jello world"  # the bytes pass; the trailer fails
    with pytest.raises(BadDigest, match=f"The {algorithm} you specified"):
        pipeline.finish()


def test_unsigned_trailer_without_request_signature() -> None:
    """Bearer-authenticated uploads (verified=None) may still use the unsigned trailer mode."""
    headers, _, body = _botocore_unsigned_trailer(b"hello", "SHA256", 8)
    pipeline = PayloadPipeline.create(header_map(headers), None, allow_streaming=True)
    assert pipeline.feed(body) == b"hello"
    pipeline.finish()
    assert set(pipeline.checksums) == {"SHA256"}


def test_unsigned_trailer_blank_line_before_trailer_tolerated() -> None:
    headers, verified, body = _botocore_unsigned_trailer(b"hello", "CRC32", 8)
    variant = body.replace(b"0\r\nx-amz-checksum", b"0\r\n\r\nx-amz-checksum")
    assert variant != body
    pipeline = PayloadPipeline.create(header_map(headers), verified, allow_streaming=True)
    assert pipeline.feed(variant) == b"hello"
    pipeline.finish()
    assert pipeline.checksums == {"CRC32": CRC32_OF_HELLO}


def test_missing_decoded_length() -> None:
    headers, verified, _ = _botocore_unsigned_trailer(b"hello", "CRC32", 8)
    headers = tuple((k, v) for k, v in headers if k.lower() != "x-amz-decoded-content-length")
    with pytest.raises(MissingContentLength):
        PayloadPipeline.create(header_map(headers), verified, allow_streaming=True)


def test_missing_declared_trailer() -> None:
    headers, verified, body = _botocore_unsigned_trailer(b"hello", "CRC32", 8)
    cut = body[: body.index(b"x-amz-checksum")] + b"\r\n"
    pipeline = PayloadPipeline.create(header_map(headers), verified, allow_streaming=True)
    assert pipeline.feed(cut) == b"hello"
    with pytest.raises(IncompleteBody):
        pipeline.finish()


# -- trailers: only what x-amz-trailer announced, bounded ----------------------------------


def _unsigned_trailer_body(trailer_section: bytes, payload: bytes = b"hello") -> bytes:
    return b"%x\r\n%s\r\n0\r\n" % (len(payload), payload) + trailer_section


def _unsigned_trailer_pipeline(payload: bytes = b"hello") -> PayloadPipeline:
    headers, verified, _ = _botocore_unsigned_trailer(payload, "CRC32", 8)
    return PayloadPipeline.create(header_map(headers), verified, allow_streaming=True)


def _crc32_line(payload: bytes = b"hello") -> bytes:
    checksum = Crc32Checksum()
    checksum.update(payload)
    return b"x-amz-checksum-crc32:%s\r\n" % checksum.b64digest().encode()


def test_unannounced_trailer_refused() -> None:
    pipeline = _unsigned_trailer_pipeline()
    with pytest.raises(MalformedTrailerError) as refused:
        pipeline.feed(_unsigned_trailer_body(b"x-amz-meta-evil:1\r\n" + _crc32_line() + b"\r\n"))
    assert "x-amz-meta-evil was not announced" in refused.value.message


def test_other_checksum_than_announced_refused() -> None:
    pipeline = _unsigned_trailer_pipeline()
    with pytest.raises(MalformedTrailerError):
        pipeline.feed(_unsigned_trailer_body(b"x-amz-checksum-sha256:AAAA\r\n\r\n"))


def test_repeated_trailer_refused() -> None:
    pipeline = _unsigned_trailer_pipeline()
    with pytest.raises(MalformedTrailerError):
        pipeline.feed(_unsigned_trailer_body(_crc32_line() * 2 + b"\r\n"))


def test_trailer_without_announcement_refused() -> None:
    """A trailer mode without x-amz-trailer accepts no trailing header at all."""
    headers, _, _ = _botocore_unsigned_trailer(b"hello", "CRC32", 8)
    headers = tuple((k, v) for k, v in headers if k.lower() != "x-amz-trailer")
    values = header_map(headers)
    values.pop("x-amz-sdk-checksum-algorithm")
    pipeline = PayloadPipeline.create(values, None, allow_streaming=True)
    with pytest.raises(MalformedTrailerError):
        pipeline.feed(_unsigned_trailer_body(_crc32_line() + b"\r\n"))


@pytest.mark.parametrize("piece", [b"\r\n", b"\n", b"\r\n" * 4000])
def test_everything_after_the_final_chunk_is_capped(piece: bytes) -> None:
    """Blank lines before the trailer and CRLFs after the end are tolerated, but only up
    to MAX_TRAILER_BYTES in total, however the bytes are split."""
    pipeline = _unsigned_trailer_pipeline()
    pipeline.feed(_unsigned_trailer_body(b""))
    with pytest.raises(MalformedTrailerError):
        for _ in range(MAX_TRAILER_BYTES // len(piece) + 2):
            pipeline.feed(piece)


def test_tail_cap_counts_crlfs_after_the_end() -> None:
    pipeline = _unsigned_trailer_pipeline()
    pipeline.feed(_unsigned_trailer_body(_crc32_line() + b"\r\n"))
    pipeline.feed(b"\r\n" * 100)  # a few extra CRLFs: tolerated
    with pytest.raises(MalformedTrailerError):
        pipeline.feed(b"\r\n" * MAX_TRAILER_BYTES)


def test_tail_within_cap_accepted() -> None:
    pipeline = _unsigned_trailer_pipeline()
    blank = b"\r\n" * ((MAX_TRAILER_BYTES - 200) // 2)
    assert pipeline.feed(_unsigned_trailer_body(blank + _crc32_line() + b"\r\n")) == b"hello"
    pipeline.finish()


def test_too_many_announced_trailers_refused() -> None:
    names = frozenset(f"x-amz-checksum-{i}" for i in range(MAX_TRAILERS + 1))
    with pytest.raises(InvalidRequest):
        ChunkDecoder(decoded_length=0, signer=None, trailer_mode=True, expected_trailers=names)


def test_signed_trailer_signature_without_announced_trailer_refused() -> None:
    """Signed trailer mode: the signature alone when a checksum trailer was announced."""
    headers, verified, body = _signed_streaming(
        b"hi", 8, trailers=[], extra={"X-Amz-Trailer": "x-amz-checksum-crc32"}
    )
    pipeline = PayloadPipeline.create(header_map(headers), verified, allow_streaming=True)
    with pytest.raises(MalformedTrailerError):
        pipeline.feed(body)
