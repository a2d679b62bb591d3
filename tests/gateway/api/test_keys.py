"""``/v1/access-keys``: every endpoint, every validation error, visibility and the root key."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.gateway.api.conftest import ADMIN, ROOT_KEY, ROOT_SECRET, bearer, error_of, mint

Client = TestClient[Any, Any]


def _in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def test_create_returns_secret_once_and_aws_names(api: Client) -> None:
    key = await mint(api, scopes=["read:objects"], buckets=["logs-*"], expires_at=_in(3600))
    assert key["id"].startswith("ak_") and key["secret"].startswith("sk_")
    assert key["access_key_id"] == key["id"]
    assert key["secret_access_key"] == key["secret"]
    assert key["scopes"] == ["read:objects"] and key["buckets"] == ["logs-*"]
    assert key["status"] == "active" and key["owner"] == ROOT_KEY and key["root"] is False
    shown = await (await api.get(f"/v1/access-keys/{key['id']}", headers=ADMIN)).json()
    assert "secret" not in shown and "secret_access_key" not in shown
    assert key["secret"] not in str(shown)
    listing = await (await api.get("/v1/access-keys", headers=ADMIN)).text()
    assert key["secret"] not in listing


async def test_new_key_authenticates_as_bearer_and_x_api_key(api: Client) -> None:
    key = await mint(api, scopes=["read:buckets"])
    for headers in (bearer(key["secret"]), {"X-API-Key": key["secret"]}):
        me = await (await api.get("/v1/me", headers=headers)).json()
        assert me["key_id"] == key["id"] and me["scopes"] == ["read:buckets"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scopes": ["admin"]}, "name"),
        ({"name": "", "scopes": ["admin"]}, "name"),
        ({"name": "   ", "scopes": ["admin"]}, "name"),
        ({"name": 5, "scopes": ["admin"]}, "name"),
        ({"name": "x" * 129, "scopes": ["admin"]}, "name"),
        ({"name": "x" * 127 + "  ", "scopes": ["admin"]}, "name"),
        ({"name": "tab\there", "scopes": ["admin"]}, "name"),
        ({"name": "n", "scopes": ["admin"], "grace_seconds": 1}, "grace_seconds"),
        ({"name": "n"}, "scopes"),
        ({"name": "n", "scopes": []}, "scopes"),
        ({"name": "n", "scopes": "admin"}, "scopes"),
        ({"name": "n", "scopes": ["read:everything"]}, "scopes"),
        ({"name": "n", "scopes": ["admin", "admin"]}, "scopes"),
        ({"name": "n", "scopes": [1]}, "scopes"),
        ({"name": "n", "scopes": ["admin"], "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "n", "scopes": ["admin"], "expires_at": "2099-01-01"}, "expires_at"),
        ({"name": "n", "scopes": ["admin"], "expires_at": "2099-01-01T00:00:00"}, "expires_at"),
        ({"name": "n", "scopes": ["admin"], "expires_at": "tomorrow"}, "expires_at"),
        ({"name": "n", "scopes": ["admin"], "expires_at": 4102444800}, "expires_at"),
        # past year 9999 once in UTC: was a 500
        (
            {"name": "n", "scopes": ["admin"], "expires_at": "9999-12-31T23:59:59-01:00"},
            "expires_at",
        ),
        ({"name": "n", "scopes": ["admin"], "buckets": []}, "buckets"),
        ({"name": "n", "scopes": ["admin"], "buckets": ["Bad_Name"]}, "buckets"),
        ({"name": "n", "scopes": ["admin"], "buckets": ["a", "a"]}, "buckets"),
        ({"name": "n", "scopes": ["admin"], "buckets": "a"}, "buckets"),
        ({"name": "n", "scopes": ["admin"], "scope": ["admin"]}, "scope"),
    ],
)
async def test_create_validation_errors_name_the_field(
    api: Client, body: dict[str, Any], field: str
) -> None:
    error = await error_of(await api.post("/v1/access-keys", json=body, headers=ADMIN), 400)
    assert error["code"] == "ValidationError"
    assert error["details"]["field"] == field


async def test_malformed_bodies(api: Client) -> None:
    url = "/v1/access-keys"
    json_type = {**ADMIN, "Content-Type": "application/json"}
    error = await error_of(await api.post(url, data=b"{nope", headers=json_type), 400)
    assert error["code"] == "InvalidRequest"
    error = await error_of(await api.post(url, data=b"[1, 2]", headers=json_type), 400)
    assert error["code"] == "InvalidRequest"
    error = await error_of(await api.post(url, data=b"\xff\xfe", headers=json_type), 400)
    assert error["code"] == "InvalidRequest"
    form = {**ADMIN, "Content-Type": "application/x-www-form-urlencoded"}
    error = await error_of(await api.post(url, data=b"name=x&scopes=admin", headers=form), 415)
    assert error["code"] == "UnsupportedMediaType"


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,  # nesting past the parser's recursion limit was a 500
        b'{"a":' * 100_000,
        b'{"name": "n", "scopes": ["admin"], "expires_at": NaN}',  # not JSON (RFC 8259)
        b'{"name": "n", "scopes": ["admin"], "expires_at": -Infinity}',
    ],
)
async def test_bodies_json_does_not_allow_are_invalid_requests(api: Client, body: bytes) -> None:
    headers = {**ADMIN, "Content-Type": "application/json"}
    error = await error_of(await api.post("/v1/access-keys", data=body, headers=headers), 400)
    assert error["code"] == "InvalidRequest"


async def test_authentication_errors(api: Client) -> None:
    error = await error_of(await api.get("/v1/access-keys"), 401)
    assert error["code"] == "Unauthorized"
    error = await error_of(await api.get("/v1/access-keys", headers=bearer("sk_nope")), 401)
    assert error["code"] == "InvalidApiKey"
    error = await error_of(await api.get("/v1/me", headers={"X-API-Key": "sk_nope"}), 401)
    assert error["code"] == "InvalidApiKey"
    error = await error_of(await api.get("/v1/me", headers=bearer("eyJa.eyJb.c")), 401)
    assert error["code"] == "InvalidToken"
    # Authentication comes before the body is even read.
    error = await error_of(await api.post("/v1/access-keys", data=b"{nope"), 401)
    assert error["code"] == "Unauthorized"


async def test_get_unknown_key_is_404(api: Client) -> None:
    error = await error_of(await api.get("/v1/access-keys/ak_NOPE", headers=ADMIN), 404)
    assert error["code"] == "NotFound"
    error = await error_of(await api.delete("/v1/access-keys/ak_NOPE", headers=ADMIN), 404)
    assert error["code"] == "NotFound"
    error = await error_of(await api.post("/v1/access-keys/ak_NOPE/rotate", headers=ADMIN), 404)
    assert error["code"] == "NotFound"


async def test_revoke_is_immediate_and_idempotent(api: Client) -> None:
    key = await mint(api, scopes=["read:buckets"])
    assert (await api.get("/v1/me", headers=bearer(key["secret"]))).status == 200
    assert (await api.delete(f"/v1/access-keys/{key['id']}", headers=ADMIN)).status == 204
    error = await error_of(await api.get("/v1/me", headers=bearer(key["secret"])), 401)
    assert error["code"] == "InvalidApiKey"
    assert (await api.delete(f"/v1/access-keys/{key['id']}", headers=ADMIN)).status == 204
    shown = await (await api.get(f"/v1/access-keys/{key['id']}", headers=ADMIN)).json()
    assert shown["status"] == "revoked" and shown["revoked_at"] is not None
    error = await error_of(
        await api.post(f"/v1/access-keys/{key['id']}/rotate", headers=ADMIN), 409
    )
    assert error["code"] == "Conflict"


async def test_root_key_cannot_be_revoked_or_rotated(api: Client) -> None:
    shown = await (await api.get(f"/v1/access-keys/{ROOT_KEY}", headers=ADMIN)).json()
    assert shown["root"] is True and shown["owner"] is None
    for response in (
        await api.delete(f"/v1/access-keys/{ROOT_KEY}", headers=ADMIN),
        await api.post(f"/v1/access-keys/{ROOT_KEY}/rotate", headers=ADMIN),
    ):
        error = await error_of(response, 409)
        assert error["code"] == "Conflict" and "environment" in error["message"]
    assert (await api.get("/v1/me", headers=ADMIN)).status == 200


async def test_rotate_default_grace_drops_old_secret_at_once(api: Client) -> None:
    key = await mint(api, scopes=["read:buckets"])
    response = await api.post(f"/v1/access-keys/{key['id']}/rotate", headers=ADMIN)
    assert response.status == 200
    rotated = await response.json()
    assert rotated["id"] == key["id"] and rotated["secret"] != key["secret"]
    assert rotated["previous_secret_expires_at"] is None
    assert (await api.get("/v1/me", headers=bearer(key["secret"]))).status == 401
    assert (await api.get("/v1/me", headers=bearer(rotated["secret"]))).status == 200


async def _rotate(api: Client, key: dict[str, Any], grace_seconds: int) -> dict[str, Any]:
    response = await api.post(
        f"/v1/access-keys/{key['id']}/rotate", json={"grace_seconds": grace_seconds}, headers=ADMIN
    )
    rotated: dict[str, Any] = await response.json()
    assert rotated["previous_secret_expires_at"] is not None
    return rotated


async def _sleep_past(when: str) -> None:
    """Sleep until a little after the instant ``when`` (ISO 8601)."""
    left = (datetime.fromisoformat(when) - datetime.now(UTC)).total_seconds()
    await asyncio.sleep(max(0.0, left) + 0.2)


async def test_rotate_with_grace_keeps_old_secret_until_then(api: Client) -> None:
    # Still valid: a grace no slow machine outlasts (one of a second was, between the
    # rotation and the next request). Then over: a short grace, waited out.
    kept = await mint(api, scopes=["read:buckets"])
    rotated = await _rotate(api, kept, 3600)
    assert (await api.get("/v1/me", headers=bearer(kept["secret"]))).status == 200
    assert (await api.get("/v1/me", headers=bearer(rotated["secret"]))).status == 200
    key = await mint(api, scopes=["read:buckets"])
    rotated = await _rotate(api, key, 1)
    await _sleep_past(rotated["previous_secret_expires_at"])
    assert (await api.get("/v1/me", headers=bearer(key["secret"]))).status == 401
    assert (await api.get("/v1/me", headers=bearer(rotated["secret"]))).status == 200


@pytest.mark.parametrize(
    "body", [{"grace_seconds": -1}, {"grace_seconds": "5"}, {"grace_seconds": 10**9}, {"x": 1}]
)
async def test_rotate_validation(api: Client, body: dict[str, Any]) -> None:
    key = await mint(api, scopes=["read:buckets"])
    response = await api.post(f"/v1/access-keys/{key['id']}/rotate", json=body, headers=ADMIN)
    error = await error_of(response, 400)
    assert error["code"] == "ValidationError"
    assert error["details"]["field"] in {"grace_seconds", "x"}


async def test_rotate_accepts_integral_float_grace(api: Client) -> None:
    """JSON Schema's integer includes 2.0; the document says integer, so accept it."""
    key = await mint(api, scopes=["read:buckets"])
    response = await api.post(
        f"/v1/access-keys/{key['id']}/rotate", json={"grace_seconds": 2.0}, headers=ADMIN
    )
    assert response.status == 200


async def test_pagination_walks_every_key_once(api: Client) -> None:
    made = {(await mint(api, scopes=["read:objects"], name=f"k{i}"))["id"] for i in range(7)}
    seen: list[str] = []
    cursor: str | None = None
    while True:
        url = "/v1/access-keys?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = await (await api.get(url, headers=ADMIN)).json()
        assert len(page["access_keys"]) <= 3
        seen += [k["id"] for k in page["access_keys"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) and made | {ROOT_KEY} == set(seen)


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=1001", "limit"), ("limit=x", "limit"), ("cursor=%25", "cursor")],
)
async def test_pagination_errors(api: Client, query: str, field: str) -> None:
    error = await error_of(await api.get(f"/v1/access-keys?{query}", headers=ADMIN), 400)
    assert error["code"] == "ValidationError" and error["details"]["field"] == field


async def test_last_used_at_is_batched_then_visible(api: Client) -> None:
    key = await mint(api, scopes=["read:buckets"])
    assert key["last_used_at"] is None
    assert (await api.get("/v1/me", headers=bearer(key["secret"]))).status == 200
    for _ in range(50):  # flush interval is 0.05 s in these tests
        shown = await (await api.get(f"/v1/access-keys/{key['id']}", headers=ADMIN)).json()
        if shown["last_used_at"] is not None:
            break
        await asyncio.sleep(0.05)
    assert shown["last_used_at"] is not None


async def test_expired_key_is_refused_and_listed_as_expired(api: Client) -> None:
    # Valid before its expiry: a key with an hour left (half a second could run out
    # before the first request on a slow machine). The expiring key only has to be
    # created in time; its expiry is then waited out.
    lasting = await mint(api, scopes=["read:buckets"], expires_at=_in(3600))
    assert (await api.get("/v1/me", headers=bearer(lasting["secret"]))).status == 200
    key = await mint(api, scopes=["read:buckets"], expires_at=_in(2))
    await _sleep_past(key["expires_at"])
    error = await error_of(await api.get("/v1/me", headers=bearer(key["secret"])), 401)
    assert error["code"] == "InvalidApiKey"
    shown = await (await api.get(f"/v1/access-keys/{key['id']}", headers=ADMIN)).json()
    assert shown["status"] == "expired"


async def test_secret_never_in_error_messages(api: Client) -> None:
    secret = "sk_" + "z" * 40
    response = await api.post(
        "/v1/access-keys", json={"name": "n", "scopes": [secret]}, headers=ADMIN
    )
    assert secret not in await response.text()
    response = await api.get("/v1/me", headers=bearer(secret))
    assert secret not in await response.text()
    assert ROOT_SECRET not in await (await api.get("/v1/me", headers=ADMIN)).text()
