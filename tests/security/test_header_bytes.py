"""Header bytes that are not UTF-8 are refused, never a 500 (both listeners).

aiohttp hands them over as lone surrogates; every place that encoded such a value again
(SigV4 canonical requests, Bearer and X-API-Key secrets, access key ids, copy sources)
failed with 500 and a traceback.
"""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.e2e.gateway_process import ROOT_SECRET, Gateway


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


def test_s3_listener_names_the_first_undecodable_header_after_utf8_ones(
    gateway: Gateway,
) -> None:
    """The values are looked at one by one only when some byte is beyond ASCII: text
    beyond ASCII in UTF-8 passes, and the first header that is not UTF-8 is named."""
    head = (
        b"GET / HTTP/1.1\r\nHost: x\r\n"
        + "x-amz-meta-a: café\r\n".encode()
        + b"x-amz-meta-b: plain\r\nx-amz-meta-c: caf\xe9\r\nx-amz-meta-d: \xff\r\n"
        + b"Connection: close\r\n\r\n"
    )
    status, body = _exchange(gateway.s3_port, head)
    assert status == 400, body
    assert ET.fromstring(body).findtext("ArgumentName") == "x-amz-meta-c"
    utf8_only = b"GET / HTTP/1.1\r\nHost: x\r\n" + "x-amz-meta-a: café\r\n".encode()
    status, body = _exchange(gateway.s3_port, utf8_only + b"Connection: close\r\n\r\n")
    assert status == 403, body  # anonymous: refused by the decision, not as bytes
    assert ET.fromstring(body).findtext("Code") == "AccessDenied"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (b"text/\xffplain", "ValidationError"),
        # control characters: the HTTP parser refuses the request before any handler
        (b"text/pl\x01ain", "InvalidRequest"),
        (b"text/plain\x7f", "InvalidRequest"),
    ],
)
def test_rest_upload_refuses_a_content_type_it_could_not_send_back(
    gateway: Gateway, s3: Any, bucket: str, value: bytes, code: str
) -> None:
    """The REST upload stores the ``Content-Type`` it is sent and answers it on every
    later GET: bytes that are not UTF-8 text (or control characters) are 400 naming the
    header, and nothing is stored (a byte that is not UTF-8 was stored as a lone
    surrogate, which no later answer can carry as it came)."""
    body = b"data"
    head = (
        f"PUT /v1/buckets/{bucket}/objects/content?key=k HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {ROOT_SECRET}\r\nContent-Length: {len(body)}\r\n".encode()
        + b"Content-Type: "
        + value
        + b"\r\nConnection: close\r\n\r\n"
        + body
    )
    status, answer = _exchange(gateway.api_port, head)
    assert status == 400, answer
    error = json.loads(answer)["error"]
    assert error["code"] == code
    assert "Content-Type" in json.dumps(error) or code == "InvalidRequest"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    assert "Traceback" not in gateway.log()


def test_rest_upload_keeps_a_utf8_content_type(gateway: Gateway, s3: Any, bucket: str) -> None:
    """Text beyond ASCII is not refused: it is stored and answered as it came."""
    body = b"data"
    head = (
        f"PUT /v1/buckets/{bucket}/objects/content?key=k HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {ROOT_SECRET}\r\nContent-Length: {len(body)}\r\n".encode()
        + "Content-Type: text/plain; name=café\r\n".encode()
        + b"Connection: close\r\n\r\n"
        + body
    )
    status, answer = _exchange(gateway.api_port, head)
    assert status in (200, 201), answer
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == body
