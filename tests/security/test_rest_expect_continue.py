"""Class: the API listener invites a body (``100 Continue``) only once the request may send it.

aiohttp answers ``Expect: 100-continue`` before any middleware runs. The S3 listener has
its own expect handler for that reason (PITFALLS.md); the API listener had none, so
``PUT /v1/buckets/{name}/objects/content`` told a client without credentials, or one
the bucket policy refuses, to stream its body (up to ``s3.max_object_size``) before it
answered 401 or 403. Every row now answers ``100 Continue`` itself: the access
middleware once the caller is authenticated and allowed, the upload once the S3 access
decision is made too. A refused request gets its final answer instead, with
``Connection: close`` (the body it held back is never read as the next request).
"""

from __future__ import annotations

import socket
import uuid
from typing import Any

import pytest

from tests.e2e.gateway_process import ROOT_SECRET, Gateway
from tests.e2e.s3util import read_head
from tests.e2e.tenants import deny_on_objects

BODY = b"b" * 4096


def _open(gateway: Gateway, path: str, headers: dict[str, str]) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", gateway.api_port), timeout=30)
    lines = [f"PUT {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(BODY)}"]
    lines += ["Expect: 100-continue", *(f"{k}: {v}" for k, v in headers.items())]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


@pytest.mark.parametrize("refusal", ["no-credentials", "bad-key", "bucket-policy"])
def test_a_refused_upload_is_answered_before_its_body(
    gateway: Gateway, s3: Any, bucket: str, refusal: str
) -> None:
    headers = {
        "no-credentials": {},
        "bad-key": {"Authorization": f"Bearer sk_{uuid.uuid4().hex}"},
        "bucket-policy": {"Authorization": f"Bearer {ROOT_SECRET}"},
    }[refusal]
    if refusal == "bucket-policy":
        deny_on_objects(s3, bucket, "s3:PutObject")
    with _open(gateway, f"/v1/buckets/{bucket}/objects/content?key=k", headers) as sock:
        head = read_head(sock)
    status = b"403" if refusal == "bucket-policy" else b"401"
    assert head.startswith(b"HTTP/1.1 " + status), head
    assert b"connection: close" in head.lower(), head
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_an_allowed_upload_is_invited_then_stored(gateway: Gateway, s3: Any, bucket: str) -> None:
    auth = {"Authorization": f"Bearer {ROOT_SECRET}"}
    with _open(gateway, f"/v1/buckets/{bucket}/objects/content?key=k", auth) as sock:
        interim = read_head(sock)
        assert interim.startswith(b"HTTP/1.1 100 Continue"), interim
        sock.sendall(BODY)
        final = read_head(sock)
    assert final.startswith(b"HTTP/1.1 201"), final
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == BODY
