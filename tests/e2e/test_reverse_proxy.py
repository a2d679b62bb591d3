"""Behind a reverse proxy that rewrites Host: signatures made for the public name verify
when ``server.trusted_forwarded_headers`` is on (and only then)."""

from __future__ import annotations

import http.client
import uuid
from collections.abc import Iterator

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import ROOT_KEY, ROOT_SECRET, Gateway

PUBLIC_HOST = "s3.public.example"


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(
        tmp_path_factory, "proxied", extra_env={"NFYIO_SERVER_TRUSTED_FORWARDED_HEADERS": "true"}
    )


def _send_as_proxy(gw: Gateway, method: str, path: str, *, forwarded: bool) -> tuple[int, bytes]:
    """Sign for the public host, then deliver like a proxy: Host rewritten to the backend."""
    request = AWSRequest(method=method, url=f"http://{PUBLIC_HOST}{path}")
    request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
    S3SigV4Auth(Credentials(ROOT_KEY, ROOT_SECRET), "s3", "us-east-1").add_auth(request)
    headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
    if forwarded:
        headers["X-Forwarded-Host"] = PUBLIC_HOST
    conn = http.client.HTTPConnection("127.0.0.1", gw.s3_port, timeout=10)
    conn.request(method, path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def test_forwarded_host_is_what_the_client_signed(proxied: Gateway) -> None:
    bucket = f"px-{uuid.uuid4().hex[:12]}"
    status, body = _send_as_proxy(proxied, "PUT", f"/{bucket}", forwarded=True)
    assert status == 200, body
    status, body = _send_as_proxy(proxied, "GET", "/", forwarded=True)
    assert status == 200
    assert f"<Name>{bucket}</Name>".encode() in body


def test_without_the_forwarded_header_the_signature_fails(proxied: Gateway) -> None:
    status, body = _send_as_proxy(proxied, "GET", "/", forwarded=False)
    assert status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in body


def test_forwarded_header_is_ignored_unless_trusted(gateway: Gateway) -> None:
    status, body = _send_as_proxy(gateway, "GET", "/", forwarded=True)
    assert status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in body
