"""Header bytes that are not UTF-8 are refused, never a 500 (both listeners).

aiohttp hands them over as lone surrogates; every place that encoded such a value again
(SigV4 canonical requests, Bearer and X-API-Key secrets, access key ids, copy sources)
failed with 500 and a traceback.
"""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET

import pytest

from tests.e2e.gateway_process import Gateway


def _exchange(port: int, head: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize(
    "header",
    [b"Authorization: Bearer \xff\xfe", b"X-API-Key: caf\xe9"],
)
def test_api_listener_refuses_undecodable_credentials(gateway: Gateway, header: bytes) -> None:
    head = b"GET /v1/buckets HTTP/1.1\r\nHost: x\r\n" + header + b"\r\nConnection: close\r\n\r\n"
    status, body = _exchange(gateway.api_port, head)
    assert status == 401, body
    assert json.loads(body)["error"]["code"] == "InvalidApiKey"
    assert "Traceback" not in gateway.log()


@pytest.mark.parametrize(
    "header",
    [
        b"Authorization: Bearer \xff\xfe",
        b"X-API-Key: caf\xe9",
        b"Authorization: AWS4-HMAC-SHA256 Credential=\xff/20240101/us-east-1/s3/aws4_request, "
        b"SignedHeaders=host, Signature=" + b"0" * 64,
        b"x-amz-meta-name: caf\xe9",
    ],
)
def test_s3_listener_refuses_undecodable_header_bytes(gateway: Gateway, header: bytes) -> None:
    head = b"GET / HTTP/1.1\r\nHost: x\r\n" + header + b"\r\nConnection: close\r\n\r\n"
    status, body = _exchange(gateway.s3_port, head)
    assert status == 400, body
    root = ET.fromstring(body)
    assert root.findtext("Code") == "InvalidArgument"
    assert root.findtext("ArgumentName") == header.split(b":")[0].decode()
    assert "Traceback" not in gateway.log()
