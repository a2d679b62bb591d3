"""``server.require_tls``: credentials are refused when they crossed a network in clear.

The gateway listens on every interface here and is reached both through loopback and
through this machine's own non-loopback address (so the peer address is not loopback,
as for a remote client).
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psutil
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from gateway.config import load_config
from gateway.transport import TLS_REQUIRED, cleartext, is_loopback, plaintext_warning
from tests.e2e.gateway_process import ROOT_KEY, ROOT_SECRET, Gateway, start_gateway
from tests.e2e.s3util import RawResponse
from tests.e2e.tenants import public_read

WILDCARD = "0.0.0.0"  # reached through loopback and through a non-loopback address


def _own_address() -> str:
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not is_loopback(address.address):
                return str(address.address)
    pytest.skip("this machine has no non-loopback IPv4 address to reach the gateway through")


def _start(tmp: pytest.TempPathFactory, name: str, **env: str) -> Gateway:
    return start_gateway(
        Path(tmp.mktemp(name)) / "data", extra_env=env, extra_args=["--host", WILDCARD]
    )


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    running = _start(
        tmp_path_factory,
        "gw-require-tls",
        NFYIO_SERVER_REQUIRE_TLS="true",
        NFYIO_SERVER_TRUSTED_FORWARDED_HEADERS="true",
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def lax(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    running = _start(tmp_path_factory, "gw-plain")
    yield running
    running.stop()


def _request(
    url: str, method: str = "GET", headers: dict[str, str] | None = None, data: bytes | None = None
) -> RawResponse:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return RawResponse(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return RawResponse(exc.code, dict(exc.headers.items()), exc.read())


def _s3_client(host: str, port: int, **config: Any) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        aws_access_key_id=ROOT_KEY,
        aws_secret_access_key=ROOT_SECRET,
        region_name="us-east-1",
        config=BotoConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **config),
    )


BEARER = {"Authorization": f"Bearer {ROOT_SECRET}"}


def assert_tls_required_s3(response: RawResponse) -> None:
    assert response.status == 403, (response.status, response.body)
    assert response.headers["Content-Type"] == "application/xml"
    assert response.xml().findtext("Code") == "AccessDenied"
    assert response.xml().findtext("Message") == TLS_REQUIRED


def test_credentials_over_plain_http_from_the_network_are_refused(strict: Gateway) -> None:
    remote = _own_address()
    s3_url = f"http://{remote}:{strict.s3_port}"
    assert_tls_required_s3(_request(f"{s3_url}/", headers=BEARER))
    assert_tls_required_s3(_request(f"{s3_url}/", headers={"X-API-Key": ROOT_SECRET}))
    # SigV4 header auth and presigned URLs alike.
    signed = _s3_client(remote, strict.s3_port)
    with pytest.raises(ClientError) as denied:
        signed.list_buckets()
    assert denied.value.response["Error"]["Message"] == TLS_REQUIRED
    presigner = _s3_client(remote, strict.s3_port, signature_version="s3v4")
    url = presigner.generate_presigned_url("list_buckets")
    assert_tls_required_s3(_request(url))

    api = f"http://{remote}:{strict.api_port}"
    refused = _request(f"{api}/v1/buckets", headers=BEARER)
    assert refused.status == 403
    assert json.loads(refused.body)["error"]["code"] == "TLSRequired"
    token = _request(
        f"{api}/oauth/token",
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        data=b"grant_type=password&username=u&password=p&client_id=c",
    )
    assert token.status == 400
    assert json.loads(token.body)["error"] == "invalid_request"
    # Nothing secret in these: still served.
    assert _request(f"{api}/health").status == 200
    anonymous = _request(f"{s3_url}/")
    assert anonymous.status == 403
    assert anonymous.xml().findtext("Message") != TLS_REQUIRED


def test_the_console_sign_in_over_plain_http_from_the_network_is_refused(
    strict: Gateway,
) -> None:
    """The console's session endpoint takes a password in its body and a refresh cookie,
    and answers an access token: as credential-bearing as ``/oauth/token``. It was served
    in clear text (the password read, the token sent back) under ``require_tls``."""
    api = f"http://{_own_address()}:{strict.api_port}"
    console = {"Origin": api, "X-Nfyio-Console": "3", "Content-Type": "application/json"}
    body = json.dumps({"username": "admin", "password": ROOT_SECRET}).encode()
    for path, data in (("/console/session", body), ("/console/session/refresh", None)):
        refused = _request(f"{api}{path}", "POST", console, data)
        assert refused.status == 403, (path, refused.status, refused.body)
        assert json.loads(refused.body)["error"]["code"] == "TLSRequired"
        assert "Set-Cookie" not in refused.headers
    # The page itself carries nothing secret: it loads, and its sign-in then says why.
    assert _request(f"{api}/console").status == 200


def test_loopback_clients_and_https_proxies_are_served(strict: Gateway) -> None:
    assert _s3_client("127.0.0.1", strict.s3_port).list_buckets()["Buckets"] == []
    api = f"http://127.0.0.1:{strict.api_port}"
    assert _request(f"{api}/v1/buckets", headers=BEARER).status == 200
    # A trusted proxy that terminated TLS says so; one that received plain HTTP too.
    remote = _own_address()
    https = _request(
        f"http://{remote}:{strict.s3_port}/", headers={**BEARER, "X-Forwarded-Proto": "https"}
    )
    assert https.status == 200, https.body
    plain_via_local_proxy = _request(
        f"http://127.0.0.1:{strict.s3_port}/", headers={**BEARER, "X-Forwarded-Proto": "http"}
    )
    assert_tls_required_s3(plain_via_local_proxy)


def test_without_the_option_plain_http_works_and_start_up_warns(
    lax: Gateway, strict: Gateway
) -> None:
    remote = _own_address()
    assert _s3_client(remote, lax.s3_port).list_buckets()["Buckets"] == []
    assert "without TLS: access keys, presigned URLs and OAuth secrets" in lax.log()
    assert "without TLS" not in strict.log()


def test_the_session_gateway_on_loopback_does_not_warn(gateway: Gateway) -> None:
    assert "without TLS" not in gateway.log()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        (None, True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("10.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_cleartext_decision() -> None:
    assert cleartext(secure=False, remote="10.0.0.1", forwarded_proto=None)
    assert not cleartext(secure=True, remote="10.0.0.1", forwarded_proto=None)
    assert not cleartext(secure=False, remote="127.0.0.1", forwarded_proto=None)
    assert cleartext(secure=False, remote="127.0.0.1", forwarded_proto="http")
    assert not cleartext(secure=False, remote="10.0.0.1", forwarded_proto="https")
    assert cleartext(secure=True, remote="127.0.0.1", forwarded_proto="ftp")


def test_an_appending_proxy_item_decides_not_the_clients_claim_before_it(
    strict: Gateway,
) -> None:
    """``X-Forwarded-Proto`` is read as ``X-Forwarded-For`` is: the last item over all its
    lines, which the trusted proxy wrote. A proxy that appends its item (or its own line)
    after a client's ``https`` leaves that claim first; reading the first item let a
    plain-HTTP client through ``require_tls``. Case does not matter."""
    remote = _own_address()
    url = f"http://{remote}:{strict.s3_port}/"
    for claimed in ({"X-Forwarded-Proto": "https, http"}, {"X-Forwarded-Proto": "HTTPS,http"}):
        assert_tls_required_s3(_request(url, headers={**BEARER, **claimed}))
    two_lines = _raw_two_lines(remote, strict.s3_port, "https", "http")
    assert b"403" in two_lines.split(b"\r\n", 1)[0] and TLS_REQUIRED.encode() in two_lines
    for sent in ("HTTPS", "http, https", "Https"):
        served = _request(url, headers={**BEARER, "X-Forwarded-Proto": sent})
        assert served.status == 200, (sent, served.body)


def _raw_two_lines(host: str, port: int, first: str, second: str) -> bytes:
    """A request with two ``X-Forwarded-Proto`` lines (urllib folds repeated headers)."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            (
                f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Authorization: {BEARER['Authorization']}\r\n"
                f"X-Forwarded-Proto: {first}\r\nX-Forwarded-Proto: {second}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
        )
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_plaintext_warning_rules() -> None:
    def config(**env: str) -> Any:
        return load_config(env={"NFYIO_DATA_DIR": "unused", **env})

    assert plaintext_warning(config()) is None  # 127.0.0.1 by default
    assert plaintext_warning(config(NFYIO_HOST=WILDCARD)) is not None
    assert plaintext_warning(config(NFYIO_HOST=WILDCARD, NFYIO_SERVER_REQUIRE_TLS="1")) is None
    with_tls = config(NFYIO_HOST=WILDCARD, NFYIO_TLS_CERT="c.pem", NFYIO_TLS_KEY="k.pem")
    assert plaintext_warning(with_tls) is None


def test_s3_paths_named_like_the_api_listeners_credential_routes_carry_none(
    strict: Gateway,
) -> None:
    """``/oauth/`` and ``/console/session`` carry credentials on the API listener only. On
    the S3 listener they are a bucket's objects (``oauth``, ``console``): an anonymous
    read of a public one over plain HTTP was refused as if it presented a credential."""
    loopback = _s3_client("127.0.0.1", strict.s3_port)
    remote = _own_address()
    placed: list[tuple[str, str]] = []
    try:
        for bucket, key in (("oauth", "token"), ("console", "session.txt")):
            loopback.create_bucket(Bucket=bucket)
            placed.append((bucket, key))
            loopback.put_object(Bucket=bucket, Key=key, Body=b"public")
            loopback.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket))
            url = f"http://{remote}:{strict.s3_port}/{bucket}/{key}"
            read = _request(url)
            assert (read.status, read.body) == (200, b"public"), (bucket, read.status, read.body)
            # A credential on that path is still refused in clear text.
            assert_tls_required_s3(_request(url, headers=BEARER))
    finally:
        for bucket, key in placed:
            loopback.delete_object(Bucket=bucket, Key=key)
            loopback.delete_bucket(Bucket=bucket)
