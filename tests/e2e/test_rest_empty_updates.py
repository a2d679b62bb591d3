"""A ``PATCH`` that names nothing to change is refused, on every ``/v1`` update route.

``PATCH /v1/users/{id}`` with ``{}`` (or only ``null`` members, which mean "unchanged")
answered 200, touched the user's ``updated_at`` and recorded a successful
``user.update`` audit event for a change that never happened, while ``PATCH
/v1/accounts/{id}`` refused ``{}`` with 400. Both now answer 400 ``ValidationError``
("Nothing to update", ``details.fields``: what the route changes); the audit log
records the attempt as a failure. Real gateway process, REST over real sockets.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import api_json, call


def _user(gateway: Gateway) -> Any:
    body = {
        "username": f"u-{uuid.uuid4().hex[:10]}",
        "password": "p" * 16,
        "scopes": ["read:buckets"],
    }
    return api_json(gateway, "POST", "/v1/users", body=body, expect=201)


def _refused(gateway: Gateway, path: str, body: Any) -> dict[str, Any]:
    status, _, raw = call(gateway, "PATCH", path, headers=_admin(gateway), body=body)
    assert status == 400, raw
    error: dict[str, Any] = json.loads(raw)["error"]
    assert error["code"] == "ValidationError"
    assert error["message"].startswith("Nothing to update")
    return error


def _admin(gateway: Gateway) -> dict[str, str]:
    return {"Authorization": f"Bearer {gateway.secret_key}"}


@pytest.mark.parametrize(
    "body", [{}, {"disabled": None, "scopes": None, "password": None, "roles": None}]
)
def test_a_user_update_naming_nothing_is_refused_and_audited_as_a_failure(
    gateway: Gateway, body: dict[str, Any]
) -> None:
    user = _user(gateway)
    error = _refused(gateway, f"/v1/users/{user['id']}", body)
    assert error["details"]["fields"] == ["disabled", "password", "roles", "scopes"]
    after = api_json(gateway, "GET", f"/v1/users/{user['id']}")
    assert after == user
    found = api_json(gateway, "GET", f"/v1/audit-events?target={user['id']}")["events"]
    assert [(e["action"], e["outcome"]) for e in found] == [
        ("user.update", "failure"),
        ("user.create", "success"),
    ]


def test_an_account_update_naming_nothing_is_refused_alike(gateway: Gateway) -> None:
    made = api_json(
        gateway, "POST", "/v1/accounts", body={"name": f"a-{uuid.uuid4().hex[:10]}"}, expect=201
    )
    error = _refused(gateway, f"/v1/accounts/{made['id']}", {})
    assert error["details"]["fields"] == ["rate_limit"]
    # null is a change there: it restores the default limit.
    api_json(gateway, "PATCH", f"/v1/accounts/{made['id']}", body={"rate_limit": None})


def test_a_real_change_still_updates(gateway: Gateway) -> None:
    user = _user(gateway)
    changed = api_json(gateway, "PATCH", f"/v1/users/{user['id']}", body={"roles": ["ops"]})
    assert changed["roles"] == ["ops"]
