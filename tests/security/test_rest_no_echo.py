"""Class: a ``/v1`` error never echoes what the client sent (docs/api.md, "Messages never
echo a submitted value"). A secret pasted into the wrong field must not come back in a
response, nor reach the gateway's log.

Before: ``POST /v1/users`` and ``PATCH /v1/users/{id}`` with an unknown scope answered
"unknown scopes: sk_...", ``POST /v1/clients`` the same for ``scopes`` and "unknown
grant types: sk_... (supported: ...)" for ``grant_types``: the API put the text of the
identity validators' errors, which quoted the value, into its answer.

One row per endpoint and validated field: each sends a marker shaped like a secret
(``sk_PASTED_SECRET_...``, made invalid for the field where the marker alone would be a
valid value) and expects 400 ``ValidationError`` naming the field, with the marker
nowhere in the answer (body or headers) or the log. The validators of
``gateway.identity`` are held to the same in-process, whoever calls them (the CLI too).

Out of scope: the names of unknown members and query parameters, which the answer names
on purpose (``details.field``), and a name mixing scripts, whose message names one
character of each script (docs/api.md, "Names are in one script").
"""

from __future__ import annotations

import json
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.identity import key_rules
from gateway.identity.accounts import validate_email
from gateway.identity.clients import validate_grant_types
from gateway.identity.models import parse_instant
from gateway.identity.users import validate_password, validate_roles, validate_username
from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import ADMIN, api_json, call, make_key

MARKER = f"sk_PASTED_SECRET_{uuid.uuid4().hex}"
"""Shaped like an access key's secret; unique to this run, so the log is searched for it
alone."""
TOO_LONG = MARKER * 40
"""Longer than any name (128), username (128) or password (1024) may be."""
CONTROL = MARKER + "\x07"
"""Any field's text with a control character: a name no validator accepts."""
PATTERN_MARKER = MARKER.lower().replace("_", "")
"""The marker in bucket-name characters, which a bucket pattern may hold."""


@dataclass(frozen=True)
class Row:
    id: str
    method: str
    path: str
    """``{user}``, ``{account}`` and ``{key}`` stand for an existing one's id."""
    field: str
    body: dict[str, Any] | None = None
    sent: str = MARKER
    """What must not come back."""


def _user(**fields: Any) -> dict[str, Any]:
    return {
        "username": f"u{uuid.uuid4().hex[:12]}",
        "password": "password123",
        "scopes": ["read:buckets"],
        **fields,
    }


def _client(**fields: Any) -> dict[str, Any]:
    return {"name": "no-echo", "scopes": ["read:buckets"], **fields}


def _key(**fields: Any) -> dict[str, Any]:
    return {"name": "no-echo", "scopes": ["read:buckets"], **fields}


def _account(**fields: Any) -> dict[str, Any]:
    return {"name": f"no-echo-{uuid.uuid4().hex[:12]}", **fields}


def _query(path: str, name: str, value: str) -> str:
    return f"{path}?{urllib.parse.urlencode({name: value})}"


BODY_ROWS = [
    # POST /v1/access-keys
    Row("key-name-control", "POST", "/v1/access-keys", "name", _key(name=CONTROL)),
    Row("key-name-long", "POST", "/v1/access-keys", "name", _key(name=TOO_LONG)),
    Row("key-name-nfkc", "POST", "/v1/access-keys", "name", _key(name=MARKER + "\uff41")),
    Row("key-scopes", "POST", "/v1/access-keys", "scopes", _key(scopes=[MARKER])),
    Row(
        "key-scopes-one-of",
        "POST",
        "/v1/access-keys",
        "scopes",
        _key(scopes=["read:buckets", MARKER]),
    ),
    Row("key-scopes-twice", "POST", "/v1/access-keys", "scopes", _key(scopes=[MARKER] * 2)),
    Row("key-buckets", "POST", "/v1/access-keys", "buckets", _key(buckets=[MARKER])),
    Row(
        "key-buckets-reversed",
        "POST",
        "/v1/access-keys",
        "buckets",
        _key(buckets=[f"[z-a]{PATTERN_MARKER}"]),
        PATTERN_MARKER,
    ),
    Row("key-expires-at", "POST", "/v1/access-keys", "expires_at", _key(expires_at=MARKER)),
    Row("key-rate-limit", "POST", "/v1/access-keys", "rate_limit", _key(rate_limit=MARKER)),
    Row(
        "key-rate-limit-rate",
        "POST",
        "/v1/access-keys",
        "rate_limit",
        _key(rate_limit={"requests_per_minute": MARKER}),
    ),
    Row(
        "key-rate-limit-member",
        "POST",
        "/v1/access-keys",
        "rate_limit",
        _key(rate_limit={"requests_per_minute": 5, MARKER: 1}),
    ),
    Row(
        "key-rotate-grace",
        "POST",
        "/v1/access-keys/{key}/rotate",
        "grace_seconds",
        {"grace_seconds": MARKER},
    ),
    # POST /v1/users
    Row("user-username", "POST", "/v1/users", "username", _user(username=MARKER + "!")),
    Row("user-username-long", "POST", "/v1/users", "username", _user(username=TOO_LONG)),
    Row("user-password-long", "POST", "/v1/users", "password", _user(password=TOO_LONG)),
    Row("user-password-type", "POST", "/v1/users", "password", _user(password=[MARKER])),
    Row("user-scopes", "POST", "/v1/users", "scopes", _user(scopes=[MARKER])),
    Row("user-scopes-twice", "POST", "/v1/users", "scopes", _user(scopes=[MARKER] * 2)),
    Row("user-roles", "POST", "/v1/users", "roles", _user(roles=[MARKER + "!"])),
    Row("user-roles-twice", "POST", "/v1/users", "roles", _user(roles=[MARKER] * 2)),
    # PATCH /v1/users/{id}
    Row("user-update-scopes", "PATCH", "/v1/users/{user}", "scopes", {"scopes": [MARKER]}),
    Row("user-update-roles", "PATCH", "/v1/users/{user}", "roles", {"roles": [MARKER + "!"]}),
    Row("user-update-password", "PATCH", "/v1/users/{user}", "password", {"password": TOO_LONG}),
    Row("user-update-disabled", "PATCH", "/v1/users/{user}", "disabled", {"disabled": MARKER}),
    # POST /v1/clients
    Row("client-name", "POST", "/v1/clients", "name", _client(name=CONTROL)),
    Row("client-name-long", "POST", "/v1/clients", "name", _client(name=TOO_LONG)),
    Row("client-grant-types", "POST", "/v1/clients", "grant_types", _client(grant_types=[MARKER])),
    Row(
        "client-grant-types-one-of",
        "POST",
        "/v1/clients",
        "grant_types",
        _client(grant_types=["password", MARKER]),
    ),
    Row("client-scopes", "POST", "/v1/clients", "scopes", _client(scopes=[MARKER])),
    Row(
        "client-scopes-one-of",
        "POST",
        "/v1/clients",
        "scopes",
        _client(scopes=["read:buckets", MARKER]),
    ),
    # POST /v1/accounts, PATCH /v1/accounts/{id} (the root key)
    Row("account-name", "POST", "/v1/accounts", "name", _account(name=CONTROL)),
    Row("account-name-long", "POST", "/v1/accounts", "name", _account(name=TOO_LONG)),
    Row("account-email", "POST", "/v1/accounts", "email", _account(email=MARKER)),
    Row("account-email-at", "POST", "/v1/accounts", "email", _account(email=MARKER + "@")),
    Row(
        "account-email-control",
        "POST",
        "/v1/accounts",
        "email",
        _account(email=f"{MARKER}@example.com\x07"),
    ),
    Row(
        "account-rate-limit",
        "POST",
        "/v1/accounts",
        "rate_limit",
        _account(rate_limit={"requests_per_minute": MARKER}),
    ),
    Row(
        "account-update-rate-limit",
        "PATCH",
        "/v1/accounts/{account}",
        "rate_limit",
        {"rate_limit": {"requests_per_minute": 5, "burst": MARKER}},
    ),
]

QUERY_ROWS = [
    Row("audit-action", "GET", _query("/v1/audit-events", "action", MARKER), "action"),
    Row("audit-bucket", "GET", _query("/v1/audit-events", "bucket", MARKER + "!"), "bucket"),
    Row("audit-since", "GET", _query("/v1/audit-events", "since", MARKER), "since"),
    Row("audit-until", "GET", _query("/v1/audit-events", "until", MARKER), "until"),
    Row("keys-mine", "GET", _query("/v1/access-keys", "mine", MARKER), "mine"),
    *[
        Row(f"{name}-{parameter}", "GET", _query(f"/v1/{name}", parameter, MARKER), parameter)
        for name in ("access-keys", "users", "clients", "accounts", "audit-events")
        for parameter in ("limit", "cursor")
    ],
]


@pytest.fixture(scope="module")
def targets(gateway: Gateway) -> dict[str, str]:
    """An existing user, account and access key for the rows that change one."""
    user = api_json(gateway, "POST", "/v1/users", body=_user(), expect=201)
    account = api_json(gateway, "POST", "/v1/accounts", body=_account(), expect=201)
    key = make_key(gateway, name="no-echo", scopes=["read:buckets"])
    return {"user": user["id"], "account": account["id"], "key": key["id"]}


@pytest.mark.parametrize("row", BODY_ROWS + QUERY_ROWS, ids=lambda row: row.id)
def test_a_refused_value_is_never_echoed(
    gateway: Gateway, targets: dict[str, str], row: Row
) -> None:
    status, headers, raw = call(
        gateway, row.method, row.path.format(**targets), headers=ADMIN, body=row.body
    )
    text = raw.decode(errors="replace")
    assert status == 400, text
    assert row.sent not in text, text
    assert row.sent not in json.dumps(headers), headers
    error = json.loads(raw)["error"]
    assert (error["code"], error["details"].get("field")) == ("ValidationError", row.field), error
    assert row.sent not in gateway.log(), "the value reached the gateway's log"


VALIDATOR_CALLS: list[tuple[str, Callable[[], object]]] = [
    ("name-control", lambda: key_rules.validate_name(CONTROL)),
    ("name-long", lambda: key_rules.validate_name(TOO_LONG)),
    ("name-nfkc", lambda: key_rules.validate_name(MARKER + "\uff41")),
    ("scopes", lambda: key_rules.validate_scopes([MARKER])),
    ("scopes-one-of", lambda: key_rules.validate_scopes(["admin", MARKER])),
    ("scopes-string", lambda: key_rules.validate_scopes(MARKER)),
    ("buckets", lambda: key_rules.validate_buckets([MARKER])),
    ("buckets-one-of", lambda: key_rules.validate_buckets(["logs-*", MARKER])),
    ("buckets-reversed", lambda: key_rules.validate_buckets(["[z-a]" + PATTERN_MARKER])),
    ("buckets-string", lambda: key_rules.validate_buckets(MARKER)),
    ("explicit-key-id", lambda: key_rules.validate_explicit_key_id(CONTROL)),
    ("explicit-secret", lambda: key_rules.validate_explicit_secret(MARKER + " ")),
    ("grant-types", lambda: validate_grant_types([MARKER])),
    ("grant-types-one-of", lambda: validate_grant_types(["password", MARKER])),
    ("grant-types-string", lambda: validate_grant_types(MARKER)),
    ("username", lambda: validate_username(MARKER + "!")),
    ("password", lambda: validate_password(TOO_LONG)),
    ("roles", lambda: validate_roles([MARKER + "!"])),
    ("roles-twice", lambda: validate_roles([MARKER, MARKER])),
    ("email", lambda: validate_email(MARKER)),
    ("email-nfkc", lambda: validate_email(f"{MARKER}\uff41@example.com")),
    ("instant", lambda: parse_instant(MARKER, "'expires_at'")),
]


@pytest.mark.parametrize(
    "check", [c for _, c in VALIDATOR_CALLS], ids=[name for name, _ in VALIDATOR_CALLS]
)
def test_identity_validators_never_quote_the_value(check: Callable[[], object]) -> None:
    """The API answers these messages as they are, and the CLI prints them."""
    with pytest.raises((ValueError, TypeError)) as caught:
        check()
    assert MARKER not in str(caught.value), caught.value
    assert PATTERN_MARKER not in str(caught.value), caught.value
