"""The CORS settings of the gateway itself (``[cors]``): the gateway-wide default rule of
the S3 listener, and CORS on the API listener for ``/v1`` and ``/oauth``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import ROOT_SECRET, Gateway
from tests.e2e.rest_util import call
from tests.e2e.s3util import added_header, expect_error, raw_request, unique

APP = "https://app.example.com"
OTHER = "https://other.example.net"


@pytest.fixture(scope="module")
def cors_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(
        tmp_path_factory,
        "gw-cors-settings",
        extra_env={
            "NFYIO_CORS_DEFAULT_ORIGINS": f"{APP},http://localhost:*",
            "NFYIO_CORS_API_ORIGINS": APP,
        },
    )


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def options(gw: Gateway, url: str, origin: str, method: str, headers: str = "") -> Any:
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        sent["Access-Control-Request-Headers"] = headers
    return call(gw, "OPTIONS", url, headers=sent)


# --- the default rule on the S3 listener ------------------------------------------------


def test_default_rule_serves_buckets_without_their_own(cors_gateway: Gateway) -> None:
    s3 = cors_gateway.client()
    bucket = unique("dflt")
    s3.create_bucket(Bucket=bucket)
    reply = raw_request(
        cors_gateway,
        "OPTIONS",
        f"/{bucket}/k",
        headers={
            "Origin": APP,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert reply.status == 200, reply.body
    headers = lower(reply.headers)
    assert headers["access-control-allow-origin"] == APP
    assert headers["access-control-allow-headers"] == "content-type"
    assert "ETag" in headers["access-control-expose-headers"]
    assert headers["access-control-max-age"] == "3000"
    wildcard = raw_request(
        cors_gateway,
        "OPTIONS",
        f"/{bucket}/k",
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "GET"},
    )
    assert wildcard.status == 200
    refused = raw_request(
        cors_gateway,
        "OPTIONS",
        f"/{bucket}/k",
        headers={"Origin": OTHER, "Access-Control-Request-Method": "GET"},
    )
    assert (refused.status, refused.error_code()) == (403, "AccessForbidden")
    with added_header(s3, "Origin", APP):
        put = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["ResponseMetadata"]["HTTPHeaders"]
        listed = s3.list_buckets()["ResponseMetadata"]["HTTPHeaders"]
    assert put["access-control-allow-origin"] == APP
    assert listed["access-control-allow-origin"] == APP  # the service URL too
    # the default is the gateway's, not the bucket's configuration
    expect_error("NoSuchCORSConfiguration", 404, s3.get_bucket_cors, Bucket=bucket)


def test_a_bucket_configuration_replaces_the_default(cors_gateway: Gateway) -> None:
    s3 = cors_gateway.client()
    bucket = unique("own")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={"CORSRules": [{"AllowedOrigins": [OTHER], "AllowedMethods": ["GET"]}]},
    )
    for origin, status in ((OTHER, 200), (APP, 403)):
        reply = raw_request(
            cors_gateway,
            "OPTIONS",
            f"/{bucket}/k",
            headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
        )
        assert reply.status == status, origin


# --- the API listener -------------------------------------------------------------------


def test_api_preflight_for_an_allowed_origin(cors_gateway: Gateway) -> None:
    for path in ("/v1/buckets", "/v1/access-keys/ak_x", "/oauth/token"):
        status, headers, body = options(
            cors_gateway, path, APP, "POST", "Authorization, Content-Type"
        )
        assert status == 204, (path, body)
        got = lower(headers)
        assert got["access-control-allow-origin"] == APP
        assert got["access-control-allow-headers"] == "authorization, content-type"
        assert "DELETE" in got["access-control-allow-methods"]
        assert got["access-control-max-age"] == "600"
        assert got["vary"] == "Origin"
        assert "access-control-allow-credentials" not in got


@pytest.mark.parametrize(
    ("origin", "method", "headers"),
    [
        (OTHER, "GET", ""),
        ("null", "GET", ""),
        (APP, "TRACE", ""),
        (APP, "POST", "x-nfyio-console"),
        (APP, "GET", "cookie"),
    ],
)
def test_api_preflight_refusals(
    cors_gateway: Gateway, origin: str, method: str, headers: str
) -> None:
    status, sent, body = options(cors_gateway, "/v1/buckets", origin, method, headers)
    assert status == 403
    assert json.loads(body)["error"]["code"] == "CorsNotAllowed"
    assert "access-control-allow-origin" not in lower(sent)


def test_api_preflight_refusals_do_not_echo(cors_gateway: Gateway) -> None:
    """A refused method or request header was quoted in the message; it names what may
    be asked instead (docs/api.md: messages never echo a submitted value)."""
    marker = "sk-pasted-secret-0123456789"
    for method, headers in ((marker, ""), ("GET", marker)):
        status, _, body = options(cors_gateway, "/v1/buckets", APP, method, headers)
        assert status == 403
        assert marker not in json.loads(body)["error"]["message"]


def test_api_actual_requests(cors_gateway: Gateway) -> None:
    auth = {"Authorization": f"Bearer {ROOT_SECRET}"}
    status, headers, _ = call(cors_gateway, "GET", "/v1/buckets", headers={**auth, "Origin": APP})
    assert status == 200
    got = lower(headers)
    assert got["access-control-allow-origin"] == APP
    assert "ETag" in got["access-control-expose-headers"]
    assert "access-control-allow-credentials" not in got
    # an error (no credentials) is readable by the page too
    status, headers, _ = call(cors_gateway, "GET", "/v1/buckets", headers={"Origin": APP})
    assert status == 401
    assert lower(headers)["access-control-allow-origin"] == APP
    # another origin: no grant, but Vary for caches
    status, headers, _ = call(cors_gateway, "GET", "/v1/buckets", headers={**auth, "Origin": OTHER})
    assert status == 200
    assert "access-control-allow-origin" not in lower(headers)
    assert lower(headers)["vary"] == "Origin"
    status, headers, _ = call(
        cors_gateway,
        "POST",
        "/oauth/token",
        headers={"Origin": APP, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status in (400, 401)
    assert lower(headers)["access-control-allow-origin"] == APP


def test_api_console_is_never_opened_to_other_origins(cors_gateway: Gateway) -> None:
    status, headers, _ = options(cors_gateway, "/console/session", APP, "POST", "x-nfyio-console")
    assert status in (404, 405)
    assert "access-control-allow-origin" not in lower(headers)
    status, headers, _ = call(cors_gateway, "GET", "/console", headers={"Origin": APP})
    assert status == 200
    assert "access-control-allow-origin" not in lower(headers)


def test_without_settings_the_api_listener_has_no_cors(gateway: Gateway) -> None:
    status, headers, _ = options(gateway, "/v1/buckets", APP, "GET")
    assert status == 405
    status, headers, _ = call(
        gateway,
        "GET",
        "/v1/buckets",
        headers={"Authorization": f"Bearer {ROOT_SECRET}", "Origin": APP},
    )
    assert status == 200
    assert not any(name.lower().startswith("access-control-") for name in headers)
    assert "vary" not in lower(headers)
