"""Helpers shared by the boto3 end-to-end tests: error assertions and raw signed requests."""

from __future__ import annotations

import http.client
import socket
import ssl
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway

S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def unique(prefix: str = "e2e") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def upstream(request: pytest.FixtureRequest) -> bool:
    """True for the ``upstream`` param of ``any_gateway``: the s3 backend in front of moto.

    Only for moto's documented deviations from S3 (docs/upstream-backend.md), and for
    documented limits of the s3 backend; every other assertion holds for all params.
    """
    callspec = getattr(request.node, "callspec", None)
    return callspec is not None and callspec.params.get("any_gateway") == "upstream"


def seaweedfs_deviates(
    request: pytest.FixtureRequest, deviation: str, *, intermittent: bool = False
) -> None:
    """Expect the test to fail for SeaweedFS, for the documented ``deviation``
    (docs/upstream-backend.md): a strict xfail, so a SeaweedFS that stops deviating makes
    the run fail until the deviation is struck from the docs and from the test.
    ``intermittent``: SeaweedFS deviates in some runs only (documented as such), so a
    pass is not news; the xfail is not strict."""
    if seaweedfs(request):
        request.applymarker(
            pytest.mark.xfail(strict=not intermittent, reason=f"SeaweedFS: {deviation}")
        )


def seaweedfs(request: pytest.FixtureRequest) -> bool:
    """True for the ``seaweedfs`` param of ``any_gateway``: the s3 backend in front of
    SeaweedFS. Only for SeaweedFS's documented deviations (docs/upstream-backend.md) and
    the s3 backend's documented limits."""
    callspec = getattr(request.node, "callspec", None)
    return callspec is not None and callspec.params.get("any_gateway") == "seaweedfs"


def client_error(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as info:
        fn(*args, **kwargs)
    return info.value


def expect_error(
    code: str, status: int | None, fn: Callable[..., Any], *args: Any, **kwargs: Any
) -> ClientError:
    exc = client_error(fn, *args, **kwargs)
    assert exc.response["Error"]["Code"] == code, exc.response
    if status is not None:
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == status, exc.response
    return exc


def call_status(fn: Callable[..., Any], **kwargs: Any) -> int:
    """The HTTP status of a boto3 call: 200 when it succeeds, else the error's."""
    try:
        fn(**kwargs)
    except ClientError as exc:
        status: int = exc.response["ResponseMetadata"]["HTTPStatusCode"]
        return status
    return 200


def keys_of(s3: Any, bucket: str, **kwargs: Any) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, **kwargs):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


def ssl_context(gw: Gateway) -> ssl.SSLContext | None:
    return ssl.create_default_context(cafile=gw.tls_ca) if gw.tls_ca else None


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def xml(self) -> ET.Element:
        return ET.fromstring(self.body)

    def error_code(self) -> str | None:
        if not self.body:
            return None
        return self.xml().findtext("Code")


def urlopen(
    gw: Gateway,
    url: str,
    method: str = "GET",
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> RawResponse:
    """Send with urllib; HTTP errors come back as a response, not an exception."""
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=30, context=ssl_context(gw)) as response:
            return RawResponse(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            body = exc.read()
            return RawResponse(exc.code, dict(exc.headers.items()), body)


def sign(
    gw: Gateway,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    host: str | None = None,
    access_key: str | None = None,
    secret: str | None = None,
    when: datetime | None = None,
) -> dict[str, str]:
    """SigV4 headers for a request (botocore's signer, optionally at another clock time),
    of the gateway's root key or of ``access_key`` and ``secret``."""
    url = f"{gw.s3_url}{path}"
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    if host is not None:
        request.headers["Host"] = host
    credentials = Credentials(access_key or gw.access_key, secret or gw.secret_key)
    signer = S3SigV4Auth(credentials, "s3", "us-east-1")
    if when is None:
        signer.add_auth(request)
    else:
        naive = when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when
        with mock.patch("botocore.auth.get_current_datetime", return_value=naive):
            signer.add_auth(request)
    return {k: v for k, v in request.headers.items()}


def raw_request(
    gw: Gateway,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
) -> RawResponse:
    """One request over http.client with exactly these headers (Host included if given)."""
    if gw.tls_ca:
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            "127.0.0.1", gw.s3_port, context=ssl_context(gw), timeout=30
        )
    else:
        conn = http.client.HTTPConnection("127.0.0.1", gw.s3_port, timeout=30)
    try:
        hdrs = dict(headers or {})
        skip_host = any(k.lower() == "host" for k in hdrs)
        conn.putrequest(method, path, skip_host=skip_host, skip_accept_encoding=True)
        for name, value in hdrs.items():
            conn.putheader(name, value)
        has_length = any(k.lower() == "content-length" for k in hdrs)
        if (body or method in {"PUT", "POST"}) and not has_length:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        response = conn.getresponse()
        data = response.read()
        return RawResponse(response.status, dict(response.getheaders()), data)
    finally:
        conn.close()


@contextmanager
def added_header(s3: Any, name: str, value: str) -> Any:
    """Add a header to every request this client signs (botocore before-sign event)."""

    def add(request: AWSRequest, **_: Any) -> None:
        request.headers[name] = value

    s3.meta.events.register("before-sign.s3", add)
    try:
        yield
    finally:
        s3.meta.events.unregister("before-sign.s3", add)


def read_head(sock: socket.socket) -> bytes:
    """A response's status line and headers, read a byte at a time so that nothing past
    the blank line (an interim 100's successor, the body) is taken from the socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data
