"""Class: an aws-chunked body cut into chunks smaller than 8 KiB.

Every chunk costs a header line parsed (and, in the signed modes, an HMAC): a body of
one-byte chunks took ~4 us of CPU per payload byte, six wire bytes each; 6 MB of them
kept a worker busy for 3.7 s, about ten times the CPU per wire byte of ordinary PUTs.
S3 refuses such bodies in every streaming mode: only the last chunk may be smaller than
8192 bytes (400 ``InvalidChunkSizeError`` naming the ``Chunk`` that showed the previous
one was not the last, and that one's ``BadChunkSize``). The gateway now does the same,
before the second chunk's bytes are read, and stores nothing. Real gateway, raw HTTP;
the signed modes are pinned in tests/sigv4/test_chunked.py.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

from sigv4 import MIN_CHUNK_SIZE
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import RawResponse
from tests.security.rawhttp import send, signed_unsigned_trailer_headers


def _put(gw: Gateway, bucket: str, key: str, chunks: list[bytes]) -> RawResponse:
    payload = b"".join(chunks)
    crc = base64.b64encode(zlib.crc32(payload).to_bytes(4, "big"))
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks)
    body += b"0\r\nx-amz-checksum-crc32:%s\r\n\r\n" % crc
    path = f"/{bucket}/{key}"
    headers = signed_unsigned_trailer_headers(gw, path, len(payload))
    return send(gw, "PUT", path, headers, [body], length=len(body))


def test_only_the_last_chunk_may_be_small(gateway: Gateway, s3: Any, bucket: str) -> None:
    response = _put(gateway, bucket, "tiny", [b"a", b"b", b"c"])
    assert (response.status, response.error_code()) == (400, "InvalidChunkSizeError")
    assert response.xml().findtext("Chunk") == "2"
    assert response.xml().findtext("BadChunkSize") == "1"
    assert not s3.list_objects_v2(Bucket=bucket, Prefix="tiny").get("KeyCount")

    whole = [b"x" * MIN_CHUNK_SIZE, b"x" * MIN_CHUNK_SIZE, b"tail"]
    response = _put(gateway, bucket, "whole", whole)
    assert response.status == 200, response.body
    assert s3.get_object(Bucket=bucket, Key="whole")["Body"].read() == b"".join(whole)
