"""Ways around a rate limit, tried as an attacker would, against the real gateway:

- forged ``X-Forwarded-For`` values (untrusted, and behind a trusted proxy that appends
  the real address);
- garbage credentials, hoping a refused request costs nothing;
- another way to present the same key (SigV4, Bearer, ``X-API-Key``, presigned URLs,
  the other listener);
- requests the key's scopes refuse, hoping they are charged to nobody;
- minting many keys in one account;
- the OAuth token endpoint, which has no authenticated caller.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.rest_util import ADMIN, api_json, bearer, call, make_key
from tests.e2e.s3util import urlopen
from tests.e2e.tenants import new_tenant

ANONYMOUS_BURST = 6


def _start(tmp: Path, **env: str) -> Gateway:
    return start_gateway(
        tmp / "data",
        extra_env={
            "NFYIO_RATELIMIT_ANONYMOUS_REQUESTS_PER_MINUTE": "1",
            "NFYIO_RATELIMIT_ANONYMOUS_BURST": str(ANONYMOUS_BURST),
            **env,
        },
    )


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    """A fresh gateway per test: the anonymous bucket of 127.0.0.1 starts full."""
    running = _start(tmp_path)
    yield running
    running.stop()


def _anonymous(gateway: Gateway, headers: dict[str, str] | None = None) -> int:
    return call(gateway, "GET", "/v1/openapi.json", headers=headers or {})[0]


def test_forged_forwarded_for_does_not_make_a_new_client(gateway: Gateway) -> None:
    statuses = [
        _anonymous(gateway, {"X-Forwarded-For": f"198.51.100.{i}", "X-Real-IP": f"10.0.0.{i}"})
        for i in range(ANONYMOUS_BURST + 4)
    ]
    assert statuses.count(200) == ANONYMOUS_BURST
    assert statuses[-4:] == [429] * 4


def test_behind_a_trusted_proxy_only_the_hop_it_added_counts(tmp_path: Path) -> None:
    proxied = _start(tmp_path, NFYIO_SERVER_TRUSTED_FORWARDED_HEADERS="true")
    try:
        # The client invents the first hops; the proxy appends the address it saw.
        statuses = [
            _anonymous(proxied, {"X-Forwarded-For": f"203.0.113.{i}, 192.0.2.50"})
            for i in range(ANONYMOUS_BURST + 2)
        ]
        assert statuses.count(200) == ANONYMOUS_BURST
        assert _anonymous(proxied, {"X-Forwarded-For": "192.0.2.51"}) == 200  # another client
    finally:
        proxied.stop()


def test_garbage_credentials_spend_the_address_bucket(gateway: Gateway) -> None:
    for i in range(ANONYMOUS_BURST):
        status, headers, _ = call(
            gateway, "GET", "/v1/me", headers=bearer(f"sk_{uuid.uuid4().hex}{i}")
        )
        assert status == 401
    with pytest.raises(ClientError):  # S3 too: a made-up access key id
        gateway.client("AKIANOSUCHKEY0000001", "x" * 40).list_buckets()
    status, headers, _ = call(gateway, "GET", "/v1/me", headers=bearer("sk_more-garbage"))
    assert headers.get("X-RateLimit-Remaining") == "0"
    assert _anonymous(gateway) == 429  # the address is spent, whatever it presented


def test_every_way_of_presenting_a_key_spends_the_same_bucket(gateway: Gateway) -> None:
    key = make_key(gateway, scopes=["admin"], rate_limit={"requests_per_minute": 1, "burst": 6})
    bucket = f"rl-{uuid.uuid4().hex[:10]}"
    s3 = gateway.client(key["id"], key["secret"])
    s3.create_bucket(Bucket=bucket)  # 1: SigV4 header
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")  # 2
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    assert urlopen(gateway, url).status == 200  # 3: presigned query
    assert call(gateway, "GET", f"{gateway.s3_url}/", headers=bearer(key["secret"]))[0] == 200
    assert call(gateway, "GET", "/v1/me", headers={"X-API-Key": key["secret"]})[0] == 200  # 5
    assert call(gateway, "GET", "/v1/me", headers=bearer(key["secret"]))[0] == 200  # 6
    assert urlopen(gateway, url).status == 503  # the presigned URL is the key's too
    assert call(gateway, "GET", "/v1/me", headers={"X-API-Key": key["secret"]})[0] == 429
    with pytest.raises(ClientError) as refused:
        s3.head_bucket(Bucket=bucket)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503


def test_requests_refused_by_scope_spend_the_callers_bucket(gateway: Gateway) -> None:
    """A key asking for what it may not do (a scope it lacks, a root-only route, a query
    parameter the route lacks) is still the caller: its own bucket pays, and once empty it
    is refused; the client address's bucket, which its neighbours share, is untouched."""
    key = make_key(
        gateway, scopes=["read:objects"], rate_limit={"requests_per_minute": 2, "burst": 3}
    )
    asks = [("GET", "/v1/users"), ("GET", "/v1/accounts"), ("GET", "/v1/me?no-such=1")]
    for method, path in asks:
        status, headers, _ = call(gateway, method, path, headers=bearer(key["secret"]))
        assert status in (400, 403), path
        assert headers["X-RateLimit-Limit"] == "2"  # the key's bucket, not the address's
    status, headers, raw = call(gateway, "GET", "/v1/users", headers=bearer(key["secret"]))
    assert status == 429
    assert json.loads(raw)["error"]["code"] == "RateLimitExceeded"
    assert int(headers["Retry-After"]) >= 1
    assert call(gateway, "GET", "/v1/me", headers=bearer(key["secret"]))[0] == 429
    assert [_anonymous(gateway) for _ in range(ANONYMOUS_BURST)] == [200] * ANONYMOUS_BURST


def test_minting_many_keys_does_not_multiply_an_accounts_rate(gateway: Gateway) -> None:
    tenant = new_tenant(gateway, "mint")
    api_json(
        gateway,
        "PATCH",
        f"/v1/accounts/{tenant.id}",
        body={"rate_limit": {"requests_per_minute": 1, "burst": 30}},
    )
    keys = [tenant.key(scopes=["read:buckets"]) for _ in range(10)]  # 10 tokens spent

    def hammer(key: dict[str, Any]) -> list[int]:
        client = gateway.client(key["id"], key["secret"])
        statuses = []
        for _ in range(5):
            try:
                client.list_buckets()
                statuses.append(200)
            except ClientError as exc:
                statuses.append(exc.response["ResponseMetadata"]["HTTPStatusCode"])
        return statuses

    with ThreadPoolExecutor(10) as pool:
        statuses = [s for batch in pool.map(hammer, keys) for s in batch]
    assert statuses.count(200) == 20  # 30 for the account, minus the 10 mints
    assert statuses.count(503) == 30
    # Another account is not affected.
    assert call(gateway, "GET", "/v1/buckets", headers=ADMIN)[0] == 200


def test_the_token_endpoint_is_limited_per_address_in_its_own_shape(gateway: Gateway) -> None:
    replies = [
        call(
            gateway,
            "POST",
            "/oauth/token",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=None,
        )
        for _ in range(ANONYMOUS_BURST + 1)
    ]
    status, headers, raw = replies[-1]
    assert status == 429
    assert json.loads(raw)["error"] == "slow_down"  # RFC 6749's shape, not the /v1 envelope
    assert int(headers["Retry-After"]) >= 1
    assert headers["Cache-Control"] == "no-store"
