"""The console's session endpoint and static files, in-process.

Sign-in sets the refresh cookie (HttpOnly, Secure, SameSite=Strict, the session path) and
answers only the access token; every call must come from the console's own origin with its
header (CSRF); refresh rotates the cookie and a replayed one revokes the family; sign-out
revokes the session; the first-party client cannot be used at ``/oauth/token``. Static
files carry the strict headers, revalidate with ETags and are served only by name.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.app import Shared, make_api_app
from gateway.bootstrap import ensure_admin
from gateway.config import Config, load_config
from gateway.console.assets import CSP
from gateway.console.session import CONSOLE_CLIENT_ID, COOKIE
from tests.gateway.api.conftest import ADMIN, bearer, error_of

Client = TestClient[Any, Any]
PASSWORD = "a long enough password"


def origin(api: Client) -> str:
    return str(api.make_url("")).rstrip("/")


def console_headers(api: Client) -> dict[str, str]:
    return {"Origin": origin(api), "X-Nfyio-Console": "1"}


async def make_user(api: Client, name: str = "ann", scopes: list[str] | None = None) -> None:
    response = await api.post(
        "/v1/users",
        json={
            "username": name,
            "password": PASSWORD,
            "scopes": ["read:buckets"] if scopes is None else scopes,
        },
        headers=ADMIN,
    )
    assert response.status == 201, await response.text()


def set_cookie(response: Any) -> Any:
    jar: SimpleCookie = SimpleCookie()
    jar.load(response.headers["Set-Cookie"])
    return jar[COOKIE]


async def sign_in(api: Client, name: str = "ann") -> tuple[str, str]:
    """(access token, refresh cookie value)."""
    response = await api.post(
        "/console/session",
        json={"username": name, "password": PASSWORD},
        headers=console_headers(api),
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    return body["access_token"], set_cookie(response).value


async def refresh(api: Client, cookie: str, **extra: str) -> Any:
    api.session.cookie_jar.clear()
    return await api.post(
        "/console/session/refresh",
        headers={**console_headers(api), "Cookie": f"{COOKIE}={cookie}", **extra},
    )


async def test_sign_in_sets_the_cookie_and_answers_only_the_access_token(api: Client) -> None:
    await make_user(api)
    response = await api.post(
        "/console/session",
        json={"username": "ann", "password": PASSWORD},
        headers=console_headers(api),
    )
    assert response.status == 200
    body = await response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "session_id"}
    assert response.headers["Cache-Control"] == "no-store"
    cookie = set_cookie(response)
    assert cookie.value.startswith("rt_")
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Strict"
    assert cookie["path"] == "/console/session"
    assert 2_500_000 < int(cookie["max-age"]) <= 2_592_000  # the refresh family's lifetime
    me = await (await api.get("/v1/me", headers=bearer(body["access_token"]))).json()
    assert me["kind"] == "user" and me["name"] == "ann" and me["client_id"] == CONSOLE_CLIENT_ID


@pytest.mark.parametrize(
    "headers",
    [
        {},  # neither
        {"X-Nfyio-Console": "1"},  # no Origin
        {"Origin": "ORIGIN"},  # no custom header
        {"Origin": "http://evil.example", "X-Nfyio-Console": "1"},
        {"Origin": "http://127.0.0.1:7007", "X-Nfyio-Console": "1"},  # same site, other origin
        {"Origin": "ORIGIN", "X-Nfyio-Console": "1", "Sec-Fetch-Site": "same-site"},
        {"Origin": "ORIGIN", "X-Nfyio-Console": "0"},
    ],
)
async def test_every_session_call_must_come_from_the_console_itself(
    api: Client, headers: dict[str, str]
) -> None:
    await make_user(api)
    _, cookie = await sign_in(api)
    sent = {name: value.replace("ORIGIN", origin(api)) for name, value in headers.items()}
    api.session.cookie_jar.clear()
    for method, url, body in (
        ("POST", "/console/session", {"username": "ann", "password": PASSWORD}),
        ("POST", "/console/session/refresh", None),
        ("DELETE", "/console/session", None),
    ):
        response = await api.request(
            method, url, json=body, headers={**sent, "Cookie": f"{COOKIE}={cookie}"}
        )
        error = await error_of(response, 403)
        assert error["details"] == {"reason": "cross_origin"}, (method, url)
        assert "Set-Cookie" not in response.headers
    # The refused calls changed nothing: the cookie still works.
    assert (await refresh(api, cookie)).status == 200


async def test_refresh_rotates_and_a_replayed_cookie_ends_the_session(api: Client) -> None:
    await make_user(api)
    token, first = await sign_in(api)
    renewed = await refresh(api, first)
    assert renewed.status == 200
    second = set_cookie(renewed).value
    assert second != first
    new_token = (await renewed.json())["access_token"]
    assert (await api.get("/v1/me", headers=bearer(new_token))).status == 200
    # The spent cookie again: reuse. The whole family is revoked, tokens included.
    replay = await refresh(api, first)
    assert (await error_of(replay, 401))["code"] == "NoSession"
    assert set_cookie(replay)["max-age"] == "0"
    assert (await refresh(api, second)).status == 401
    assert (await api.get("/v1/me", headers=bearer(new_token))).status == 401
    assert (await api.get("/v1/me", headers=bearer(token))).status == 401


async def test_refresh_without_a_cookie_is_not_signed_in(api: Client) -> None:
    """No cookie, no session: the page asks on every load, so that is no error (204,
    nothing set), while a cookie the gateway refuses is the session ending (401). The
    204 goes to the scripts that read it (``X-Nfyio-Console: 2``); a tab still running a
    script from before (``1``) read it as no answer and retried for ever: it gets the
    401 it reads as "not signed in"."""
    reads_204 = {**console_headers(api), "X-Nfyio-Console": "2"}
    older = await api.post("/console/session/refresh", headers=console_headers(api))
    assert (await error_of(older, 401))["code"] == "NoSession"
    assert "Set-Cookie" not in older.headers
    response = await api.post("/console/session/refresh", headers=reads_204)
    assert response.status == 204, await response.text()
    assert await response.read() == b""
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    for headers in (console_headers(api), reads_204):
        refused = await api.post(
            "/console/session/refresh",
            headers={**headers, "Cookie": f"{COOKIE}=rt_not-a-session"},
        )
        assert (await error_of(refused, 401))["code"] == "NoSession"
    binds = {**console_headers(api), "X-Nfyio-Console": "3"}  # names its session too
    assert (await api.post("/console/session/refresh", headers=binds)).status == 204
    other = await api.post(
        "/console/session/refresh", headers={**console_headers(api), "X-Nfyio-Console": "4"}
    )
    assert (await error_of(other, 403))["code"] == "AccessDenied"


async def test_sign_out_revokes_the_session_and_clears_the_cookie(api: Client) -> None:
    await make_user(api)
    token, cookie = await sign_in(api)
    api.session.cookie_jar.clear()
    response = await api.delete(
        "/console/session", headers={**console_headers(api), "Cookie": f"{COOKIE}={cookie}"}
    )
    assert response.status == 204
    assert set_cookie(response)["max-age"] == "0"
    assert (await refresh(api, cookie)).status == 401
    assert (await api.get("/v1/me", headers=bearer(token))).status == 401
    # Idempotent, with or without a cookie.
    again = await api.delete("/console/session", headers=console_headers(api))
    assert again.status == 204


async def test_wrong_password_and_throttle(config: Config, aiohttp_client: Any) -> None:
    # A first block of a minute, not the default second: the attempt after the fifth
    # failure lands in it however long that failure's password check took on a slow
    # machine (the block starts when the attempt is reserved, before the check).
    blocking = replace(config, auth=replace(config.auth, throttle_base_delay=60.0))
    await ensure_admin(blocking)
    api: Client = await aiohttp_client(make_api_app(Shared(blocking)))
    await make_user(api)
    for _ in range(5):
        response = await api.post(
            "/console/session",
            json={"username": "ann", "password": "wrong"},
            headers=console_headers(api),
        )
        error = await error_of(response, 401)
        assert error == {
            "code": "InvalidCredentials",
            "message": "Invalid username or password",
            "details": {},
        }
        assert "Set-Cookie" not in response.headers
    # The token endpoint's throttle applies here too (same grant code).
    blocked = await api.post(
        "/console/session",
        json={"username": "ann", "password": PASSWORD},
        headers=console_headers(api),
    )
    assert (await error_of(blocked, 429))["code"] == "TooManyAttempts"
    assert int(blocked.headers["Retry-After"]) >= 1


async def test_the_console_client_cannot_be_used_at_the_token_endpoint(api: Client) -> None:
    await make_user(api)
    await sign_in(api)  # registers the first-party client
    clients = await (await api.get("/v1/clients", headers=ADMIN)).json()
    assert CONSOLE_CLIENT_ID in {c["client_id"] for c in clients["clients"]}
    for form in (
        {"client_id": CONSOLE_CLIENT_ID},
        {"client_id": CONSOLE_CLIENT_ID, "client_secret": ""},
        {"client_id": CONSOLE_CLIENT_ID, "client_secret": "cs_guess"},
    ):
        response = await api.post(
            "/oauth/token",
            data={"grant_type": "password", "username": "ann", "password": PASSWORD, **form},
        )
        assert response.status == 401, form
        assert (await response.json())["error"] == "invalid_client"


async def test_concurrent_first_sign_ins_register_the_client_once(api: Client) -> None:
    await make_user(api, "ann")
    await make_user(api, "bob")
    results = await asyncio.gather(sign_in(api, "ann"), sign_in(api, "bob"))
    assert all(token for token, _ in results)
    clients = await (await api.get("/v1/clients", headers=ADMIN)).json()
    assert [c["client_id"] for c in clients["clients"]].count(CONSOLE_CLIENT_ID) == 1


async def test_the_console_client_comes_back_after_an_admin_deletes_it(api: Client) -> None:
    await make_user(api)
    _, cookie = await sign_in(api)
    deleted = await api.delete(f"/v1/clients/{CONSOLE_CLIENT_ID}", headers=ADMIN)
    assert deleted.status == 204
    assert (await refresh(api, cookie)).status == 401  # its sessions went with it
    await sign_in(api)


async def test_static_files_are_served_by_name_with_strict_headers(api: Client) -> None:
    page = await api.get("/console")
    assert page.status == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Content-Security-Policy"] == CSP
    assert page.headers["X-Frame-Options"] == "DENY"
    etag = page.headers["ETag"]
    again = await api.get("/console", headers={"If-None-Match": etag})
    assert again.status == 304 and again.headers["ETag"] == etag
    script = await api.get("/console/static/js/app.js")
    assert script.status == 200
    assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert script.headers["Cache-Control"] == "no-cache"
    for missing in (
        "/console/static/nope.js",
        "/console/static/../session.py",
        "/console/static/%2e%2e/session.py",
        "/console/static/index.html",
        "/console/static/js",
    ):
        response = await api.get(missing)
        assert response.status == 404, missing
    redirect = await api.get("/", allow_redirects=False)
    assert redirect.status == 302 and redirect.headers["Location"] == "/console"
    settings = await (await api.get("/console/settings.json")).json()
    assert set(settings) == {"version", "s3_endpoint", "region", "max_upload_bytes"}


@pytest.fixture
def no_console(tmp_path: Path) -> Config:
    return load_config(
        env={"NFYIO_DATA_DIR": str(tmp_path / "data"), "NFYIO_CONSOLE_ENABLED": "false"}
    )


async def test_the_console_can_be_switched_off(no_console: Config, aiohttp_client: Any) -> None:
    api: Client = await aiohttp_client(make_api_app(Shared(no_console)))
    for method, url in (
        ("GET", "/"),
        ("GET", "/console"),
        ("GET", "/console/static/js/app.js"),
        ("POST", "/console/session"),
    ):
        response = await api.request(method, url)
        assert (await error_of(response, 404))["code"] == "NotFound", url
