"""Class: a request kind that skips the rate limit.

CORS preflights are anonymous (a browser sends no credential with one) and were never
refused: once the client address's bucket was empty, every other anonymous request got
``503 SlowDown`` (S3) or ``429`` (``/v1``), but ``OPTIONS`` kept being answered, each one
reading the bucket's CORS configuration and matching its rules (up to 16,384 wildcard
comparisons). The limiter's response hook charged the address for each one, after the
answer was made, but never refused. docs/rate-limits.md: "Every request on both listeners
spends a token from a bucket; an empty bucket refuses it."

Now a preflight spends exactly one token of the address's bucket before anything else,
on both listeners, and an empty bucket refuses it as any anonymous request is refused,
before a CORS configuration is read or matched: the refusal carries no
``Access-Control-Allow-*`` header (docs/cors.md).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.rest_util import call
from tests.e2e.s3util import RawResponse, raw_request

BURST = 4
PAGE = "https://a.example"
API_PAGE = "https://app.example"
INTERNAL_ERROR = "internal error answering a preflight"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    """A fresh gateway per test: the anonymous bucket of 127.0.0.1 starts full."""
    running = start_gateway(
        tmp_path / "data",
        extra_env={
            "NFYIO_RATELIMIT_ANONYMOUS_REQUESTS_PER_MINUTE": "1",
            "NFYIO_RATELIMIT_ANONYMOUS_BURST": str(BURST),
            "NFYIO_CORS_API_ORIGINS": API_PAGE,
        },
    )
    yield running
    running.stop()


@pytest.fixture
def bucket(gateway: Gateway) -> str:
    """A bucket whose CORS rules allow ``PAGE`` to PUT with ``x-amz-*`` headers (made
    with the root key: the anonymous bucket is untouched)."""
    s3: Any = gateway.client()
    name = f"pf-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    rule = {
        "AllowedOrigins": ["https://*.example"],
        "AllowedMethods": ["GET", "PUT"],
        "AllowedHeaders": ["x-amz-*"],
    }
    s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [rule]})
    return name


def _s3_preflight(gateway: Gateway, bucket: str, origin: str = PAGE) -> RawResponse:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "x-amz-meta-a",
    }
    return raw_request(gateway, "OPTIONS", f"/{bucket}/x", headers=headers)


def _api_preflight(
    gateway: Gateway, path: str = "/v1/buckets", origin: str = API_PAGE
) -> tuple[int, dict[str, str], bytes]:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    return call(gateway, "OPTIONS", path, headers=headers)


def _cors_headers(headers: dict[str, str]) -> list[str]:
    return [name for name in headers if name.lower().startswith("access-control-")]


def _assert_slow_down(response: RawResponse) -> None:
    assert response.status == 503, response.body
    assert response.error_code() == "SlowDown"
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert response.headers["X-RateLimit-Limit"] == "1"
    assert _cors_headers(response.headers) == []


def _assert_too_many(status: int, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    assert status == 429, body
    assert int(headers["Retry-After"]) >= 1
    assert headers["X-RateLimit-Remaining"] == "0"
    assert headers["X-RateLimit-Limit"] == "1"
    assert _cors_headers(headers) == []
    parsed: dict[str, Any] = json.loads(body)
    return parsed


def test_s3_preflights_are_admitted_until_the_address_bucket_is_empty(
    gateway: Gateway, bucket: str
) -> None:
    for left in range(BURST - 1, -1, -1):
        response = _s3_preflight(gateway, bucket)
        assert response.status == 200, response.body
        assert response.headers["Access-Control-Allow-Origin"] == PAGE
        assert response.headers["Access-Control-Allow-Headers"] == "x-amz-meta-a"
        assert response.headers["X-RateLimit-Remaining"] == str(left)
    for _ in range(3):
        _assert_slow_down(_s3_preflight(gateway, bucket))
    # refused before the rules are consulted: an origin they refuse gets the same answer
    _assert_slow_down(_s3_preflight(gateway, bucket, origin="https://elsewhere.test"))
    # the bucket is the one every anonymous request of the address spends
    assert raw_request(gateway, "GET", f"/{bucket}/x").status == 503
    assert _api_preflight(gateway)[0] == 429


def test_a_refused_s3_preflight_reads_no_cors_configuration(gateway: Gateway, bucket: str) -> None:
    """The configuration is made unreadable in the state store: a preflight that reads
    it is answered 500 and logged. Once the address's bucket is empty, preflights are
    refused without reading it: no 500, no new line in the log."""
    for _ in range(BURST - 1):  # anonymous requests of another kind spend the bucket
        assert raw_request(gateway, "GET", f"/{bucket}/x").status == 403
    with sqlite3.connect(gateway.data_dir / "identity.db", timeout=10) as db:
        changed = db.execute(
            "UPDATE bucket_settings SET document = ? WHERE bucket = ? AND kind = 'cors'",
            ("{not json", bucket),
        ).rowcount
    assert changed == 1
    admitted = _s3_preflight(gateway, bucket)  # the last token: it reads the rules
    assert admitted.status == 500
    assert admitted.error_code() == "InternalError"
    assert gateway.log().count(INTERNAL_ERROR) == 1
    for _ in range(5):
        _assert_slow_down(_s3_preflight(gateway, bucket))
    assert gateway.log().count(INTERNAL_ERROR) == 1


def test_api_preflights_are_admitted_until_the_address_bucket_is_empty(
    gateway: Gateway,
) -> None:
    for left in range(BURST - 1, -1, -1):
        status, headers, body = _api_preflight(gateway)
        assert status == 204, body
        assert headers["Access-Control-Allow-Origin"] == API_PAGE
        assert headers["Access-Control-Allow-Headers"] == "authorization"
        assert headers["X-RateLimit-Remaining"] == str(left)
    for _ in range(3):
        answer = _assert_too_many(*_api_preflight(gateway))
        error = answer["error"]
        assert error["code"] == "RateLimitExceeded"
        assert error["details"]["retry_after"] >= 1
    # refused before the origin policy is consulted: an origin it refuses (403
    # CorsNotAllowed otherwise) gets the same 429
    refused = _assert_too_many(*_api_preflight(gateway, origin="https://elsewhere.test"))
    assert refused["error"]["code"] == "RateLimitExceeded"
    # /oauth answers in RFC 6749's shape, as its other refusals
    oauth = _assert_too_many(*_api_preflight(gateway, "/oauth/token"))
    assert oauth["error"] == "slow_down"
    assert call(gateway, "GET", "/v1/openapi.json")[0] == 429
    assert _s3_preflight(gateway, "any-bucket").status == 503


def test_one_preflight_spends_exactly_one_token(gateway: Gateway, bucket: str) -> None:
    """Admitted or refused by the CORS rules, on either listener: one token each, never
    a second one from the response hook."""
    allowed = _s3_preflight(gateway, bucket)
    assert allowed.status == 200
    assert allowed.headers["X-RateLimit-Remaining"] == str(BURST - 1)
    status, headers, _ = _api_preflight(gateway)
    assert status == 204
    assert headers["X-RateLimit-Remaining"] == str(BURST - 2)
    not_allowed = _s3_preflight(gateway, bucket, origin="https://elsewhere.test")
    assert not_allowed.status == 403
    assert not_allowed.error_code() == "AccessForbidden"
    assert not_allowed.headers["X-RateLimit-Remaining"] == str(BURST - 3)
    status, headers, _ = _api_preflight(gateway, origin="https://elsewhere.test")
    assert status == 403
    assert headers["X-RateLimit-Remaining"] == str(BURST - 4)
    # exactly BURST admitted: the next one of any kind is refused
    _assert_slow_down(_s3_preflight(gateway, bucket))
