"""Class: an identity listing continues only from a cursor it issued to that caller.

``/v1/access-keys``, ``/v1/users``, ``/v1/clients``, ``/v1/accounts`` and
``/v1/audit-events`` answered ``next_cursor`` as the base64 of ``k1:<last id>`` and took
any such value back: a client could start a listing wherever it wrote, and a cursor of
another route, of another caller or of the same listing under other filters was read as
a position in this one (a key listing's cursor on ``/v1/users`` silently answered from
the start). Cursors are now sealed like the object listing's
(``gateway/api/cursors.py``, ``tests/security/test_rest_cursors.py``): bound to the
route, the caller and the filters; anything else is 400 ``ValidationError`` naming
``cursor``. ``/v1/buckets``, paged since, is held to the same. Real gateway process,
REST over real sockets.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
import requests

from tests.e2e.gateway_process import Gateway

LISTINGS = {
    "/v1/access-keys": "access_keys",
    "/v1/users": "users",
    "/v1/clients": "clients",
    "/v1/accounts": "accounts",
    "/v1/audit-events": "events",
    "/v1/buckets": "buckets",
}


def _get(gateway: Gateway, path: str, secret: str, **query: Any) -> requests.Response:
    return requests.get(
        f"{gateway.api_url}{path}",
        params=query,
        headers={"Authorization": f"Bearer {secret}"},
        timeout=30,
    )


def _post(gateway: Gateway, path: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = requests.post(
        f"{gateway.api_url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {gateway.secret_key}"},
        timeout=30,
    )
    assert reply.status_code == 201, reply.text
    created: dict[str, Any] = reply.json()
    return created


@pytest.fixture(scope="module")
def other_admin(gateway: Gateway) -> str:
    """A second admin of the system account, and at least two of everything listed."""
    for _ in range(2):
        tag = uuid.uuid4().hex[:10]
        _post(
            gateway,
            "/v1/users",
            {"username": f"u{tag}", "password": "x" * 16 + tag, "scopes": ["read:buckets"]},
        )
        _post(gateway, "/v1/clients", {"name": f"c{tag}", "scopes": ["read:buckets"]})
        _post(gateway, "/v1/accounts", {"name": f"a{tag}"})
        _post(gateway, "/v1/buckets", {"name": f"cursor-{tag}"})
    secret: str = _post(gateway, "/v1/access-keys", {"name": "other", "scopes": ["admin"]})[
        "secret"
    ]
    return secret


def _id(item: dict[str, Any]) -> Any:
    return item.get("id") or item.get("client_id") or item.get("name")


def _first_page(gateway: Gateway, path: str, secret: str, **query: Any) -> dict[str, Any]:
    reply = _get(gateway, path, secret, limit=1, **query)
    assert reply.status_code == 200, reply.text
    page: dict[str, Any] = reply.json()
    assert page["next_cursor"] is not None, page
    return page


def _refused(reply: requests.Response) -> None:
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert (error["code"], error["details"]["field"]) == ("ValidationError", "cursor")


@pytest.mark.parametrize("path", list(LISTINGS))
def test_a_cursor_pages_through_its_own_listing(
    gateway: Gateway, other_admin: str, path: str
) -> None:
    member = LISTINGS[path]
    everything = _get(gateway, path, gateway.secret_key, limit=1000).json()[member]
    seen: list[Any] = []
    cursor = None
    while True:
        query: dict[str, Any] = {"limit": 1} if cursor is None else {"limit": 1, "cursor": cursor}
        page = _get(gateway, path, gateway.secret_key, **query).json()
        seen.extend(page[member])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    ids = [_id(item) for item in seen]
    assert len(ids) >= 2
    if path == "/v1/audit-events":  # new events arrive while paging: the old ones stay
        assert set(ids) >= {e["id"] for e in everything[-2:]}
    else:
        assert ids == [_id(item) for item in everything]


@pytest.mark.parametrize("path", list(LISTINGS))
def test_a_cursor_written_by_the_client_is_refused(
    gateway: Gateway, other_admin: str, path: str
) -> None:
    page = _first_page(gateway, path, gateway.secret_key)
    item = page[LISTINGS[path]][0]
    position = _id(item)
    forged = base64.urlsafe_b64encode(f"k1:{position}".encode()).decode().rstrip("=")
    _refused(_get(gateway, path, gateway.secret_key, cursor=forged))


@pytest.mark.parametrize("path", list(LISTINGS))
def test_another_routes_cursor_is_refused(gateway: Gateway, other_admin: str, path: str) -> None:
    other = "/v1/users" if path != "/v1/users" else "/v1/access-keys"
    cursor = _first_page(gateway, other, gateway.secret_key)["next_cursor"]
    _refused(_get(gateway, path, gateway.secret_key, cursor=cursor))


@pytest.mark.parametrize("path", [p for p in LISTINGS if p != "/v1/accounts"])
def test_another_callers_cursor_is_refused(gateway: Gateway, other_admin: str, path: str) -> None:
    cursor = _first_page(gateway, path, other_admin)["next_cursor"]
    _refused(_get(gateway, path, gateway.secret_key, cursor=cursor))
    assert _get(gateway, path, other_admin, cursor=cursor).status_code == 200


@pytest.mark.parametrize(
    ("path", "filters"),
    [("/v1/audit-events", {"action": "user.create"}), ("/v1/access-keys", {"mine": "true"})],
)
def test_a_cursor_under_other_filters_is_refused(
    gateway: Gateway, other_admin: str, path: str, filters: dict[str, str]
) -> None:
    cursor = _first_page(gateway, path, gateway.secret_key)["next_cursor"]
    _refused(_get(gateway, path, gateway.secret_key, cursor=cursor, **filters))
