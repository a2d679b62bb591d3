"""Users and OAuth clients cannot carry a credential beyond its bucket limits or expiry.

Before: an ``admin`` key limited to ``team-a-*`` and expiring in a month could
``POST /v1/users`` a user with ``admin`` and a password of its choosing (or ``PATCH`` an
existing user's password), sign in as it and mint a key for every bucket that never
expires; ``POST /v1/clients`` did the same through the client-credentials grant. Users
and clients have neither bucket limits nor expiry, so only a credential without them
makes or widens one; disabling a user (which only narrows) stays open to any ``admin``.
Real gateway process, REST over real sockets.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.gateway_process import ROOT_SECRET, Gateway
from tests.e2e.oauth_util import ADMIN, Reply, call

PASSWORD = "correct-horse-battery-staple-9"


def _post(gateway: Gateway, path: str, body: dict[str, Any], secret: str) -> Reply:
    return call(
        f"{gateway.api_url}{path}",
        "POST",
        body=body,
        headers={"Authorization": f"Bearer {secret}"},
    )


def _admin_key(gateway: Gateway, **limits: Any) -> str:
    reply = _post(
        gateway,
        "/v1/access-keys",
        {"name": "narrow-admin", "scopes": ["admin"], **limits},
        ROOT_SECRET,
    )
    assert reply.status == 201, reply.body
    secret: str = reply.json()["secret"]
    return secret


def _user(gateway: Gateway) -> str:
    body = {"username": f"u{uuid.uuid4().hex[:10]}", "password": PASSWORD, "scopes": ["admin"]}
    reply = call(f"{gateway.api_url}/v1/users", "POST", body=body, headers=ADMIN)
    assert reply.status == 201, reply.body
    user_id: str = reply.json()["id"]
    return user_id


NARROW = [
    pytest.param({"buckets": ["team-a-*"]}, "buckets", id="bucket-limited"),
    pytest.param({"expires_at": "2999-01-01T00:00:00Z"}, "expires_at", id="expiring"),
]


@pytest.mark.parametrize(("limits", "field"), NARROW)
def test_narrow_admin_cannot_create_users_or_clients(
    gateway: Gateway, limits: dict[str, Any], field: str
) -> None:
    secret = _admin_key(gateway, **limits)
    user = {"username": f"u{uuid.uuid4().hex[:10]}", "password": PASSWORD, "scopes": ["admin"]}
    client = {"name": "wide", "scopes": ["admin"], "grant_types": ["client_credentials"]}
    for path, body in (("/v1/users", user), ("/v1/clients", client)):
        reply = _post(gateway, path, body, secret)
        assert reply.status == 403, (path, reply.body)
        error = reply.json()["error"]
        assert error["code"] == "AccessDenied"
        assert error["details"]["field"] == field
    listed = call(f"{gateway.api_url}/v1/users?limit=1000", headers=ADMIN).json()["users"]
    assert user["username"] not in {u["username"] for u in listed}


@pytest.mark.parametrize(("limits", "field"), NARROW)
def test_narrow_admin_cannot_widen_a_user_but_may_disable_it(
    gateway: Gateway, limits: dict[str, Any], field: str
) -> None:
    secret = _admin_key(gateway, **limits)
    user_id = _user(gateway)
    url = f"{gateway.api_url}/v1/users/{user_id}"
    headers = {"Authorization": f"Bearer {secret}"}
    for body in ({"password": "another-long-password-42"}, {"scopes": ["admin"]}):
        reply = call(url, "PATCH", body=body, headers=headers)
        assert reply.status == 403, (body, reply.body)
        assert reply.json()["error"]["details"]["field"] == field
    disabled = call(url, "PATCH", body={"disabled": True}, headers=headers)
    assert disabled.status == 200, disabled.body
    assert disabled.json()["disabled"] is True
    enabled = call(url, "PATCH", body={"disabled": False}, headers=headers)
    assert enabled.status == 403, enabled.body


def test_unlimited_admin_still_manages_users_and_clients(gateway: Gateway) -> None:
    secret = _admin_key(gateway)
    user = {"username": f"u{uuid.uuid4().hex[:10]}", "password": PASSWORD, "scopes": ["admin"]}
    assert _post(gateway, "/v1/users", user, secret).status == 201
    client = {"name": "ok", "scopes": ["read:buckets"]}
    assert _post(gateway, "/v1/clients", client, secret).status == 201
