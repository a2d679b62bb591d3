"""Class: an authenticated caller's refused ``/v1`` attempt leaves an audit event.

docs/audit.md: "Every attempt by an authenticated caller is recorded, refused ones too".
The access middleware set the caller on the request only once the rate limit and the
row's scope or root check had passed, and the audit middleware skipped requests without
one: a key scoped to ``read:buckets`` trying ``POST /v1/users`` (403 ``ScopeRequired``),
an account's admin trying ``PATCH /v1/accounts/{another}`` (403 ``RootRequired``), a key
over its rate limit (429) left only ``access_key.use``, an access-log line with
``principal=-`` and an answer without ``Cache-Control: no-store``.

Now every refusal after authentication is one ``failure`` event of the row's action, in
the caller's own account's log (never the named account's), with the principal in the
access log and ``no-store``; a request that did not authenticate is still no event, and
a row without an action (a read) is none either.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway, wait_until
from tests.e2e.rest_util import ADMIN, api_json, bearer, call
from tests.e2e.tenants import Tenant, new_tenant


@dataclass(frozen=True)
class Refusal:
    label: str
    caller: Callable[[Tenant, Tenant], dict[str, str]]
    """(the caller's tenant, another tenant) -> the caller's credential headers."""
    method: str
    path: Callable[[Tenant, Tenant], str]
    body: dict[str, Any] | None
    status: int
    error: str
    action: str
    target: Callable[[Tenant, Tenant], dict[str, str | None]]


def _read_only(tenant: Tenant, _other: Tenant) -> dict[str, str]:
    return bearer(tenant.key(scopes=["read:buckets"])["secret"])


def _admin(tenant: Tenant, _other: Tenant) -> dict[str, str]:
    return tenant.headers


def _spent(tenant: Tenant, _other: Tenant) -> dict[str, str]:
    """An admin key of one request a minute, its one request spent."""
    made = tenant.key(scopes=["admin"], rate_limit={"requests_per_minute": 1, "burst": 1})
    headers = bearer(made["secret"])
    status, _, raw = call(tenant.gateway, "GET", "/v1/me", headers=headers)
    assert status == 200, raw
    return headers


REFUSALS = [
    Refusal(
        "scope: POST /v1/users",
        _read_only,
        "POST",
        lambda a, b: "/v1/users",
        {"username": f"eve-{uuid.uuid4().hex[:6]}", "password": "Passw0rd-123!x"},
        403,
        "ScopeRequired",
        "user.create",
        lambda a, b: {"type": "user", "id": None},
    ),
    Refusal(
        "scope: POST /v1/clients",
        _read_only,
        "POST",
        lambda a, b: "/v1/clients",
        {"name": "app", "scopes": ["admin"]},
        403,
        "ScopeRequired",
        "client.create",
        lambda a, b: {"type": "client", "id": None},
    ),
    Refusal(
        "root: PATCH another account",
        _admin,
        "PATCH",
        lambda a, b: f"/v1/accounts/{b.id}",
        {"rate_limit": None},
        403,
        "RootRequired",
        "account.update",
        lambda a, b: {"type": "account", "id": b.id},
    ),
    Refusal(
        "root: DELETE another account",
        _admin,
        "DELETE",
        lambda a, b: f"/v1/accounts/{b.id}",
        None,
        403,
        "RootRequired",
        "account.delete",
        lambda a, b: {"type": "account", "id": b.id},
    ),
    Refusal(
        "rate limit: POST /v1/users",
        _spent,
        "POST",
        lambda a, b: "/v1/users",
        {"username": f"eve-{uuid.uuid4().hex[:6]}", "password": "Passw0rd-123!x"},
        429,
        "RateLimitExceeded",
        "user.create",
        lambda a, b: {"type": "user", "id": None},
    ),
]


def _events(gateway: Gateway, headers: dict[str, str], **query: str) -> list[dict[str, Any]]:
    path = "/v1/audit-events?" + "&".join(f"{k}={v}" for k, v in query.items())
    found: list[dict[str, Any]] = api_json(gateway, "GET", path, headers=headers)["events"]
    return found


def _of_request(gateway: Gateway, request_id: str) -> list[dict[str, Any]]:
    """The events of one request in every account's log (the root key's view), but the
    key's first use (``access_key.use``), which is not the attempt."""
    return [
        e
        for e in _events(gateway, ADMIN, limit="1000")
        if e["request_id"] == request_id and e["action"] != "access_key.use"
    ]


def _access_line(gateway: Gateway, request_id: str) -> str:
    found: list[str] = []

    def logged() -> bool:
        found[:] = [
            line
            for line in gateway.log().splitlines()
            if f"request_id={request_id} " in line and "nfyio.access" in line
        ]
        return bool(found)

    wait_until(logged, f"the access-log line of {request_id}")
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("refusal", REFUSALS, ids=[r.label for r in REFUSALS])
def test_a_refused_attempt_is_one_failure_in_the_callers_log(
    gateway: Gateway, refusal: Refusal
) -> None:
    mine, other = new_tenant(gateway, "refused"), new_tenant(gateway, "named")
    headers = refusal.caller(mine, other)
    status, answer_headers, raw = call(
        gateway, refusal.method, refusal.path(mine, other), headers=headers, body=refusal.body
    )
    assert status == refusal.status, raw
    assert json.loads(raw)["error"]["code"] == refusal.error
    request_id = answer_headers["X-Request-Id"]

    found = _of_request(gateway, request_id)
    assert len(found) == 1, found
    event = found[0]
    assert event["action"] == refusal.action
    assert event["outcome"] == "failure"
    assert event["details"]["status"] == refusal.status
    assert event["details"]["error"] == refusal.error
    assert event["account"] == mine.id
    assert event["actor"]["account"] == mine.id
    assert event["actor"]["type"] == "key"
    assert event["target"] == refusal.target(mine, other)
    # the caller's admins see it; the account it named does not hold it
    assert any(e["id"] == event["id"] for e in _events(gateway, mine.headers, limit="1000"))
    assert all(e["request_id"] != request_id for e in _events(gateway, other.headers))

    line = _access_line(gateway, request_id)
    assert f"principal={event['actor']['id']} " in line, line
    assert f"status={refusal.status} " in line, line
    assert answer_headers.get("Cache-Control") == "no-store", answer_headers


def test_a_refused_read_is_no_event_but_names_its_caller(gateway: Gateway) -> None:
    """``GET /v1/me`` has no action: a 429 there is no event (reads are not audited),
    but it is the caller's answer: its principal in the access log, ``no-store``."""
    tenant = new_tenant(gateway, "read")
    headers = _spent(tenant, tenant)
    status, answer_headers, raw = call(gateway, "GET", "/v1/me", headers=headers)
    assert status == 429, raw
    request_id = answer_headers["X-Request-Id"]
    assert _of_request(gateway, request_id) == []
    assert "principal=ak_" in _access_line(gateway, request_id)
    assert answer_headers.get("Cache-Control") == "no-store"


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("nfyio_not_a_key_" + "x" * 32), {"X-API-Key": "wrong"}],
    ids=["no credential", "unknown bearer", "unknown api key"],
)
def test_a_request_that_did_not_authenticate_is_no_event(
    gateway: Gateway, headers: dict[str, str]
) -> None:
    body = {"username": f"eve-{uuid.uuid4().hex[:6]}", "password": "Passw0rd-123!x"}
    status, answer_headers, _ = call(gateway, "POST", "/v1/users", headers=headers, body=body)
    assert status == 401
    request_id = answer_headers["X-Request-Id"]
    assert _of_request(gateway, request_id) == []
    assert "principal=- " in _access_line(gateway, request_id)
