"""The fields issue 15 added to the API, checked in-process: ``rate_limit`` on keys and
accounts, ``roles`` on users, the audit listing's filters."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.gateway.api.conftest import ADMIN, error_of, mint

Client = TestClient[Any, Any]


@pytest.mark.parametrize(
    "rate_limit",
    [
        "fast",
        {"requests_per_minute": 0},
        {"requests_per_minute": -5},
        {"requests_per_minute": True},
        {"requests_per_minute": 10, "burst": 0},
        {"requests_per_minute": 10, "burst": 1.5},
        {"requests_per_minute": 10**10},
        {"burst": 10},
        {"requests_per_minute": 10, "window": 60},
    ],
)
async def test_bad_rate_limits_are_refused(api: Client, rate_limit: Any) -> None:
    response = await api.post(
        "/v1/access-keys",
        json={"name": "k", "scopes": ["read:objects"], "rate_limit": rate_limit},
        headers=ADMIN,
    )
    error = await error_of(response, 400)
    assert error["code"] == "ValidationError" and error["details"]["field"] == "rate_limit"


async def test_a_rate_limit_is_kept_and_shown(api: Client) -> None:
    made = await mint(api, scopes=["read:objects"], rate_limit={"requests_per_minute": 120})
    assert made["rate_limit"] == {"requests_per_minute": 120, "burst": 120}
    listed = await (await api.get("/v1/access-keys?limit=1000", headers=ADMIN)).json()
    shown = {k["id"]: k["rate_limit"] for k in listed["access_keys"]}
    assert shown[made["id"]] == {"requests_per_minute": 120, "burst": 120}
    plain = await mint(api, scopes=["read:objects"])
    assert plain["rate_limit"] is None


@pytest.mark.parametrize("roles", [["a b"], ["x"] * 2, ["-dash"], [""], ["r"] * 33, "admin", [1]])
async def test_bad_roles_are_refused(api: Client, roles: Any) -> None:
    response = await api.post(
        "/v1/users",
        json={
            "username": "bob",
            "password": "password-1",
            "scopes": ["read:buckets"],
            "roles": roles,
        },
        headers=ADMIN,
    )
    error = await error_of(response, 400)
    assert error["details"]["field"] == "roles"


async def test_roles_are_kept_and_changed(api: Client) -> None:
    response = await api.post(
        "/v1/users",
        json={
            "username": "carol",
            "password": "password-1",
            "scopes": ["read:buckets"],
            "roles": ["viewer"],
        },
        headers=ADMIN,
    )
    assert response.status == 201
    user = await response.json()
    assert user["roles"] == ["viewer"]
    response = await api.patch(
        f"/v1/users/{user['id']}", json={"roles": ["editor", "ops:oncall"]}, headers=ADMIN
    )
    assert (await response.json())["roles"] == ["editor", "ops:oncall"]


@pytest.mark.parametrize(
    "query",
    [
        "action=",
        "action=Access_Key.Create",
        "action=access_key.*.*",
        "since=2030-01-01",
        "until=tomorrow",
        "limit=1001",
        "cursor=not-ours",
        "actor=" + "x" * 1301,  # longer than any stored actor (MAX_TEXT_BYTES)
    ],
)
async def test_bad_audit_filters_are_refused(api: Client, query: str) -> None:
    response = await api.get(f"/v1/audit-events?{query}", headers=ADMIN)
    error = await error_of(response, 400)
    assert error["code"] == "ValidationError"
