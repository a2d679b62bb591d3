"""Class: ``X-Forwarded-Host`` has one reading, the trusted proxy's (``gateway.peer.
forwarded_host``), wherever the gateway takes the host a client used.

Behind a trusted proxy that appends its item to a client's own header (or adds a header
line of its own), the header holds the client's claim first and the proxy's last. Each
reader had its own rule: the S3 side took the whole first line (``evil, s3.example.com``
as the host, so every signature made for the public name failed, and a CORS preflight
found no bucket), while ``/v1/presign`` and the console's same-origin check took the
first item, the client's: a presigned URL pointing at the client's host, a console that
refused its own page. Now every reader takes the last item over all header lines, as
``X-Forwarded-Proto`` and ``X-Forwarded-For`` are read, and only with
``server.trusted_forwarded_headers`` on.
"""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import ROOT_KEY, ROOT_SECRET, Gateway
from tests.e2e.rest_util import ADMIN, call

PUBLIC = "s3.public.example"
CLAIM = "attacker.example"


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(
        tmp_path_factory,
        "xfh",
        extra_env={"NFYIO_SERVER_TRUSTED_FORWARDED_HEADERS": "true", "NFYIO_S3_DOMAIN": PUBLIC},
    )


def _s3(gw: Gateway, method: str, path: str, forwarded: list[str]) -> tuple[int, bytes]:
    """Signed for ``PUBLIC``, delivered as a proxy does: Host rewritten to the backend,
    ``X-Forwarded-Host`` as these header lines."""
    request = AWSRequest(method=method, url=f"http://{PUBLIC}{path}")
    request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
    S3SigV4Auth(Credentials(ROOT_KEY, ROOT_SECRET), "s3", "us-east-1").add_auth(request)
    conn = http.client.HTTPConnection("127.0.0.1", gw.s3_port, timeout=10)
    try:
        conn.putrequest(method, path)
        for name, value in request.headers.items():
            if name.lower() != "host":
                conn.putheader(name, value)
        for line in forwarded:
            conn.putheader("X-Forwarded-Host", line)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _bucket(gw: Gateway) -> str:
    name = f"xfh-{uuid.uuid4().hex[:12]}"
    gw.client().create_bucket(Bucket=name)
    return name


def _presigned_url(gw: Gateway, bucket: str, forwarded: dict[str, str]) -> str:
    """The URL ``/v1/buckets/{bucket}/objects/presign`` answers, asked with the
    ``forwarded`` headers."""
    status, _, raw = call(
        gw,
        "POST",
        f"/v1/buckets/{bucket}/objects/presign",
        headers={**ADMIN, **forwarded},
        body={"key": "k"},
    )
    assert status == 200, raw
    url: str = json.loads(raw)["url"]
    return url


@pytest.mark.parametrize(
    "forwarded",
    [[f"{CLAIM}, {PUBLIC}"], [CLAIM, PUBLIC], [f"{CLAIM},{PUBLIC} , "]],
    ids=["appended-item", "appended-line", "trailing-comma"],
)
def test_s3_signatures_verify_against_the_proxys_host(
    proxied: Gateway, forwarded: list[str]
) -> None:
    bucket = f"xfh-{uuid.uuid4().hex[:12]}"
    status, body = _s3(proxied, "PUT", f"/{bucket}", forwarded)
    assert status == 200, body
    status, body = _s3(proxied, "GET", "/", forwarded)
    assert status == 200, body
    assert f"<Name>{bucket}</Name>".encode() in body


def test_a_cors_preflight_finds_the_virtual_hosted_bucket(proxied: Gateway) -> None:
    bucket = _bucket(proxied)
    proxied.client().put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [{"AllowedOrigins": ["http://site.example"], "AllowedMethods": ["GET"]}]
        },
    )
    conn = http.client.HTTPConnection("127.0.0.1", proxied.s3_port, timeout=10)
    try:
        conn.request(
            "OPTIONS",
            "/k",
            headers={
                "Origin": "http://site.example",
                "Access-Control-Request-Method": "GET",
                "X-Forwarded-Host": f"{CLAIM}, {bucket}.{PUBLIC}",
            },
        )
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.status == 200, body
    assert response.getheader("Access-Control-Allow-Origin") == "http://site.example"


def test_presigned_urls_name_the_proxys_host(proxied: Gateway) -> None:
    bucket = _bucket(proxied)
    url = _presigned_url(proxied, bucket, {"X-Forwarded-Host": f"{CLAIM}, files.example.com"})
    assert urlsplit(url).hostname == "files.example.com", url
    # a forwarded scheme other than http(s) is not taken as sent (one reading:
    # peer.client_origin, as the S3 request's scheme); it named a wss:// endpoint
    url = _presigned_url(proxied, bucket, {"X-Forwarded-Proto": "wss"})
    assert urlsplit(url).scheme == "http", url


def test_the_console_recognises_its_own_origin(proxied: Gateway) -> None:
    """The same-origin check of the console's session endpoints compares ``Origin`` with
    the origin the proxy names; no cookie: 204 (refused: 403)."""
    status, _, raw = call(
        proxied,
        "POST",
        "/console/session/refresh",
        headers={
            "X-Nfyio-Console": "3",
            "Origin": "https://files.example.com",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": f"{CLAIM}, files.example.com",
        },
    )
    assert status == 204, raw


def test_untrusted_the_header_is_nobodys(gateway: Gateway) -> None:
    """Without ``server.trusted_forwarded_headers`` the header changes nothing: a
    signature made for the forwarded name fails, the presigned URL names the API's host."""
    status, body = _s3(gateway, "GET", "/", [PUBLIC])
    assert status == 403, body
    assert b"<Code>SignatureDoesNotMatch</Code>" in body
    url = _presigned_url(gateway, _bucket(gateway), {"X-Forwarded-Host": "files.example.com"})
    assert urlsplit(url).hostname == "127.0.0.1", url
