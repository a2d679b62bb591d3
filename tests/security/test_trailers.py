"""Class 2: aws-chunked trailers are only those announced, and bounded.

The decoder used to keep every trailer line (only each line was capped): 80 MB of
trailers on a presigned PUT URL grew the process by ~160 MB and was answered 200. Now a
trailer not announced in ``x-amz-trailer``, a repeated one, or more than
``MAX_TRAILER_BYTES`` after the final chunk is 400 ``MalformedTrailerError``, and the
presigned variant is refused before the body is read (its aws-chunked headers are not
signed: class 1).
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import psutil
import pytest

from sigv4 import MAX_TRAILER_BYTES
from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.security.rawhttp import send, signed_unsigned_trailer_headers

PAYLOAD = b"hello"
FLOOD = 80 * 1024 * 1024


def _crc32_trailer(payload: bytes = PAYLOAD) -> bytes:
    value = base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")).decode()
    return f"x-amz-checksum-crc32:{value}\r\n".encode()


def _chunks(payload: bytes = PAYLOAD) -> bytes:
    return b"%x\r\n%s\r\n0\r\n" % (len(payload), payload)


def _put(gw: Gateway, bucket: str, key: str, tail: bytes) -> Any:
    path = f"/{bucket}/{key}"
    body = _chunks() + tail
    headers = signed_unsigned_trailer_headers(gw, path, len(PAYLOAD))
    return send(gw, "PUT", path, headers, [body], length=len(body))


def _exists(s3: Any, bucket: str, key: str) -> bool:
    return bool(s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount"))


def test_announced_trailer_accepted(gateway: Gateway, s3: Any, bucket: str) -> None:
    response = _put(gateway, bucket, "ok", _crc32_trailer() + b"\r\n")
    assert response.status == 200, response.body
    assert s3.get_object(Bucket=bucket, Key="ok")["Body"].read() == PAYLOAD


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param(b"x-amz-meta-evil:1\r\n" + _crc32_trailer() + b"\r\n", id="unannounced"),
        pytest.param(b"x-amz-checksum-sha256:AAAA\r\n\r\n", id="other-checksum"),
        pytest.param(_crc32_trailer() * 2 + b"\r\n", id="repeated"),
        pytest.param(b"\r\n" * MAX_TRAILER_BYTES + _crc32_trailer() + b"\r\n", id="blank-flood"),
        pytest.param(_crc32_trailer() + b"\r\n" * (MAX_TRAILER_BYTES + 1), id="crlf-flood"),
    ],
)
def test_trailer_outside_the_rules_is_malformed(
    gateway: Gateway, s3: Any, bucket: str, tail: bytes
) -> None:
    response = _put(gateway, bucket, "bad", tail)
    assert response.status == 400, response.body
    assert response.xml().findtext("Code") == "MalformedTrailerError"
    assert not _exists(s3, bucket, "bad")


def _flood_lines(total: int) -> Iterator[bytes]:
    """Distinct trailer lines (a repeated name would be refused at once even before)."""
    value = "v" * 4000
    sent = 0
    index = 0
    while sent < total:
        batch = b"".join(f"x-amz-pad-{index + i}:{value}\r\n".encode() for i in range(256))
        index += 256
        sent += len(batch)
        yield batch
    yield _crc32_trailer() + b"\r\n"


def _flood_length(total: int) -> int:
    return sum(len(piece) for piece in _flood_lines(total))


@pytest.fixture(scope="module")
def lone_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway of its own, so its memory reflects only the attack."""
    yield from own_gateway(tmp_path_factory, "gw-trailers")


def _rss(gw: Gateway) -> int:
    return int(psutil.Process(gw.pid()).memory_info().rss)


def test_trailer_flood_with_a_signed_request_keeps_memory_flat(lone_gateway: Gateway) -> None:
    s3 = lone_gateway.client()
    s3.create_bucket(Bucket="flood")
    path = "/flood/header-signed"
    headers = signed_unsigned_trailer_headers(lone_gateway, path, len(PAYLOAD))
    before = _rss(lone_gateway)
    body = [_chunks(), *_flood_lines(FLOOD)]
    length = len(_chunks()) + _flood_length(FLOOD)
    response = send(lone_gateway, "PUT", path, headers, body, length=length)
    grown = _rss(lone_gateway) - before
    assert response.status == 400, response.body
    assert response.xml().findtext("Code") == "MalformedTrailerError"
    assert grown < 32 * 1024 * 1024, f"RSS grew by {grown / 2**20:.0f} MiB"
    assert s3.list_objects_v2(Bucket="flood").get("KeyCount") == 0


def test_trailer_flood_on_a_presigned_url_is_refused_before_the_body(
    lone_gateway: Gateway,
) -> None:
    """The issue's attack: a presigned PUT URL plus aws-chunked headers nobody signed."""
    s3 = lone_gateway.client(signature_version="s3v4")
    s3.create_bucket(Bucket="flood-presigned")
    url = urlsplit(
        s3.generate_presigned_url("put_object", Params={"Bucket": "flood-presigned", "Key": "k"})
    )
    headers = {
        "Host": f"127.0.0.1:{lone_gateway.s3_port}",
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(PAYLOAD)),
    }
    before = _rss(lone_gateway)
    body = [_chunks(), *_flood_lines(FLOOD)]
    length = len(_chunks()) + _flood_length(FLOOD)
    response = send(lone_gateway, "PUT", f"{url.path}?{url.query}", headers, body, length=length)
    grown = _rss(lone_gateway) - before
    assert response.status == 403, response.body
    assert response.xml().findtext("HeadersNotSigned") == "x-amz-decoded-content-length"
    assert grown < 32 * 1024 * 1024, f"RSS grew by {grown / 2**20:.0f} MiB"
    assert s3.list_objects_v2(Bucket="flood-presigned").get("KeyCount") == 0
