"""Benchmarks of the SigV4 hot paths (run by `make bench`; no timed assertions)."""

from __future__ import annotations

from typing import Any

from sigv4 import PayloadPipeline, SignedRequest, header_map, parse_auth, verify
from tests.sigv4.helpers import NOW, SECRET, botocore_sign, encode_chunked, resign

MiB = 1024 * 1024


def test_bench_header_verification(benchmark: Any) -> None:
    request = botocore_sign(
        "PUT",
        "https://s3.example.com/bucket/some/key%20with%20space.txt?partNumber=3&uploadId=abc",
        {"Content-Type": "application/octet-stream", "x-amz-meta-owner": "bench"},
        b"x" * 4096,
    )

    def run() -> None:
        auth = parse_auth(request)
        assert auth is not None
        verify(request, auth, SECRET, NOW)

    benchmark(run)


def _signed_chunked_body(size: int, chunk: int) -> tuple[SignedRequest, bytes]:
    headers = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(size),
    }
    request = botocore_sign("PUT", "https://s3.example.com/bucket/big", headers)
    request = resign(
        SignedRequest(
            request.method,
            request.raw_path,
            request.raw_query,
            tuple(
                (
                    k,
                    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
                    if k.lower() == "x-amz-content-sha256"
                    else v,
                )
                for k, v in request.headers
            ),
        ),
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    )
    auth = parse_auth(request)
    assert auth is not None
    verified = verify(request, auth, SECRET, NOW)
    body = encode_chunked(
        b"\xab" * size,
        chunk,
        signing_key=verified.signing_key,
        amz_date=verified.amz_date,
        scope=verified.scope,
        seed_signature=verified.seed_signature,
    )
    return request, body


def test_bench_chunk_decoding_64mib(benchmark: Any) -> None:
    size = 64 * MiB
    request, body = _signed_chunked_body(size, 64 * 1024)
    auth = parse_auth(request)
    assert auth is not None
    verified = verify(request, auth, SECRET, NOW)
    read_size = 256 * 1024  # what a server typically reads from the socket at once
    pieces = [body[i : i + read_size] for i in range(0, len(body), read_size)]

    def run() -> int:
        pipeline = PayloadPipeline.create(
            header_map(request.headers), verified, allow_streaming=True
        )
        total = 0
        for piece in pieces:
            total += len(pipeline.feed(piece))
        pipeline.finish()
        return total

    assert benchmark.pedantic(run, rounds=3, iterations=1) == size
    benchmark.extra_info["MB_per_s"] = round(size / 1e6 / benchmark.stats.stats.mean, 1)


def test_bench_unsigned_passthrough_with_crc32_64mib(benchmark: Any) -> None:
    size = 64 * MiB
    piece = b"\xcd" * (256 * 1024)
    headers = (("x-amz-checksum-crc32", "AAAAAA=="),)

    def run() -> None:
        pipeline = PayloadPipeline.create(header_map(headers), None, allow_streaming=False)
        for _ in range(size // len(piece)):
            pipeline.feed(piece)

    benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info["MB_per_s"] = round(size / 1e6 / benchmark.stats.stats.mean, 1)
