"""``/v1/buckets`` and ``/v1/me``: scopes, bucket limits, validation, backend errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from backends.types import ObjectMeta
from gateway.principal import SYSTEM_ACCOUNT_ID, SYSTEM_CANONICAL_ID
from gateway.state import BACKEND
from tests.gateway.api.conftest import ADMIN, ROOT_KEY, bearer, error_of, mint

Client = TestClient[Any, Any]


class _Body:
    checksums: dict[str, str] = {}

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.data


async def test_create_list_stats_delete(api: Client) -> None:
    response = await api.post("/v1/buckets", json={"name": "photos"}, headers=ADMIN)
    assert response.status == 201
    created = await response.json()
    assert created["name"] == "photos" and created["created_at"].endswith("Z")
    listing = await (await api.get("/v1/buckets", headers=ADMIN)).json()
    assert [b["name"] for b in listing["buckets"]] == ["photos"]
    assert "object_count" not in listing["buckets"][0]
    stats = await (await api.get("/v1/buckets?stats=true", headers=ADMIN)).json()
    assert stats["buckets"][0]["object_count"] == 0 and stats["buckets"][0]["size_bytes"] == 0
    assert (await api.delete("/v1/buckets/photos", headers=ADMIN)).status == 204
    assert (await (await api.get("/v1/buckets", headers=ADMIN)).json())["buckets"] == []


async def test_stats_count_objects(api: Client) -> None:
    await api.post("/v1/buckets", json={"name": "full"}, headers=ADMIN)
    backend = api.app[BACKEND]

    await backend.put_object("full", "k", _Body(b"hello"), ObjectMeta())
    stats = await (await api.get("/v1/buckets?stats=true", headers=ADMIN)).json()
    assert stats["buckets"][0]["object_count"] == 1 and stats["buckets"][0]["size_bytes"] == 5
    error = await error_of(await api.delete("/v1/buckets/full", headers=ADMIN), 409)
    assert error["code"] == "Conflict"


async def test_errors(api: Client) -> None:
    await api.post("/v1/buckets", json={"name": "twice"}, headers=ADMIN)
    error = await error_of(
        await api.post("/v1/buckets", json={"name": "twice"}, headers=ADMIN), 409
    )
    assert error["code"] == "Conflict"
    error = await error_of(await api.delete("/v1/buckets/missing", headers=ADMIN), 404)
    assert error["code"] == "NotFound"
    error = await error_of(await api.delete("/v1/buckets/Not_Valid", headers=ADMIN), 404)
    assert error["code"] == "NotFound"
    for value in ("maybe", "", "1"):
        error = await error_of(await api.get(f"/v1/buckets?stats={value}", headers=ADMIN), 400)
        assert error["details"]["field"] == "stats"


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "UPPER",
        "a_b",
        "192.168.1.1",
        "a..b",
        "-ab",
        "xn--ab",
        "amzn-s3-demo-ab",
        "ab--table-s3",
        "ab.mrap",
        "ab--x-s3",
        "a" * 64,
        7,
        None,
    ],
)
async def test_invalid_bucket_names(api: Client, name: Any) -> None:
    body = {} if name is None else {"name": name}
    error = await error_of(await api.post("/v1/buckets", json=body, headers=ADMIN), 400)
    assert error["code"] == "ValidationError" and error["details"]["field"] == "name"


async def test_versioning(api: Client) -> None:
    """``"versioning": true`` creates a versioned bucket; every bucket reports its state."""
    response = await api.post(
        "/v1/buckets", json={"name": "v-off", "versioning": False}, headers=ADMIN
    )
    assert response.status == 201
    assert (await response.json())["versioning"] is None
    response = await api.post(
        "/v1/buckets", json={"name": "v-on", "versioning": True}, headers=ADMIN
    )
    assert response.status == 201
    assert (await response.json())["versioning"] == "Enabled"
    response = await api.post(
        "/v1/buckets", json={"name": "v-x", "versioning": "yes"}, headers=ADMIN
    )
    assert (await error_of(response, 400))["details"]["field"] == "versioning"
    listed = (await (await api.get("/v1/buckets", headers=ADMIN)).json())["buckets"]
    assert {b["name"]: b["versioning"] for b in listed} == {"v-off": None, "v-on": "Enabled"}
    stats = (await (await api.get("/v1/buckets?stats=true", headers=ADMIN)).json())["buckets"]
    assert [b["versioning"] for b in stats] == [None, "Enabled"]


async def test_scopes(api: Client) -> None:
    reader = await mint(api, scopes=["read:buckets"])
    objects = await mint(api, scopes=["read:objects", "write:objects"])
    assert (await api.get("/v1/buckets", headers=bearer(reader["secret"]))).status == 200
    error = await error_of(
        await api.post("/v1/buckets", json={"name": "nope"}, headers=bearer(reader["secret"])), 403
    )
    assert (
        error["code"] == "ScopeRequired" and error["details"]["required_scope"] == "write:buckets"
    )
    error = await error_of(await api.get("/v1/buckets", headers=bearer(objects["secret"])), 403)
    assert error["details"]["required_scope"] == "read:buckets"
    error = await error_of(
        await api.delete("/v1/buckets/x1x", headers=bearer(reader["secret"])), 403
    )
    assert error["details"]["required_scope"] == "write:buckets"


async def test_bucket_limits(api: Client) -> None:
    for name in ("app-one", "app-two", "other"):
        await api.post("/v1/buckets", json={"name": name}, headers=ADMIN)
    limited = await mint(api, scopes=["read:buckets", "write:buckets"], buckets=["app-*"])
    headers = bearer(limited["secret"])
    listing = await (await api.get("/v1/buckets", headers=headers)).json()
    assert [b["name"] for b in listing["buckets"]] == ["app-one", "app-two"]
    error = await error_of(
        await api.post("/v1/buckets", json={"name": "zzz"}, headers=headers), 403
    )
    assert error["code"] == "AccessDenied"
    error = await error_of(await api.delete("/v1/buckets/other", headers=headers), 403)
    assert error["code"] == "AccessDenied"
    assert (
        await api.post("/v1/buckets", json={"name": "app-three"}, headers=headers)
    ).status == 201
    assert (await api.delete("/v1/buckets/app-one", headers=headers)).status == 204


async def test_me(api: Client) -> None:
    me = await (await api.get("/v1/me", headers=ADMIN)).json()
    assert me == {
        "kind": "key",
        "subject": ROOT_KEY,
        "key_id": ROOT_KEY,
        "client_id": None,
        "scopes": ["admin"],
        "buckets": None,
        "expires_at": None,
        "name": me["name"],
        "account": {
            "id": SYSTEM_ACCOUNT_ID,
            "name": "system",
            "canonical_id": SYSTEM_CANONICAL_ID,
            "display_name": "nfyio",
        },
        "root": True,
    }
    key = await mint(
        api,
        name="mine",
        scopes=["read:objects"],
        buckets=["a"],
        expires_at="2099-01-01T00:00:00+02:00",
    )
    me = await (await api.get("/v1/me", headers={"X-API-Key": key["secret"]})).json()
    assert me["name"] == "mine" and me["buckets"] == ["a"]
    assert me["expires_at"] == "2098-12-31T22:00:00.000000Z"
    assert (await error_of(await api.get("/v1/me"), 401))["code"] == "Unauthorized"


async def test_unknown_route_and_method_are_json(api: Client) -> None:
    error = await error_of(await api.get("/v1/nothing", headers=ADMIN), 404)
    assert error["code"] == "NotFound"
    response = await api.patch("/v1/access-keys", headers=ADMIN)
    error = await error_of(response, 405)
    assert "GET" in response.headers["Allow"] and "POST" in response.headers["Allow"]
