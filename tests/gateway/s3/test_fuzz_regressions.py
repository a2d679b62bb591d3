"""Requests the fuzzer (test_fuzz.py) found breaking the gateway, each pinned once fixed."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
from aiohttp.test_utils import TestClient
from yarl import URL

from tests.gateway.s3.conftest import ROOT, error_code, make_bucket

ROOT_HEADER = f"Authorization: {ROOT['Authorization']}"


async def test_error_document_stays_xml_with_control_characters_in_the_path(
    s3: TestClient[Any, Any],
) -> None:
    """A key with control characters echoed in <Resource> as ``&#x1;`` made the error
    document unparseable (XML 1.0 forbids those characters even as references)."""
    bucket = await make_bucket(s3)
    response = await s3.get(URL(f"/{bucket}/a%01b%1F", encoded=True))  # anonymous: an error
    assert await error_code(response, 403) == "AccessDenied"
    root = ElementTree.fromstring(await response.read())
    assert root.findtext("Resource") == f"/{bucket}/a%01b%1F"


async def _raw(s3: TestClient[Any, Any], head: bytes) -> tuple[int, bytes]:
    """Send a request head as bytes (the aiohttp client refuses control characters and
    non-UTF-8 bytes in header values; a raw client does not)."""
    reader, writer = await asyncio.open_connection(s3.server.host, s3.server.port)
    try:
        writer.write(head)
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
    status_line, _, rest = response.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize(
    "header",
    [
        b"Authorization: Bearer \xff\xfe",
        b"X-API-Key: \xff",
        b"Authorization: AWS4-HMAC-SHA256 Credential=\xff/20240101/us-east-1/s3/aws4_request, "
        b"SignedHeaders=host, Signature=" + b"0" * 64,
        b"x-amz-copy-source: /bucket/\xff",
        b"x-amz-meta-a: \xc3(",
        b"x-amz-decoded-content-length: 1\xff",
    ],
)
async def test_header_bytes_that_are_not_utf8_are_invalid_argument(
    s3: TestClient[Any, Any], header: bytes
) -> None:
    """aiohttp hands such bytes over as lone surrogates; encoding them again (a SigV4
    canonical request, a Bearer secret's hash, an access key id or copy source looked up
    in SQLite) failed with 500. The request object refuses them once, up front."""
    bucket = await make_bucket(s3)
    head = (
        (
            f"PUT /{bucket}/k HTTP/1.1\r\nHost: x\r\n"
            "x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\r\n"
            "Content-Length: 0\r\nConnection: close\r\n"
        ).encode()
        + header
        + b"\r\n\r\n"
    )
    if not header.lower().startswith((b"authorization", b"x-api-key")):
        head = head.replace(b"Host: x\r\n", f"Host: x\r\n{ROOT_HEADER}\r\n".encode())
    status, body = await _raw(s3, head)
    assert status == 400, body
    root = ElementTree.fromstring(body)
    assert root.findtext("Code") == "InvalidArgument"
    assert root.findtext("ArgumentName") == header.split(b":")[0].decode()


async def test_error_document_stays_xml_with_control_characters_in_an_echoed_query(
    s3: TestClient[Any, Any],
) -> None:
    """A SigV2 ``Expires`` is echoed in the message; the query is percent-decoded."""
    bucket = await make_bucket(s3)
    target = f"/{bucket}/k?AWSAccessKeyId=x&Signature=y&Expires=%01%1B"
    response = await s3.get(URL(target, encoded=True))
    assert await error_code(response, 403) == "AccessDenied"
    message = ElementTree.fromstring(await response.read()).findtext("Message")
    assert message is not None
    assert message.endswith("%01%1B")


@pytest.mark.parametrize("marker", ["99999999999999999999", "2147483648", "-5", "x", "\u0665"])
async def test_list_parts_marker_out_of_range_is_invalid_argument(
    s3: TestClient[Any, Any], marker: str
) -> None:
    """A part-number-marker beyond SQLite's integers answered 500 (OverflowError)."""
    bucket = await make_bucket(s3)
    created = await s3.post(f"/{bucket}/mp?uploads", headers=ROOT)
    upload = ElementTree.fromstring(await created.read()).findtext(
        "{http://s3.amazonaws.com/doc/2006-03-01/}UploadId"
    )
    response = await s3.get(
        URL(f"/{bucket}/mp?uploadId={upload}&part-number-marker={quote(marker)}", encoded=True),
        headers=ROOT,
    )
    assert await error_code(response, 400) == "InvalidArgument"
    fine = await s3.get(
        f"/{bucket}/mp?uploadId={upload}&part-number-marker=2147483647", headers=ROOT
    )
    assert fine.status == 200
