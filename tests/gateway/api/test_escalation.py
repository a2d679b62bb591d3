"""No request mints or rotates a credential with more rights than its caller."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.gateway.api.conftest import ADMIN, bearer, error_of, mint

Client = TestClient[Any, Any]


def _in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def test_non_admin_mints_subset_of_its_scopes(api: Client) -> None:
    parent = await mint(api, scopes=["read:objects", "write:objects"])
    child = await mint(api, bearer(parent["secret"]), scopes=["read:objects"])
    assert child["owner"] == parent["id"] and child["scopes"] == ["read:objects"]
    # write:objects includes delete:objects, so that may be delegated.
    await mint(api, bearer(parent["secret"]), scopes=["delete:objects"])


@pytest.mark.parametrize("scope", ["admin", "read:buckets", "write:buckets", "read:agents"])
async def test_non_admin_cannot_mint_scopes_it_lacks(api: Client, scope: str) -> None:
    parent = await mint(api, scopes=["read:objects", "write:objects"])
    response = await api.post(
        "/v1/access-keys",
        json={"name": "n", "scopes": ["read:objects", scope]},
        headers=bearer(parent["secret"]),
    )
    error = await error_of(response, 403)
    assert error["code"] == "ScopeRequired" and error["details"]["required_scope"] == scope


async def test_delete_scope_does_not_grant_write(api: Client) -> None:
    parent = await mint(api, scopes=["delete:objects"])
    response = await api.post(
        "/v1/access-keys",
        json={"name": "n", "scopes": ["write:objects"]},
        headers=bearer(parent["secret"]),
    )
    assert (await error_of(response, 403))["details"]["required_scope"] == "write:objects"


@pytest.mark.parametrize(
    ("requested", "allowed"),
    [
        (None, True),  # inherits ["a*"]
        (["a1"], True),
        (["ab*"], True),
        (["a?c"], True),
        (["b"], False),
        (["*"], False),
        (["b*"], False),
        (["a1", "b1"], False),
        (["[ab]*"], False),
        (["?a"], False),
    ],
)
async def test_bucket_limits_cannot_widen(
    api: Client, requested: list[str] | None, allowed: bool
) -> None:
    parent = await mint(api, scopes=["read:objects"], buckets=["a*"])
    body: dict[str, Any] = {"name": "child", "scopes": ["read:objects"]}
    if requested is not None:
        body["buckets"] = requested
    response = await api.post("/v1/access-keys", json=body, headers=bearer(parent["secret"]))
    if allowed:
        assert response.status == 201
        child = await response.json()
        assert child["buckets"] == (requested or ["a*"])
    else:
        error = await error_of(response, 403)
        assert error["code"] == "AccessDenied" and error["details"]["field"] == "buckets"


async def test_expiry_cannot_outlive_creator(api: Client) -> None:
    parent = await mint(api, scopes=["read:objects"], expires_at=_in(600))
    child = await mint(api, bearer(parent["secret"]), scopes=["read:objects"])
    assert child["expires_at"] == parent["expires_at"]
    shorter = await mint(api, bearer(parent["secret"]), scopes=["read:objects"], expires_at=_in(60))
    assert shorter["expires_at"] < parent["expires_at"]
    response = await api.post(
        "/v1/access-keys",
        json={"name": "n", "scopes": ["read:objects"], "expires_at": _in(6000)},
        headers=bearer(parent["secret"]),
    )
    assert (await error_of(response, 403))["details"]["field"] == "expires_at"


async def test_non_admin_sees_and_manages_only_its_own_keys(api: Client) -> None:
    alice = await mint(api, scopes=["read:objects"], name="alice")
    bob = await mint(api, scopes=["read:objects"], name="bob")
    alices = await mint(api, bearer(alice["secret"]), scopes=["read:objects"])
    bobs = await mint(api, bearer(bob["secret"]), scopes=["read:objects"])
    page = await (await api.get("/v1/access-keys", headers=bearer(alice["secret"]))).json()
    # her own key and the one she minted; never Bob's or the root's
    assert sorted(k["id"] for k in page["access_keys"]) == sorted([alice["id"], alices["id"]])
    for target in (bobs["id"], bob["id"], "AKIAUNITTESTROOT0001"):
        for response in (
            await api.get(f"/v1/access-keys/{target}", headers=bearer(alice["secret"])),
            await api.delete(f"/v1/access-keys/{target}", headers=bearer(alice["secret"])),
            await api.post(f"/v1/access-keys/{target}/rotate", headers=bearer(alice["secret"])),
        ):
            assert (await error_of(response, 404))["code"] == "NotFound"
    # Bob's key still works: nothing happened to it.
    assert (await api.get("/v1/me", headers=bearer(bobs["secret"]))).status == 200
    # Alice manages her own child, and may see and rotate her own key.
    assert (
        await api.get(f"/v1/access-keys/{alice['id']}", headers=bearer(alice["secret"]))
    ).status == 200
    rotated = await api.post(
        f"/v1/access-keys/{alices['id']}/rotate", headers=bearer(alice["secret"])
    )
    assert rotated.status == 200
    revoked = await api.delete(f"/v1/access-keys/{alices['id']}", headers=bearer(alice["secret"]))
    assert revoked.status == 204


async def test_revoked_key_cannot_mint(api: Client) -> None:
    parent = await mint(api, scopes=["read:objects"])
    await api.delete(f"/v1/access-keys/{parent['id']}", headers=ADMIN)
    response = await api.post(
        "/v1/access-keys",
        json={"name": "n", "scopes": ["read:objects"]},
        headers=bearer(parent["secret"]),
    )
    assert (await error_of(response, 401))["code"] == "InvalidApiKey"


async def test_child_cannot_rotate_its_parent(api: Client) -> None:
    parent = await mint(api, scopes=["read:objects", "write:objects"])
    child = await mint(api, bearer(parent["secret"]), scopes=["read:objects"])
    response = await api.post(
        f"/v1/access-keys/{parent['id']}/rotate", headers=bearer(child["secret"])
    )
    assert response.status == 404


async def test_bucket_limited_admin_cannot_rotate_unlimited_key(api: Client) -> None:
    limited_admin = await mint(api, scopes=["admin"], buckets=["a*"])
    unlimited = await mint(api, scopes=["read:objects"])
    response = await api.post(
        f"/v1/access-keys/{unlimited['id']}/rotate", headers=bearer(limited_admin["secret"])
    )
    assert (await error_of(response, 403))["details"]["field"] == "buckets"
    response = await api.post(
        "/v1/access-keys",
        json={"name": "n", "scopes": ["read:objects"], "buckets": ["b"]},
        headers=bearer(limited_admin["secret"]),
    )
    assert response.status == 403


async def test_expiring_key_cannot_rotate_a_longer_lived_one(api: Client) -> None:
    short_admin = await mint(api, scopes=["admin"], expires_at=_in(600))
    forever = await mint(api, scopes=["read:objects"])
    response = await api.post(
        f"/v1/access-keys/{forever['id']}/rotate", headers=bearer(short_admin["secret"])
    )
    assert (await error_of(response, 403))["details"]["field"] == "expires_at"
