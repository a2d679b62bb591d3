"""SSE-C keys are secrets: S3 refuses them over plain HTTP, and so does the gateway, except
from a loopback peer that is not a proxy relaying someone else's plain HTTP request."""

from __future__ import annotations

import http.client
import socket
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import ROOT_SECRET, Gateway
from tests.e2e.s3util import raw_request
from tests.security.data_util import sse_c_headers, sse_c_key

ADMIN = {"Authorization": f"Bearer {ROOT_SECRET}"}
TLS_MESSAGE = "must be made over a secure connection"


def non_loopback_address() -> str | None:
    """This machine's address on its default route (no packet is sent), if any."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.254", 9))
        except OSError:
            return None
        address = str(sock.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def request(
    address: str, port: int, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(address, port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={**headers, "Content-Length": str(len(body))})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def error_code(body: bytes) -> str | None:
    return ET.fromstring(body).findtext("Code") if body else None


@pytest.fixture(scope="module")
def wide_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """Listening on every address, so a request can arrive from a non-loopback peer."""
    yield from own_gateway(tmp_path_factory, "sse-wide", extra_args=["--host", "0.0.0.0"])


def test_sse_c_over_plain_http_from_another_host_is_refused(wide_gateway: Gateway) -> None:
    address = non_loopback_address()
    if address is None:
        pytest.skip("no non-loopback IPv4 address on this machine to connect from")
    port = wide_gateway.s3_port
    bucket = f"tls-{uuid.uuid4().hex[:12]}"
    wide_gateway.client().create_bucket(Bucket=bucket)
    key, _ = sse_c_key()
    with_key = {**ADMIN, **sse_c_headers(key)}

    status, body = request(address, port, "PUT", f"/{bucket}/k", with_key, b"secret")
    assert (status, error_code(body)) == (400, "InvalidRequest"), body
    assert TLS_MESSAGE in body.decode()
    copy_key = sse_c_headers(key, prefix="x-amz-copy-source-server-side-encryption-customer-")
    status, body = request(
        address,
        port,
        "PUT",
        f"/{bucket}/copy",
        {**ADMIN, **copy_key, "x-amz-copy-source": f"/{bucket}/k"},
    )
    assert (status, error_code(body)) == (400, "InvalidRequest"), body

    # the same request from loopback (a local client, these tests) is accepted ...
    local = raw_request(wide_gateway, "PUT", f"/{bucket}/k", body=b"secret", headers=with_key)
    assert local.status == 200, local.body
    # ... and reading it back from another host with the key is refused as well
    status, body = request(address, port, "GET", f"/{bucket}/k", with_key)
    assert (status, error_code(body)) == (400, "InvalidRequest"), body
    # SSE-S3 carries no secret: fine over plain HTTP from anywhere
    status, body = request(
        address,
        port,
        "PUT",
        f"/{bucket}/managed",
        {**ADMIN, "x-amz-server-side-encryption": "AES256"},
        b"managed",
    )
    assert status == 200, body


@pytest.fixture(scope="module")
def proxied_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(
        tmp_path_factory,
        "sse-proxied",
        extra_env={"NFYIO_SERVER_TRUSTED_FORWARDED_HEADERS": "true"},
    )


def test_behind_a_trusted_proxy_the_clients_scheme_decides(proxied_gateway: Gateway) -> None:
    """The proxy connects from loopback; what counts is how the client reached it."""
    bucket = f"tls-{uuid.uuid4().hex[:12]}"
    proxied_gateway.client().create_bucket(Bucket=bucket)
    key, key_md5 = sse_c_key()
    headers = {**ADMIN, **sse_c_headers(key)}
    for forwarded in ({"X-Forwarded-Proto": "http"}, {}):
        response = raw_request(
            proxied_gateway, "PUT", f"/{bucket}/k", body=b"s", headers={**headers, **forwarded}
        )
        assert (response.status, response.error_code()) == (400, "InvalidRequest"), forwarded
    response = raw_request(
        proxied_gateway,
        "PUT",
        f"/{bucket}/k",
        body=b"s",
        headers={**headers, "X-Forwarded-Proto": "https"},
    )
    assert response.status == 200, response.body
    assert response.headers["x-amz-server-side-encryption-customer-key-MD5"] == key_md5
