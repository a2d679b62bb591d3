"""OAuth 2.0 conformance found wanting by an adversarial audit, each over real HTTP to a
real gateway: RFC 6749 (client authentication, errors, only POST, refresh-token reuse),
RFC 6750 (the resource's challenges), RFC 7517 and RFC 8414 (what is published), and
input that used to make a 500.

The module starts its own gateway with a throttle that never blocks: several tests fail
a client authentication on purpose, and on a shared gateway those failures would block
the address of every other test (``client-ip:127.0.0.1``).
"""

from __future__ import annotations

import base64
import gzip
import http.client
import re
import sqlite3
import urllib.parse

import jwt
import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import Reply, Setup, basic, call, make_setup

# RFC 6749 5.2 (and RFC 6750 3): error_description is %x20-21 / %x23-5B / %x5D-7E.
DESCRIPTION = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]*")
ENDPOINTS = ("/oauth/token", "/oauth/revoke", "/oauth/introspect")


@pytest.fixture(scope="module")
def gateway(unthrottled_gateway: Gateway) -> Gateway:
    """Its own gateway: failed logins on purpose never block."""
    return unthrottled_gateway


@pytest.fixture
def setup(gateway: Gateway) -> Setup:
    return make_setup(gateway)


def raw(port: int, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Reply:
    """One request with exactly these header values (``str`` values are sent as
    Latin-1, so a header byte outside ASCII can be sent)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        response = conn.getresponse()
        return Reply(response.status, dict(response.headers), response.read())
    finally:
        conn.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def segment(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def assert_oauth_error(reply: Reply, status: int, error: str) -> None:
    assert reply.status == status, reply.body
    body = reply.json()
    assert body["error"] == error, body
    assert DESCRIPTION.fullmatch(body["error_description"]), body
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.headers["Pragma"] == "no-cache"


# --- RFC 6749 2.3.1: Basic credentials ---------------------------------------------------


@pytest.mark.parametrize("credentials", ["\xe9", "\xff\xfe", "Y2xf\xe9OnNlY3JldA=="])
def test_basic_credentials_outside_ascii_are_invalid_client(
    gateway: Gateway, credentials: str
) -> None:
    """Was a 500 (base64 raises a plain ValueError for a non-ASCII string)."""
    body = b"grant_type=client_credentials"
    reply = raw(
        gateway.api_port,
        "POST",
        "/oauth/token",
        {
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        body,
    )
    assert_oauth_error(reply, 401, "invalid_client")
    assert reply.headers["WWW-Authenticate"].startswith("Basic ")


@pytest.mark.parametrize("compressed", [True, False])
def test_a_content_encoded_form_is_invalid_request(
    gateway: Gateway, setup: Setup, compressed: bool
) -> None:
    """A corrupt gzip body was a 500 (aiohttp decompresses, then fails reading); the
    API listener never decompresses, so a valid gzip body is refused too."""
    form = urllib.parse.urlencode({"grant_type": "client_credentials", **setup.creds()})
    body = gzip.compress(form.encode()) if compressed else b"not gzip at all"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Content-Encoding": "gzip",
    }
    reply = raw(gateway.api_port, "POST", "/oauth/token", headers, body)
    assert_oauth_error(reply, 400, "invalid_request")


@pytest.mark.parametrize(
    ("form", "credentials", "error"),
    [
        ({"client_id": "cl_\x00", "client_secret": "x"}, None, "invalid_request"),
        ({"username": "u\x00", "password": "p"}, "valid", "invalid_request"),
        ({}, ("cl_\x00", "x"), "invalid_client"),
    ],
)
def test_a_nul_in_a_looked_up_parameter_is_refused_before_the_store(
    pg_gateway: Gateway,
    form: dict[str, str],
    credentials: tuple[str, str] | str | None,
    error: str,
) -> None:
    """A NUL in a client id or username reached the state store, and PostgreSQL refuses
    NUL in text: a 500. (A token or password with one is only hashed: no refusal.)"""
    gateway = pg_gateway
    setup = make_setup(gateway)
    grant = "password" if "username" in form else "client_credentials"
    headers = {}
    if credentials == "valid":
        headers = basic(setup.client_id, setup.client_secret)
    elif isinstance(credentials, tuple):
        headers = basic(*credentials)
    reply = call(
        f"{gateway.api_url}/oauth/token",
        "POST",
        form={"grant_type": grant, **form},
        headers=headers,
    )
    assert_oauth_error(reply, 401 if error == "invalid_client" else 400, error)


# --- JWT header: the kid selects one of our keys or nothing ------------------------------


@pytest.mark.parametrize("kid", ["\\ud800", "a\\u0000b", "k" * 200, "kid_../../x"])
def test_a_kid_no_key_of_ours_can_have_is_an_invalid_token(
    gateway: Gateway, setup: Setup, kid: str
) -> None:
    """A lone surrogate in ``kid`` (JSON's ``\\ud800``) was a 500 on both listeners,
    at introspection and at revocation: it reached the state store, which cannot
    encode it."""
    genuine = setup.login()["access_token"]
    _, payload, signature = genuine.split(".")
    header = '{"alg":"RS256","typ":"at+jwt","kid":"' + kid + '"}'
    forged = f"{segment(header)}.{payload}.{signature}"

    on_api = call(f"{gateway.api_url}/v1/me", headers=bearer(forged))
    assert on_api.status == 401 and on_api.json()["error"]["code"] == "InvalidToken"
    assert 'error="invalid_token"' in on_api.headers["WWW-Authenticate"]
    on_s3 = call(f"{gateway.s3_url}/", headers=bearer(forged))
    assert on_s3.status == 403 and b"<Code>InvalidToken</Code>" in on_s3.body
    client = basic(setup.client_id, setup.client_secret)
    info = call(
        f"{gateway.api_url}/oauth/introspect", "POST", form={"token": forged}, headers=client
    )
    assert info.status == 200 and info.json() == {"active": False}
    revoked = call(
        f"{gateway.api_url}/oauth/revoke", "POST", form={"token": forged}, headers=client
    )
    assert revoked.status == 200
    # The genuine token was never affected.
    assert call(f"{gateway.api_url}/v1/me", headers=bearer(genuine)).status == 200


# --- RFC 6749 6 and 10.4: refresh tokens -------------------------------------------------


def test_a_spent_refresh_token_is_reuse_whatever_scope_it_asks(setup: Setup) -> None:
    """The scope check that keeps a bad request from burning a live token answered
    ``invalid_scope`` for a spent one too, before reuse detection could see it: whoever
    held a stolen, spent token could probe without the family being revoked."""
    api = setup.gateway.api_url
    first = setup.login()
    second = setup.token(
        grant_type="refresh_token", refresh_token=first["refresh_token"], **setup.creds()
    )
    assert second.status == 200, second.body
    reuse = setup.token(
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
        scope="admin",
        **setup.creds(),
    )
    assert_oauth_error(reuse, 400, "invalid_grant")
    # The family is revoked: the successor and its access token are dead.
    latest = setup.token(
        grant_type="refresh_token", refresh_token=second.json()["refresh_token"], **setup.creds()
    )
    assert_oauth_error(latest, 400, "invalid_grant")
    assert call(f"{api}/v1/me", headers=bearer(second.json()["access_token"])).status == 401


def test_a_revoked_refresh_token_is_invalid_grant_whatever_scope_it_asks(setup: Setup) -> None:
    tokens = setup.login()
    revoked = call(
        f"{setup.gateway.api_url}/oauth/revoke",
        "POST",
        form={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        headers=basic(setup.client_id, setup.client_secret),
    )
    assert revoked.status == 200
    reply = setup.token(
        grant_type="refresh_token",
        refresh_token=tokens["refresh_token"],
        scope="admin",
        **setup.creds(),
    )
    assert_oauth_error(reply, 400, "invalid_grant")


# --- RFC 6749 5.2: error_description's characters -----------------------------------------


def test_error_descriptions_hold_only_the_characters_rfc_6749_allows(setup: Setup) -> None:
    """Descriptions that echo what the client sent (an unknown scope, a repeated
    parameter's name) carried quotes, backslashes, any Unicode and any length."""
    url = f"{setup.gateway.api_url}/oauth/token"
    creds = basic(setup.client_id, setup.client_secret)
    scope = '"\\\u00e9' + "x" * 5000
    unknown = call(url, "POST", form={"grant_type": "client_credentials", "scope": scope})
    assert_oauth_error(unknown, 401, "invalid_client")  # no client: checked first
    unknown = call(url, "POST", form={"grant_type": "password", "scope": scope, **setup.creds()})
    assert_oauth_error(unknown, 400, "invalid_request")  # no username
    unknown = call(
        url,
        "POST",
        form={
            "grant_type": "password",
            "username": setup.username,
            "password": setup.password,
            "scope": scope,
        },
        headers=creds,
    )
    assert_oauth_error(unknown, 400, "invalid_scope")
    assert len(unknown.json()["error_description"]) <= 256
    # A repeated parameter's name is echoed only when the endpoint reads it (an
    # unrecognised one is ignored, RFC 6749 3.2): tests/security/test_oauth_parameters.py.
    repeated = call(url, "POST", raw_form="grant_type=password&scope=%22&scope=%5C%E2%82%AC")
    assert_oauth_error(repeated, 400, "invalid_request")


def test_an_unknown_scope_is_not_echoed(setup: Setup) -> None:
    """``invalid_scope`` said "Unknown scopes: <what was sent>": a secret pasted into the
    scope field came back (docs/api.md: messages never echo a submitted value). It names
    the scopes there are instead."""
    marker = "sk_PASTED_SECRET_0123456789"
    reply = call(
        f"{setup.gateway.api_url}/oauth/token",
        "POST",
        form={
            "grant_type": "password",
            "username": setup.username,
            "password": setup.password,
            "scope": f"read:objects {marker}",
        },
        headers=basic(setup.client_id, setup.client_secret),
    )
    assert_oauth_error(reply, 400, "invalid_scope")
    assert marker not in reply.body.decode()
    assert "read:objects" in reply.json()["error_description"]


# --- RFC 6749 3.2: only POST, and every answer of an OAuth endpoint is not cached --------


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_get_an_rfc_6749_error_never_cached(
    gateway: Gateway, path: str, method: str
) -> None:
    """Was the ``/v1`` envelope without ``Cache-Control: no-store``."""
    reply = raw(gateway.api_port, method, f"{path}?grant_type=client_credentials", {})
    assert_oauth_error(reply, 405, "invalid_request")
    assert reply.headers["Allow"] == "POST"


# --- RFC 6750 3: the resource's challenges ------------------------------------------------


def test_a_refused_bearer_token_is_challenged_with_invalid_token(
    gateway: Gateway, setup: Setup
) -> None:
    api = gateway.api_url
    none = call(f"{api}/v1/me")
    # RFC 6750 3.1: no error code when the request carried no credential at all.
    assert none.status == 401 and none.headers["WWW-Authenticate"] == 'Bearer realm="nfyio-gateway"'
    tokens = setup.login()
    header, payload, _ = tokens["access_token"].split(".")
    for token in (f"{header}.{payload}.AAAA", "sk_unknown-secret"):
        reply = call(f"{api}/v1/me", headers=bearer(token))
        assert reply.status == 401, reply.body
        challenge = reply.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer realm="nfyio-gateway", error="invalid_token"')
        described = re.search(r'error_description="([^"]*)"', challenge)
        assert described is not None and DESCRIPTION.fullmatch(described.group(1))


def test_a_token_lacking_the_scope_is_challenged_with_insufficient_scope(setup: Setup) -> None:
    api = setup.gateway.api_url
    tokens = setup.login(scope="read:buckets")
    reply = call(f"{api}/v1/users", headers=bearer(tokens["access_token"]))
    assert reply.status == 403 and reply.json()["error"]["code"] == "ScopeRequired"
    challenge = reply.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="nfyio-gateway", error="insufficient_scope"')
    assert challenge.endswith(', scope="admin"')
    root_only = call(
        f"{api}/v1/accounts", "POST", body={"name": "x"}, headers=bearer(tokens["access_token"])
    )
    assert root_only.status == 403 and root_only.json()["error"]["code"] == "RootRequired"
    assert 'error="insufficient_scope"' in root_only.headers["WWW-Authenticate"]
    minted = call(
        f"{api}/v1/access-keys",
        "POST",
        body={"name": "wider", "scopes": ["read:buckets", "write:buckets"]},
        headers=bearer(setup.login()["access_token"]),
    )
    assert minted.status == 403 and minted.json()["error"]["code"] == "ScopeRequired"
    assert minted.headers["WWW-Authenticate"].endswith(', scope="write:buckets"')


# --- RFC 7517 and RFC 8414: what is published ---------------------------------------------


def test_the_jwks_holds_public_members_only_and_verifies_tokens(
    gateway: Gateway, setup: Setup
) -> None:
    """``use`` and ``key_ops`` were published together (RFC 7517 4.3: SHOULD NOT)."""
    keys = call(f"{gateway.api_url}/.well-known/jwks.json").json()["keys"]
    assert keys and all(set(k) == {"kty", "kid", "use", "alg", "n", "e"} for k in keys), keys
    assert all(k["kty"] == "RSA" and k["use"] == "sig" and k["alg"] == "RS256" for k in keys)
    token = setup.login()["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    public = jwt.PyJWK(next(k for k in keys if k["kid"] == kid)).key
    claims = jwt.decode(token, public, algorithms=["RS256"], audience="nfyio-gateway")
    assert claims["sub"] == setup.user_id


def test_metadata_announces_no_client_assertion_algorithms(gateway: Gateway) -> None:
    """``token_endpoint_auth_signing_alg_values_supported`` names the algorithms of
    ``private_key_jwt`` / ``client_secret_jwt`` client assertions (RFC 8414 2), which
    this server does not accept: announcing RS256 there told clients it does."""
    metadata = call(f"{gateway.api_url}/.well-known/oauth-authorization-server").json()
    methods = set(metadata["token_endpoint_auth_methods_supported"])
    assert methods == {"client_secret_basic", "client_secret_post"}
    assert "token_endpoint_auth_signing_alg_values_supported" not in metadata


def test_a_nul_in_a_console_username_is_refused_before_the_store(pg_gateway: Gateway) -> None:
    """The console's sign-in runs the password grant in-process with the JSON body's
    fields, past the form reader's NUL check: a NUL in the username reached the state
    store (PostgreSQL refuses NUL in text) instead of failing as a wrong password."""
    reply = call(
        f"{pg_gateway.api_url}/console/session",
        "POST",
        body={"username": "admin\x00", "password": "whatever-it-is"},
        headers={"Origin": pg_gateway.api_url, "X-Nfyio-Console": "1"},
    )
    assert reply.status == 401, reply.body
    assert reply.json()["error"]["code"] == "InvalidCredentials"


def test_a_long_username_costs_a_bounded_throttle_key(gateway: Gateway, setup: Setup) -> None:
    """Each password attempt stores a throttle row keyed by the username; a name of a form's
    worth of bytes, which no user can have (at most 128 characters), was stored whole."""
    long_name = "n" * 60_000
    reply = call(
        f"{gateway.api_url}/oauth/token",
        "POST",
        form={"grant_type": "password", "username": long_name, "password": "x"},
        headers=basic(setup.client_id, setup.client_secret),
    )
    assert_oauth_error(reply, 400, "invalid_grant")
    with sqlite3.connect(f"file:{gateway.data_dir / 'identity.db'}?mode=ro", uri=True) as db:
        (longest,) = db.execute("SELECT max(length(bucket)) FROM auth_throttle").fetchone()
    assert longest <= len("user:") + 129
