"""Requests the HTTP parser refuses, before any handler runs (``gateway/malformed.py``).

The class: a request that is not valid HTTP/1.1 was answered by aiohttp itself, as
``text/plain`` quoting up to 100 of the refused bytes back, on both listeners: an S3
client read a body that was not S3 XML, a ``/v1`` client one that was not the JSON
envelope, and what the client sent was echoed. Each case here must get the listener's
own error document, name what was wrong without quoting it, close the connection, and
change nothing.
"""

from __future__ import annotations

import contextlib
import json
import socket
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway

MARK = b"NFYMARK"
"""In every refused request: it must never come back."""

CASES: dict[str, bytes] = {
    "header field over the limit": (
        b"GET /b/k HTTP/1.1\r\nHost: x\r\nX-Long: " + MARK + b"a" * 9000 + b"\r\n\r\n"
    ),
    "request line over the limit": (
        b"GET /" + MARK + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    ),
    "method that is no token": b"G\x01T /" + MARK + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "header name with a space": b"GET / HTTP/1.1\r\nHost: x\r\nBad " + MARK + b": <b>\r\n\r\n",
    # docs/architecture.md: such a metadata value never reaches the InvalidArgument check
    "control character in a header value": (
        b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
        b"X-Amz-Meta-A: a\x01" + MARK + b"\r\n\r\nx"
    ),
    "chunk size that is not hex": (
        b"PUT /b/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + MARK + b"\r\n"
    ),
    "Content-Length with Transfer-Encoding": (
        b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\nX-Mark: " + MARK + b"\r\n\r\n0\r\n\r\n"
    ),
}
TOO_LONG = {"header field over the limit", "request line over the limit"}


def _exchange(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``data``, read until the server closes: (status, headers, body). A server
    that does not close within the timeout fails the test (socket.timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        # it may answer and close before taking all of a long request
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split(" ")[1]), headers, body


@pytest.mark.parametrize("case", sorted(CASES))
def test_s3_listener_answers_s3_xml(gateway: Gateway, case: str) -> None:
    status, headers, body = _exchange(gateway.s3_port, CASES[case])
    assert status == 400, body
    assert headers["content-type"] == "application/xml"
    assert int(headers["content-length"]) == len(body)
    error = ET.fromstring(body)
    assert error.tag == "Error"
    code = error.findtext("Code")
    assert code == ("RequestHeaderSectionTooLarge" if case in TOO_LONG else "InvalidRequest")
    assert error.findtext("Message")
    assert error.findtext("RequestId") == headers["x-amz-request-id"]
    assert headers["x-amz-id-2"]
    assert MARK not in body


@pytest.mark.parametrize("case", sorted(CASES))
def test_api_listener_answers_the_json_envelope(gateway: Gateway, case: str) -> None:
    status, headers, body = _exchange(gateway.api_port, CASES[case])
    assert status == 400, body
    assert headers["content-type"].startswith("application/json")
    document: dict[str, Any] = json.loads(body)
    assert document["error"]["code"] == "InvalidRequest"
    assert document["error"]["message"]
    assert document["error"]["details"] == {}
    assert MARK not in body


def test_boto3_reads_the_code_and_the_object_stays(s3: Any, bucket: str) -> None:
    """A real client: metadata far over S3's 2 KB makes a header field longer than the
    parser takes. boto3 reads S3's code from the answer (from text/plain it could only
    report the status), and the object it would have replaced is intact."""
    s3.put_object(Bucket=bucket, Key="kept", Body=b"old")
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="kept", Body=b"new", Metadata={"big": "a" * 9000})
    assert caught.value.response["Error"]["Code"] == "RequestHeaderSectionTooLarge"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"old"


def test_refusals_log_one_line_without_the_bytes_as_an_error(gateway: Gateway) -> None:
    """The refusal is logged by aiohttp as one INFO line (``gateway/logs.py``), not as an
    error with a traceback, on both listeners."""
    for port in (gateway.s3_port, gateway.api_port):
        _exchange(port, CASES["method that is no token"])
    log = gateway.log()
    assert "malformed HTTP request refused" in log
    assert "Traceback" not in log


def test_no_answer_names_the_software_version(gateway: Gateway) -> None:
    """aiohttp's default ``Server`` header names Python's version and its own: every answer
    of both listeners, refusals of the parser included, names the product only."""
    answers = [
        _exchange(port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        for port, path in (
            (gateway.api_port, "/health"),
            (gateway.api_port, "/v1/no-such-route"),
            (gateway.api_port, "/v1/buckets"),  # no credential: 401
            (gateway.s3_port, "/"),  # anonymous ListBuckets: 403
        )
    ]
    answers += [
        _exchange(port, CASES["method that is no token"])
        for port in (gateway.s3_port, gateway.api_port)
    ]
    for status, headers, _ in answers:
        assert headers.get("server") == "nfyio-gateway", (status, headers)
