"""Two accounts on one gateway, each with its admin key, users and OAuth clients: what one
account's credentials learn of, or do to, the other's, by the doors the other tests of
accounts do not cover (``tests/e2e/test_accounts_rest.py`` and
``tests/e2e/test_access_accounts.py`` hold the rest)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import Reply, basic
from tests.e2e.oauth_util import call as oauth_call
from tests.e2e.rest_util import ADMIN, api_json, bearer, call
from tests.e2e.tenants import Tenant, new_tenant


@pytest.fixture(scope="module")
def gateway(unthrottled_gateway: Gateway) -> Gateway:
    """Its own gateway: the sign-ins below never wait for another module's failed ones."""
    return unthrottled_gateway


@pytest.fixture
def alice(gateway: Gateway) -> Tenant:
    return new_tenant(gateway, "alice")


@pytest.fixture
def bob(gateway: Gateway) -> Tenant:
    return new_tenant(gateway, "bob")


PASSWORD = "tenant-password-1"


def _user(gateway: Gateway, tenant: Tenant) -> dict[str, Any]:
    made: dict[str, Any] = api_json(
        gateway,
        "POST",
        "/v1/users",
        headers=tenant.headers,
        body={"username": f"u-{uuid.uuid4().hex[:10]}", "password": PASSWORD, "scopes": ["admin"]},
        expect=201,
    )
    return made


def _client(gateway: Gateway, tenant: Tenant) -> dict[str, Any]:
    made: dict[str, Any] = api_json(
        gateway,
        "POST",
        "/v1/clients",
        headers=tenant.headers,
        body={
            "name": "app",
            "grant_types": ["password", "refresh_token", "client_credentials"],
            "scopes": ["admin"],
        },
        expect=201,
    )
    return made


def _oauth(gateway: Gateway, path: str, client: dict[str, Any], **form: str) -> Reply:
    return oauth_call(
        f"{gateway.api_url}{path}",
        "POST",
        form=form,
        headers=basic(client["client_id"], client["client_secret"]),
    )


def _console(gateway: Gateway, path: str, **options: Any) -> Reply:
    headers = {"Origin": gateway.api_url, "X-Nfyio-Console": "1", **options.pop("headers", {})}
    return oauth_call(f"{gateway.api_url}{path}", "POST", headers=headers, **options)


def test_the_console_signs_in_the_users_of_every_account(
    gateway: Gateway, alice: Tenant, bob: Tenant
) -> None:
    """The console's client belongs to the system account and signs in everyone's users:
    its tokens act for the user's account, and only there (they were refused outright
    for any account but the system's)."""
    user = _user(gateway, bob)
    signed_in = _console(
        gateway, "/console/session", body={"username": user["username"], "password": PASSWORD}
    )
    assert signed_in.status == 200, signed_in.body
    token = signed_in.json()["access_token"]
    me = api_json(gateway, "GET", "/v1/me", headers=bearer(token))
    assert me["kind"] == "user" and me["account"]["id"] == bob.id
    assert api_json(gateway, "GET", f"/v1/users/{user['id']}", headers=bearer(token))["id"]
    # What the console's pages call, with the other account's ids: nothing of alice's.
    alices = _user(gateway, alice)
    status, _, _ = call(gateway, "GET", f"/v1/users/{alices['id']}", headers=bearer(token))
    assert status == 404
    status, _, _ = call(gateway, "GET", f"/v1/access-keys/{alice.key_id}", headers=bearer(token))
    assert status == 404
    keys = api_json(gateway, "GET", "/v1/access-keys", headers=bearer(token))["access_keys"]
    assert {k["account_id"] for k in keys} == {bob.id}
    # A key minted from the console acts for bob's account too.
    minted = api_json(
        gateway,
        "POST",
        "/v1/access-keys",
        headers=bearer(token),
        body={"name": "from the console", "scopes": ["read:buckets"]},
        expect=201,
    )
    assert minted["account_id"] == bob.id
    # A reload renews the session from its cookie, and the new token works as well.
    cookie = signed_in.headers["Set-Cookie"].split(";")[0]
    renewed = _console(gateway, "/console/session/refresh", headers={"Cookie": cookie})
    assert renewed.status == 200, renewed.body
    me = api_json(gateway, "GET", "/v1/me", headers=bearer(renewed.json()["access_token"]))
    assert me["account"]["id"] == bob.id


def test_introspection_tells_a_client_only_of_its_own_accounts_tokens(
    gateway: Gateway, alice: Tenant, bob: Tenant
) -> None:
    """RFC 7662 2.2: a token the caller may not introspect is ``{"active": false}``.
    Another account's tokens are such tokens: alice's client learned bob's username,
    user, session and client ids and scopes from them."""
    user, bobs_client, alices_client = (
        _user(gateway, bob),
        _client(gateway, bob),
        _client(gateway, alice),
    )
    login = _oauth(
        gateway,
        "/oauth/token",
        bobs_client,
        grant_type="password",
        username=user["username"],
        password=PASSWORD,
    )
    assert login.status == 200, login.body
    machine = _oauth(gateway, "/oauth/token", bobs_client, grant_type="client_credentials")
    assert machine.status == 200, machine.body
    console = _console(
        gateway, "/console/session", body={"username": user["username"], "password": PASSWORD}
    )
    assert console.status == 200, console.body
    tokens = [
        login.json()["access_token"],
        login.json()["refresh_token"],
        machine.json()["access_token"],
        console.json()["access_token"],
    ]
    for token in tokens:
        foreign = _oauth(gateway, "/oauth/introspect", alices_client, token=token)
        assert foreign.status == 200 and foreign.json() == {"active": False}, foreign.body
        own = _oauth(gateway, "/oauth/introspect", bobs_client, token=token)
        assert own.status == 200 and own.json()["active"] is True, own.body
    assert own.json()["username"] == user["username"]  # the console's token: bob's user


def test_bucket_paths_tell_missing_buckets_from_other_accounts(
    gateway: Gateway, alice: Tenant, bob: Tenant
) -> None:
    """A bucket no one has is 404 on every ``/v1/buckets/{name}`` path, for a tenant as
    for the system account (it was 403 "belongs to another account"); another account's
    bucket stays 403, as S3 answers."""
    missing = f"missing-{uuid.uuid4().hex[:12]}"
    theirs = f"theirs-{uuid.uuid4().hex[:12]}"
    api_json(gateway, "POST", "/v1/buckets", headers=bob.headers, body={"name": theirs}, expect=201)
    paths = [
        ("GET", "/objects", None),
        ("GET", "/objects/content?key=k", None),
        ("DELETE", "/objects/content?key=k", None),
        ("POST", "/objects/presign", {"key": "k"}),
        ("DELETE", "", None),
    ]
    for method, tail, body in paths:
        for headers in (alice.headers, ADMIN):
            status, _, raw = call(
                gateway, method, f"/v1/buckets/{missing}{tail}", headers=headers, body=body
            )
            # The system account's presign too (tests/security/test_rest_missing_bucket.py)
            assert status == 404, (method, tail, raw)
        status, _, raw = call(
            gateway, method, f"/v1/buckets/{theirs}{tail}", headers=alice.headers, body=body
        )
        assert status == 403 and b"another account" in raw, (method, tail, raw)


def test_a_console_sessions_reuse_is_in_its_users_account_log(
    gateway: Gateway, bob: Tenant
) -> None:
    """A console cookie presented twice (a stolen session) revokes the family; bob's
    admins read it in bob's log. It landed in the system account's log (the console's
    client's account), out of bob's sight and in the system account's admins'."""
    user = _user(gateway, bob)
    signed_in = _console(
        gateway, "/console/session", body={"username": user["username"], "password": PASSWORD}
    )
    assert signed_in.status == 200, signed_in.body
    cookie = {"Cookie": signed_in.headers["Set-Cookie"].split(";")[0]}
    assert _console(gateway, "/console/session/refresh", headers=cookie).status == 200
    assert _console(gateway, "/console/session/refresh", headers=cookie).status == 401
    events = api_json(gateway, "GET", "/v1/audit-events?limit=100", headers=bob.headers)
    session_events = {e["action"] for e in events["events"] if e["target"]["type"] == "session"}
    assert session_events == {"refresh_token.reuse_detected", "session.revoke"}
