"""OAuth 2.0 against the real gateway: the seed's flows, errors, revocation, introspection."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from typing import Any

import jwt
import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import (
    ADMIN,
    Reply,
    Setup,
    basic,
    call,
    honouring_slow_down,
    make_setup,
)


@pytest.fixture
def setup(gateway: Gateway) -> Setup:
    return make_setup(gateway)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def curl(*args: str) -> Any:
    out = subprocess.run(
        ["curl", "-sS", "--fail-with-body", *args], capture_output=True, check=True
    )
    return json.loads(out.stdout)


def test_seed_curl_flows(setup: Setup, gateway: Gateway) -> None:
    api = gateway.api_url
    # 1. Password grant.
    tokens = curl(
        "-X", "POST", f"{api}/oauth/token",
        "-H", "Content-Type: application/x-www-form-urlencoded",
        "-d", "grant_type=password",
        "-d", f"username={setup.username}",
        "--data-urlencode", f"password={setup.password}",
        "-d", f"client_id={setup.client_id}",
        "-d", f"client_secret={setup.client_secret}",
    )  # fmt: skip
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert tokens["refresh_token"].startswith("rt_")
    assert tokens["scope"] == "read:buckets read:objects write:objects"
    # 2. The JWT on /v1/buckets.
    bucket = f"oauth-{uuid.uuid4().hex[:12]}"
    gateway.client().create_bucket(Bucket=bucket)
    # limit=1000: the session's shared gateway holds more buckets than the first page's 50
    listed = curl(
        f"{api}/v1/buckets?limit=1000", "-H", f"Authorization: Bearer {tokens['access_token']}"
    )
    assert bucket in json.dumps(listed)
    # 3. Refresh grant: new access token and new refresh token; the old one is spent.
    refreshed = curl(
        "-X", "POST", f"{api}/oauth/token",
        "-d", "grant_type=refresh_token",
        "-d", f"refresh_token={tokens['refresh_token']}",
        "-d", f"client_id={setup.client_id}",
        "-d", f"client_secret={setup.client_secret}",
    )  # fmt: skip
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert refreshed["access_token"] != tokens["access_token"]
    again = setup.token(
        grant_type="refresh_token", refresh_token=tokens["refresh_token"], **setup.creds()
    )
    assert again.status == 400 and again.json()["error"] == "invalid_grant"


def test_token_response_headers_and_claims(setup: Setup, gateway: Gateway) -> None:
    reply = setup.token(
        grant_type="password", username=setup.username, password=setup.password, **setup.creds()
    )
    assert reply.headers["Cache-Control"] == "no-store" and reply.headers["Pragma"] == "no-cache"
    token = reply.json()["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and header["typ"] == "at+jwt" and header["kid"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) >= {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope"}
    assert claims["sub"] == setup.user_id and claims["client_id"] == setup.client_id
    metadata = call(f"{gateway.api_url}/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == claims["iss"]
    assert metadata["token_endpoint"] == f"{claims['iss']}/oauth/token"
    jwks = call(f"{gateway.api_url}/.well-known/jwks.json").json()
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    public = jwt.PyJWK(key).key
    verified = jwt.decode(token, public, algorithms=["RS256"], audience=claims["aud"])
    assert verified["jti"] == claims["jti"]


def test_basic_client_auth_with_form_encoded_credentials(setup: Setup) -> None:
    reply = call(
        f"{setup.gateway.api_url}/oauth/token",
        "POST",
        form={"grant_type": "password", "username": setup.username, "password": setup.password},
        headers=basic(setup.client_id, setup.client_secret),
    )
    assert reply.status == 200, reply.body


@pytest.mark.parametrize(
    ("case", "status", "error"),
    [
        ("no grant_type", 400, "invalid_request"),
        ("json body", 400, "invalid_request"),
        ("repeated parameter", 400, "invalid_request"),
        ("basic and body secret", 400, "invalid_request"),
        ("no client auth", 401, "invalid_client"),
        ("wrong client secret", 401, "invalid_client"),
        ("unknown client", 401, "invalid_client"),
        ("wrong password", 400, "invalid_grant"),
        ("unknown refresh token", 400, "invalid_grant"),
        ("unsupported grant", 400, "unsupported_grant_type"),
        ("unknown scope", 400, "invalid_scope"),
        ("no requested scope held", 400, "invalid_scope"),
        ("client_credentials not allowed", 400, "unauthorized_client"),
    ],
)
def test_token_errors(setup: Setup, case: str, status: int, error: str) -> None:
    url = f"{setup.gateway.api_url}/oauth/token"
    login = {"grant_type": "password", "username": setup.username, "password": setup.password}
    creds = setup.creds()

    def password_grant(form: dict[str, str]) -> Reply:
        """Past the password throttle, whose address bucket the failed logins of every
        test on this gateway fill: a block is waited out, then the grant is answered."""
        return honouring_slow_down(lambda: call(url, "POST", form=form))

    if case == "no grant_type":
        reply = call(url, "POST", form=creds)
    elif case == "json body":
        reply = call(url, "POST", body={**login, **creds})
    elif case == "repeated parameter":
        body = "grant_type=password&grant_type=password&" + "&".join(
            f"{k}={v}" for k, v in {**creds, "username": setup.username}.items()
        )
        reply = call(url, "POST", raw_form=body)
    elif case == "basic and body secret":
        reply = call(url, "POST", form={**login, **creds}, headers=basic(*creds.values()))
    elif case == "no client auth":
        reply = call(url, "POST", form=login)
    elif case == "wrong client secret":
        reply = call(url, "POST", form={**login, **creds, "client_secret": "cs_wrong"})
    elif case == "unknown client":
        reply = call(url, "POST", form=login, headers=basic("cl_NOPE", "cs_nope"))
    elif case == "wrong password":
        reply = password_grant({**login, **creds, "password": "nope-nope"})
    elif case == "unknown refresh token":
        form = {"grant_type": "refresh_token", "refresh_token": "rt_unknown", **creds}
        reply = call(url, "POST", form=form)
    elif case == "unsupported grant":
        reply = call(url, "POST", form={"grant_type": "authorization_code", **creds})
    elif case == "unknown scope":
        reply = password_grant({**login, **creds, "scope": "read:everything"})
    elif case == "no requested scope held":
        reply = password_grant({**login, **creds, "scope": "admin"})
    else:
        reply = call(url, "POST", form={"grant_type": "client_credentials", **creds})
    assert reply.status == status, reply.body
    assert reply.json()["error"] == error
    assert "error_description" in reply.json()
    assert reply.headers["Cache-Control"] == "no-store"
    if status == 401:
        assert reply.headers["WWW-Authenticate"].startswith("Basic")


def test_requested_scope_narrows_the_token(setup: Setup) -> None:
    tokens = setup.login(scope="read:buckets")
    assert tokens["scope"] == "read:buckets"
    # a scope the user or client lacks is left out of the token, and the response says so
    widened = setup.login(scope="read:buckets admin")
    assert widened["scope"] == "read:buckets"
    me = call(f"{setup.gateway.api_url}/v1/me", headers=bearer(tokens["access_token"])).json()
    assert me["scopes"] == ["read:buckets"]


def test_refresh_reuse_revokes_the_family_at_once(setup: Setup) -> None:
    api = setup.gateway.api_url
    first = setup.login()
    second = setup.token(
        grant_type="refresh_token", refresh_token=first["refresh_token"], **setup.creds()
    ).json()
    assert call(f"{api}/v1/me", headers=bearer(second["access_token"])).status == 200
    reuse = setup.token(
        grant_type="refresh_token", refresh_token=first["refresh_token"], **setup.creds()
    )
    assert reuse.status == 400 and reuse.json()["error"] == "invalid_grant"
    # Every token of the family is dead: the newest refresh token and both access tokens.
    latest = setup.token(
        grant_type="refresh_token", refresh_token=second["refresh_token"], **setup.creds()
    )
    assert latest.status == 400 and latest.json()["error"] == "invalid_grant"
    for access in (first["access_token"], second["access_token"]):
        reply = call(f"{api}/v1/me", headers=bearer(access))
        assert reply.status == 401 and reply.json()["error"]["code"] == "InvalidToken"
    # A fresh login is unaffected.
    assert call(f"{api}/v1/me", headers=bearer(setup.login()["access_token"])).status == 200


def test_refresh_by_another_client_is_refused(setup: Setup, gateway: Gateway) -> None:
    other = make_setup(gateway)
    tokens = setup.login()
    reply = other.token(
        grant_type="refresh_token", refresh_token=tokens["refresh_token"], **other.creds()
    )
    assert reply.status == 400 and reply.json()["error"] == "invalid_grant"


def _introspect(setup: Setup, token: str) -> dict[str, Any]:
    reply = call(
        f"{setup.gateway.api_url}/oauth/introspect",
        "POST",
        form={"token": token},
        headers=basic(setup.client_id, setup.client_secret),
    )
    assert reply.status == 200 and reply.headers["Cache-Control"] == "no-store"
    result: dict[str, Any] = reply.json()
    return result


def _revoke(setup: Setup, token: str, hint: str | None = None) -> int:
    form = {"token": token, **setup.creds()}
    if hint:
        form["token_type_hint"] = hint
    return call(f"{setup.gateway.api_url}/oauth/revoke", "POST", form=form).status


def test_introspection_and_revocation_of_access_tokens(setup: Setup) -> None:
    api = setup.gateway.api_url
    tokens = setup.login()
    info = _introspect(setup, tokens["access_token"])
    assert info["active"] is True and info["username"] == setup.username
    assert info["client_id"] == setup.client_id and info["sub"] == setup.user_id
    assert _revoke(setup, tokens["access_token"], "access_token") == 200
    assert _introspect(setup, tokens["access_token"]) == {"active": False}
    assert call(f"{api}/v1/me", headers=bearer(tokens["access_token"])).status == 401
    # The refresh token of the session is not affected by revoking one access token.
    assert _introspect(setup, tokens["refresh_token"])["active"] is True


def test_revoking_a_refresh_token_stops_the_family(setup: Setup) -> None:
    api = setup.gateway.api_url
    tokens = setup.login()
    refresh_info = _introspect(setup, tokens["refresh_token"])
    assert refresh_info["active"] is True and refresh_info["token_type"] == "refresh_token"
    assert _revoke(setup, tokens["refresh_token"]) == 200
    assert _introspect(setup, tokens["refresh_token"]) == {"active": False}
    assert _introspect(setup, tokens["access_token"]) == {"active": False}
    assert call(f"{api}/v1/me", headers=bearer(tokens["access_token"])).status == 401
    again = setup.token(
        grant_type="refresh_token", refresh_token=tokens["refresh_token"], **setup.creds()
    )
    assert again.json()["error"] == "invalid_grant"


def test_revocation_is_silent_for_unknown_and_foreign_tokens(
    setup: Setup, gateway: Gateway
) -> None:
    assert _revoke(setup, "rt_unknown") == 200
    assert _revoke(setup, "not-a-token") == 200
    other = make_setup(gateway)
    theirs = other.login()
    assert _revoke(setup, theirs["refresh_token"]) == 200
    assert _introspect(other, theirs["refresh_token"])["active"] is True
    reply = call(f"{gateway.api_url}/oauth/revoke", "POST", form={"token": "x"})
    assert reply.status == 401 and reply.json()["error"] == "invalid_client"


def test_introspection_of_garbage_and_used_tokens(setup: Setup) -> None:
    tokens = setup.login()
    setup.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"], **setup.creds())
    assert _introspect(setup, tokens["refresh_token"]) == {"active": False}
    assert _introspect(setup, "eyJ.bad.token") == {"active": False}
    assert _introspect(setup, "whatever") == {"active": False}


def test_disabled_user_tokens_stop_at_once_on_both_listeners(
    setup: Setup, gateway: Gateway
) -> None:
    api = gateway.api_url
    tokens = setup.login()
    assert call(f"{gateway.s3_url}/", headers=bearer(tokens["access_token"])).status == 200
    patched = call(
        f"{api}/v1/users/{setup.user_id}", "PATCH", body={"disabled": True}, headers=ADMIN
    )
    assert patched.status == 200 and patched.json()["disabled"] is True
    reply = call(f"{api}/v1/me", headers=bearer(tokens["access_token"]))
    assert reply.status == 401 and reply.json()["error"]["code"] == "InvalidToken"
    s3 = call(f"{gateway.s3_url}/", headers=bearer(tokens["access_token"]))
    assert s3.status in (401, 403) and b"InvalidToken" in s3.body
    login = setup.token(
        grant_type="password", username=setup.username, password=setup.password, **setup.creds()
    )
    assert login.json()["error"] == "invalid_grant"
    refresh = setup.token(
        grant_type="refresh_token", refresh_token=tokens["refresh_token"], **setup.creds()
    )
    assert refresh.json()["error"] == "invalid_grant"


def test_jwt_on_the_s3_listener(setup: Setup, gateway: Gateway) -> None:
    bucket = f"oauth-s3-{uuid.uuid4().hex[:10]}"
    gateway.client().create_bucket(Bucket=bucket)
    full = setup.login()
    listing = call(f"{gateway.s3_url}/", headers=bearer(full["access_token"]))
    assert listing.status == 200 and f"<Name>{bucket}</Name>".encode() in listing.body
    narrow = setup.login(scope="read:objects")
    denied = call(f"{gateway.s3_url}/", headers=bearer(narrow["access_token"]))
    assert denied.status == 403 and b"<Code>AccessDenied</Code>" in denied.body


def test_client_credentials_grant(gateway: Gateway) -> None:
    service = make_setup(
        gateway, client_scopes=["read:buckets"], grant_types=["client_credentials"]
    )
    reply = service.token(grant_type="client_credentials", **service.creds())
    assert reply.status == 200 and "refresh_token" not in reply.json()
    me = call(f"{gateway.api_url}/v1/me", headers=bearer(reply.json()["access_token"])).json()
    assert me["kind"] == "client" and me["subject"] == service.client_id
    denied = service.token(
        grant_type="password",
        username=service.username,
        password=service.password,
        **service.creds(),
    )
    assert denied.json()["error"] == "unauthorized_client"


def test_users_and_clients_admin_api(setup: Setup, gateway: Gateway) -> None:
    api = gateway.api_url
    tokens = setup.login()
    # A non-admin principal is refused.
    forbidden = call(f"{api}/v1/users", headers=bearer(tokens["access_token"]))
    assert forbidden.status == 403 and forbidden.json()["error"]["code"] == "ScopeRequired"
    users = call(f"{api}/v1/users?limit=1000", headers=ADMIN).json()["users"]
    assert setup.user_id in {u["id"] for u in users}
    assert all("password" not in json.dumps(u) for u in users)
    dup = call(
        f"{api}/v1/users",
        "POST",
        body={"username": setup.username.upper(), "password": "another-pass", "scopes": ["admin"]},
        headers=ADMIN,
    )
    assert dup.status == 409 and dup.json()["error"]["code"] == "Conflict"
    bad = call(
        f"{api}/v1/users",
        "POST",
        body={"username": "x", "password": "short", "scopes": ["admin"]},
        headers=ADMIN,
    )
    assert bad.status == 400 and bad.json()["error"]["details"]["field"] == "password"
    scopes = call(
        f"{api}/v1/users/{setup.user_id}", "PATCH", body={"scopes": ["read:objects"]}, headers=ADMIN
    )
    assert scopes.json()["scopes"] == ["read:objects"]
    me = call(f"{api}/v1/me", headers=bearer(tokens["access_token"])).json()
    assert me["scopes"] == ["read:objects"]  # the live token lost read:buckets at once
    # Every test on this gateway makes OAuth clients: in time, more than a default page (50).
    clients = call(f"{api}/v1/clients?limit=1000", headers=ADMIN).json()["clients"]
    assert setup.client_id in {c["client_id"] for c in clients}
    assert all("client_secret" not in c for c in clients)
    assert call(f"{api}/v1/clients/{setup.client_id}", "DELETE", headers=ADMIN).status == 204
    assert call(f"{api}/v1/me", headers=bearer(tokens["access_token"])).status == 401
    assert call(f"{api}/v1/users/{setup.user_id}", "DELETE", headers=ADMIN).status == 204
    assert call(f"{api}/v1/users/{setup.user_id}", headers=ADMIN).status == 404


def test_access_token_lifetime_and_refresh_after_time(setup: Setup) -> None:
    tokens = setup.login()
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 3600
    assert abs(claims["iat"] - time.time()) < 60


def test_example_script_runs(gateway: Gateway) -> None:
    """examples/oauth-flow.sh, unchanged, against the real gateway."""
    import os
    from pathlib import Path

    from tests.e2e.gateway_process import ROOT_SECRET

    # The script signs in once, with curl and no retry: first wait out a block of the
    # address that the failed logins of other tests on this gateway may have left.
    make_setup(gateway).login()
    script = Path(__file__).resolve().parents[2] / "examples" / "oauth-flow.sh"
    env = {
        **os.environ,
        "NFYIO_ADMIN_SECRET": ROOT_SECRET,
        "NFYIO_API_URL": gateway.api_url,
        "AWS_ENDPOINT_URL": gateway.s3_url,
    }
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "refused: 401" in done.stdout
