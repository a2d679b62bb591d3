"""Rate limits on the real gateway: the headers on both listeners, 429 on the API, 503
SlowDown on S3 (and boto3's standard retry mode getting through it by itself), per-key
overrides, account limits, and one limit across ``--workers 2``."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import ADMIN, api_json, bearer, call, make_key
from tests.e2e.tenants import new_tenant

HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def _header(headers: dict[str, str], name: str) -> str | None:
    """Case-insensitive lookup (urllib keeps the case sent; botocore lower-cases)."""
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _limited_key(gateway: Gateway, per_minute: int, burst: int, **body: Any) -> dict[str, Any]:
    body.setdefault("scopes", ["admin"])
    key: dict[str, Any] = make_key(
        gateway, rate_limit={"requests_per_minute": per_minute, "burst": burst}, **body
    )
    return key


def test_every_response_carries_the_headers(gateway: Gateway) -> None:
    response = gateway.client().list_buckets()
    s3_headers = response["ResponseMetadata"]["HTTPHeaders"]
    for name in HEADERS:
        assert _header(s3_headers, name) is not None, name
    status, headers, _ = call(gateway, "GET", "/v1/me", headers=ADMIN)
    assert status == 200
    assert int(_header(headers, "X-RateLimit-Limit") or 0) > 0
    assert int(_header(headers, "X-RateLimit-Remaining") or -1) >= 0
    assert int(_header(headers, "X-RateLimit-Reset") or 0) >= int(time.time())
    # Refused credentials and unknown routes report the client address's bucket.
    status, headers, _ = call(gateway, "GET", "/v1/me", headers=bearer("sk_wrong"))
    assert status == 401
    assert _header(headers, "X-RateLimit-Remaining") is not None
    status, headers, _ = call(gateway, "GET", "/v1/no-such-route")
    assert status == 404
    assert _header(headers, "X-RateLimit-Limit") is not None
    # Health checks are exempt: a load balancer must never be throttled out of rotation.
    status, headers, _ = call(gateway, "GET", "/health")
    assert status == 200
    assert _header(headers, "X-RateLimit-Limit") is None


def test_a_keys_limit_on_the_api_is_a_json_429(gateway: Gateway) -> None:
    # One token a minute: no refill can land between the calls, however slow the machine.
    key = _limited_key(gateway, 1, 3)
    assert key["rate_limit"] == {"requests_per_minute": 1, "burst": 3}
    shown = api_json(gateway, "GET", f"/v1/access-keys/{key['id']}")
    assert shown["rate_limit"] == {"requests_per_minute": 1, "burst": 3}
    remaining = []
    for _ in range(3):
        status, headers, _ = call(gateway, "GET", "/v1/me", headers=bearer(key["secret"]))
        assert status == 200
        assert _header(headers, "X-RateLimit-Limit") == "1"
        remaining.append(int(_header(headers, "X-RateLimit-Remaining") or -1))
    assert remaining[-1] == 0
    assert remaining == sorted(remaining, reverse=True)
    status, headers, raw = call(gateway, "GET", "/v1/me", headers=bearer(key["secret"]))
    assert status == 429
    error = json.loads(raw)["error"]
    assert error["code"] == "RateLimitExceeded"
    assert error["details"]["retry_after"] >= 1
    assert int(_header(headers, "Retry-After") or 0) >= 1
    assert _header(headers, "X-RateLimit-Remaining") == "0"


def test_s3_answers_slowdown_and_boto3_backs_off_by_itself(gateway: Gateway) -> None:
    # A burst of two, then one token a minute: the later calls cannot be refilled in time
    # on a loaded machine (a token a second could be, and was).
    key = _limited_key(gateway, 1, 2)
    impatient = gateway.client(key["id"], key["secret"])  # one attempt, no retries
    outcomes = []
    for _ in range(4):
        try:
            impatient.list_buckets()
            outcomes.append(200)
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "SlowDown"
            headers = exc.response["ResponseMetadata"]["HTTPHeaders"]
            assert int(_header(headers, "Retry-After") or 0) >= 1
            outcomes.append(exc.response["ResponseMetadata"]["HTTPStatusCode"])
    assert outcomes[:2] == [200, 200]
    assert 503 in outcomes
    # A token every three seconds: back-to-back calls outrun it however slow each call is,
    # and boto3's backoff (up to 20 s over ten attempts) waits one out.
    key = _limited_key(gateway, 20, 1)
    patient = gateway.client(
        key["id"], key["secret"], retries={"mode": "standard", "max_attempts": 10}
    )
    retried = 0
    for _ in range(3):
        response = patient.list_buckets()  # never raises: SDK retries SlowDown itself
        retried += response["ResponseMetadata"]["RetryAttempts"]
    assert retried > 0


def test_the_s3_and_api_listeners_share_a_keys_bucket(gateway: Gateway) -> None:
    key = _limited_key(gateway, 1, 4)
    s3 = gateway.client(key["id"], key["secret"])
    s3.list_buckets()
    s3.list_buckets()
    assert call(gateway, "GET", "/v1/me", headers=bearer(key["secret"]))[0] == 200
    assert call(gateway, "GET", "/v1/me", headers=bearer(key["secret"]))[0] == 200
    with pytest.raises(ClientError) as refused:
        s3.list_buckets()
    assert refused.value.response["Error"]["Code"] == "SlowDown"


def test_a_non_admin_cannot_mint_a_faster_key(gateway: Gateway) -> None:
    slow = _limited_key(gateway, 30, 30, scopes=["read:buckets"])
    status, _, raw = call(
        gateway,
        "POST",
        "/v1/access-keys",
        headers=bearer(slow["secret"]),
        body={
            "name": "faster",
            "scopes": ["read:buckets"],
            "rate_limit": {"requests_per_minute": 1000},
        },
    )
    assert status == 403, raw
    assert json.loads(raw)["error"]["details"]["field"] == "rate_limit"
    # Without rate_limit the new key inherits its creator's (lower than the default).
    child = make_key(gateway, headers=bearer(slow["secret"]), scopes=["read:buckets"])
    assert child["rate_limit"] == {"requests_per_minute": 30, "burst": 30}


def test_no_key_gets_a_limit_above_its_accounts(gateway: Gateway) -> None:
    """Even the account's admin: every key of a limited account spends the account's
    bucket too, so a key's larger number would be a limit never reached (it was stored and
    shown as the key's limit). The refusal names the account's limit."""
    tenant = new_tenant(gateway, "rlk")
    account_limit = {"requests_per_minute": 100, "burst": 50}
    api_json(gateway, "PATCH", f"/v1/accounts/{tenant.id}", body={"rate_limit": account_limit})
    for asked in ({"requests_per_minute": 1000}, {"requests_per_minute": 100}):  # burst 100
        status, _, raw = call(
            gateway,
            "POST",
            "/v1/access-keys",
            headers=tenant.headers,
            body={"name": "fast", "scopes": ["read:buckets"], "rate_limit": asked},
        )
        assert status == 400, raw
        error = json.loads(raw)["error"]
        assert error["code"] == "ValidationError"
        assert error["details"] == {"field": "rate_limit", "account_limit": account_limit}
        assert "100 requests a minute, burst 50" in error["message"]
    within = tenant.key(scopes=["read:buckets"], rate_limit=account_limit)
    assert within["rate_limit"] == account_limit
    # Without an account limit (the default: unlimited) nothing bounds the admin's choice.
    api_json(gateway, "PATCH", f"/v1/accounts/{tenant.id}", body={"rate_limit": None})
    fast = tenant.key(scopes=["read:buckets"], rate_limit={"requests_per_minute": 1000})
    assert fast["rate_limit"] == {"requests_per_minute": 1000, "burst": 1000}


def test_an_inherited_limit_is_lowered_to_the_accounts(gateway: Gateway) -> None:
    """A key minted without ``rate_limit`` by a caller limited below the default inherits
    the caller's limit; when the account was limited later (below the caller's), the
    inherited numbers are lowered to the account's, never stored above them (they were)."""
    tenant = new_tenant(gateway, "rli")
    creator = tenant.key(
        scopes=["read:buckets"], rate_limit={"requests_per_minute": 500, "burst": 40}
    )
    api_json(
        gateway,
        "PATCH",
        f"/v1/accounts/{tenant.id}",
        body={"rate_limit": {"requests_per_minute": 100, "burst": 50}},
    )
    child = make_key(gateway, headers=bearer(creator["secret"]), scopes=["read:buckets"])
    assert child["rate_limit"] == {"requests_per_minute": 100, "burst": 40}
    shown = api_json(gateway, "GET", f"/v1/access-keys/{child['id']}", headers=tenant.headers)
    assert shown["rate_limit"] == {"requests_per_minute": 100, "burst": 40}


def test_an_accounts_limit_caps_all_its_keys_together(gateway: Gateway) -> None:
    tenant = new_tenant(gateway, "rl")
    patched = api_json(
        gateway,
        "PATCH",
        f"/v1/accounts/{tenant.id}",
        body={"rate_limit": {"requests_per_minute": 1, "burst": 6}},
    )
    assert patched["rate_limit"] == {"requests_per_minute": 1, "burst": 6}
    keys = [tenant.key(scopes=["read:buckets"]) for _ in range(3)]
    statuses = [
        call(gateway, "GET", "/v1/buckets", headers=bearer(key["secret"]))[0]
        for key in keys
        for _ in range(4)
    ]
    # The admin key spent one token minting each key: 6 - 3 = 3 remain for the three keys.
    assert statuses.count(200) == 3
    assert statuses.count(429) == 9
    cleared = api_json(gateway, "PATCH", f"/v1/accounts/{tenant.id}", body={"rate_limit": None})
    assert cleared["rate_limit"] is None


def test_requests_the_account_refuses_do_not_use_up_the_keys_own_limit(
    gateway: Gateway,
) -> None:
    """A key's tokens taken by requests that its account's bucket then refused were lost:
    a key that retried while its account was dry found its own bucket empty too once the
    account had room again (here: once its limit is lifted), though it got nothing done."""
    tenant = new_tenant(gateway, "rl-own")
    key = _limited_key(gateway, 1, 4, scopes=["read:buckets"], headers=tenant.headers)
    api_json(
        gateway,
        "PATCH",
        f"/v1/accounts/{tenant.id}",
        body={"rate_limit": {"requests_per_minute": 1, "burst": 2}},
    )
    statuses = [
        call(gateway, "GET", "/v1/buckets", headers=bearer(key["secret"]))[0] for _ in range(6)
    ]
    assert statuses == [200, 200, 429, 429, 429, 429]  # the account's two tokens
    api_json(gateway, "PATCH", f"/v1/accounts/{tenant.id}", body={"rate_limit": None})
    status, headers, _ = call(gateway, "GET", "/v1/buckets", headers=bearer(key["secret"]))
    assert status == 200  # the key still had two of its four
    assert _header(headers, "X-RateLimit-Remaining") == "1"


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(tmp_path_factory, "gw-rl-workers", extra_args=["--workers", "2"])


def _worker_pids(gateway: Gateway) -> set[int]:
    import psutil

    return {child.pid for child in psutil.Process(gateway.pid()).children()}


def test_a_limit_holds_across_workers(two_workers: Gateway) -> None:
    """Sixty requests on fresh connections, spread over both workers by SO_REUSEPORT: the
    key's ten tokens are spent once, not once per worker."""
    assert len(_worker_pids(two_workers)) == 2
    key = _limited_key(two_workers, 1, 10)
    statuses: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        request = urllib.request.Request(
            f"{two_workers.api_url}/v1/me",
            headers={**bearer(key["secret"]), "Connection": "close"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=one) for _ in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(200) == 10
    assert statuses.count(429) == 50
    # The same on S3, after the bucket emptied on the API.
    bucket = f"rl-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as refused:
        two_workers.client(key["id"], key["secret"]).create_bucket(Bucket=bucket)
    assert refused.value.response["Error"]["Code"] == "SlowDown"
