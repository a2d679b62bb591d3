"""How much one account may own: buckets, access keys, users, OAuth clients.

AWS gives an account 10,000 buckets by default and answers one more with 400
``TooManyBuckets``; IAM bounds users and keys. Without bounds one admin key of a tenant
could fill the state store (and the data directory, with empty buckets). Here with small
limits, through boto3 and ``/v1`` (409 ``Conflict``): ``[s3] max_buckets_per_account``,
``[identity] max_keys_per_account`` / ``max_users_per_account`` /
``max_clients_per_account``. The counts are the state store's, so they hold across
workers and hosts (tests/e2e/test_multihost.py) and under racing creations.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.rest_util import api_json, bearer
from tests.e2e.s3util import expect_error
from tests.e2e.tenants import new_tenant

LIMIT = 3


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(
        tmp_path_factory,
        "gw-account-limits",
        extra_env={
            "NFYIO_S3_MAX_BUCKETS_PER_ACCOUNT": str(LIMIT),
            "NFYIO_IDENTITY_MAX_KEYS_PER_ACCOUNT": str(LIMIT),
            "NFYIO_IDENTITY_MAX_USERS_PER_ACCOUNT": str(LIMIT),
            "NFYIO_IDENTITY_MAX_CLIENTS_PER_ACCOUNT": str(LIMIT),
            "NFYIO_WORKERS": "2",
        },
    )


def _name() -> str:
    return f"lim-{uuid.uuid4().hex[:12]}"


def test_the_account_past_its_limit_gets_too_many_buckets(limited: Gateway) -> None:
    tenant = new_tenant(limited)
    s3 = tenant.client()
    names = [_name() for _ in range(LIMIT)]
    for name in names:
        s3.create_bucket(Bucket=name)
    refused = _name()
    error = expect_error("TooManyBuckets", 400, s3.create_bucket, Bucket=refused)
    assert "more than 3 buckets" in error.response["Error"]["Message"]
    assert refused not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    expect_error("404", 404, s3.head_bucket, Bucket=refused)  # a HEAD has no body
    # Creating a bucket it owns already is still that answer, not the limit's.
    expect_error("BucketAlreadyOwnedByYou", 409, s3.create_bucket, Bucket=names[0])
    # The REST API counts the same buckets.
    reply = api_json(
        limited,
        "POST",
        "/v1/buckets",
        headers=bearer(tenant.secret),
        body={"name": _name()},
        expect=409,
    )
    assert reply["error"]["code"] == "Conflict"
    assert reply["error"]["message"] == "The account has 3 buckets already, as many as it may"
    # Another account is not held back by this one's buckets.
    other = new_tenant(limited).client()
    other.create_bucket(Bucket=_name())
    # Deleting one makes room for one.
    s3.delete_bucket(Bucket=names[0])
    s3.create_bucket(Bucket=refused)
    expect_error("TooManyBuckets", 400, s3.create_bucket, Bucket=_name())


def test_racing_creations_stop_at_the_limit(limited: Gateway) -> None:
    """Twelve creations at once over two workers: exactly the limit succeeds."""
    s3 = new_tenant(limited).client()

    def create(name: str) -> str:
        try:
            s3.create_bucket(Bucket=name)
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "created"

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(create, [_name() for _ in range(12)]))
    assert sorted(outcomes) == ["TooManyBuckets"] * (12 - LIMIT) + ["created"] * LIMIT
    assert len(s3.list_buckets()["Buckets"]) == LIMIT


@pytest.mark.parametrize(
    ("path", "body", "what"),
    [
        ("/v1/access-keys", lambda i: {"name": f"k{i}", "scopes": ["read:objects"]}, "access keys"),
        (
            "/v1/users",
            lambda i: {
                "username": f"u-{uuid.uuid4().hex[:8]}",
                "password": "password-123",
                "scopes": ["read:objects"],
            },
            "users",
        ),
        ("/v1/clients", lambda i: {"name": f"c{i}", "scopes": ["read:objects"]}, "OAuth clients"),
    ],
)
def test_identities_past_the_limit_are_409(
    limited: Gateway, path: str, body: Callable[[int], dict[str, Any]], what: str
) -> None:
    tenant = new_tenant(limited)
    headers = bearer(tenant.secret)
    # The account's first admin key (made by the operator) counts among its keys.
    first = 1 if what == "access keys" else 0
    for i in range(LIMIT - first):
        api_json(limited, "POST", path, headers=headers, body=body(i), expect=201)
    reply = api_json(limited, "POST", path, headers=headers, body=body(99), expect=409)
    assert reply["error"]["code"] == "Conflict"
    assert reply["error"]["message"] == f"The account has 3 {what} already, as many as it may"
    assert reply["error"]["details"] == {"limit": LIMIT}
    # Another account is not held back.
    other = new_tenant(limited)
    api_json(limited, "POST", path, headers=bearer(other.secret), body=body(0), expect=201)


def test_a_revoked_key_makes_room(limited: Gateway) -> None:
    tenant = new_tenant(limited)
    headers = bearer(tenant.secret)
    made = [
        api_json(
            limited,
            "POST",
            "/v1/access-keys",
            headers=headers,
            body={"name": f"k{i}", "scopes": ["read:objects"]},
            expect=201,
        )
        for i in range(LIMIT - 1)
    ]
    body = {"name": "more", "scopes": ["read:objects"]}
    api_json(limited, "POST", "/v1/access-keys", headers=headers, body=body, expect=409)
    api_json(limited, "DELETE", f"/v1/access-keys/{made[0]['id']}", headers=headers, expect=204)
    api_json(limited, "POST", "/v1/access-keys", headers=headers, body=body, expect=201)


@pytest.mark.parametrize(
    "name",
    [
        "S3_MAX_BUCKETS_PER_ACCOUNT",
        "IDENTITY_MAX_KEYS_PER_ACCOUNT",
        "IDENTITY_MAX_USERS_PER_ACCOUNT",
        "IDENTITY_MAX_CLIENTS_PER_ACCOUNT",
    ],
)
def test_the_limits_are_checked_at_startup(tmp_path: Path, name: str) -> None:
    option = name.lower().replace("_", ".", 1)
    with pytest.raises(RuntimeError, match=f"{option} must be from 1"):
        start_gateway(tmp_path / "data", extra_env={f"NFYIO_{name}": "0"})
