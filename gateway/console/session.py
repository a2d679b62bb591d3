"""The console's session endpoint: sign-in, silent refresh and sign-out for users.

The browser never holds a refresh token. ``POST /console/session`` runs the OAuth password
grant in-process (:func:`gateway.oauth.token_endpoint.run_grant`: the token endpoint's own
code, throttle and scope rules included) for the gateway's first-party console client,
answers the access token (kept in the page's memory only) and puts the refresh token in a
cookie the page's scripts cannot read::

    nfyio_console_refresh=rt_...; Path=/console/session; HttpOnly; Secure; SameSite=Strict

``POST /console/session/refresh`` rotates it (a page reload signs the user back in without
the password; a reused cookie value revokes the whole family, as at ``/oauth/token``;
without a cookie it answers ``204`` to the scripts that read it, ``X-Nfyio-Console: 2``:
no session, nothing failed; a tab still running a script from before, which sends ``1``
and would read a 204 as no answer and retry for ever, gets the ``401`` it knows);
``DELETE /console/session`` revokes the session (its refresh token and every access token
minted from it) and clears the cookie.

Cookies ignore ports: a page the S3 listener serves on the same host (a user's HTML
object) can set this cookie and plant its author's session. The page names its session
(``session_id`` in each answer, kept in its origin's ``localStorage``, sent back as
``X-Nfyio-Console-Session`` with ``X-Nfyio-Console: 3``), and only that session's
cookie is honoured (:func:`_session_cookie`).

CSRF: the cookie is ``SameSite=Strict`` and every request must also carry
``X-Nfyio-Console`` (``1`` or ``2``, see above; a header no form or cross-site request
can send without a CORS preflight, which this listener never grants) and an ``Origin``
equal to the listener's own (``Sec-Fetch-Site``, when present, must say
``same-origin``). The S3 listener on the same
host is *same-site* (ports do not count for SameSite) but another origin: the Origin
check is what keeps a page served from there out. Errors use the ``/v1`` JSON envelope.
Decisions and their reasons: docs/console.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from gateway.api.errors import ApiError, error_response
from gateway.api.validation import read_json_object, required_str
from gateway.audit import actions
from gateway.audit.http import record
from gateway.identity.clients import CONSOLE_CLIENT_ID, OAuthClient
from gateway.identity.store import IdentityStore
from gateway.identity.tokens import REFRESH_SHAPE, REFRESH_SHORTEST
from gateway.oauth.errors import OAuthError
from gateway.oauth.forms import Form
from gateway.oauth.token_endpoint import run_grant
from gateway.peer import client_origin
from gateway.principal import Principal
from gateway.scopes import ALL_SCOPES
from gateway.state import CONFIG, IDENTITY

__all__ = [
    "CONSOLE_CLIENT_ID",
    "COOKIE",
    "COOKIE_PATH",
    "CSRF_HEADER",
    "ensure_console_client",
    "refresh",
    "sign_in",
    "sign_out",
]

CONSOLE_CLIENT_NAME = "nfyio-gateway web console"
COOKIE = "nfyio_console_refresh"
COOKIE_PATH = "/console/session"
CSRF_HEADER = "X-Nfyio-Console"
SESSION_HEADER = "X-Nfyio-Console-Session"
_SCRIPT_VERSIONS = ("1", "2", "3")
"""The values the console's scripts send in :data:`CSRF_HEADER`: ``3`` since the cookie
is bound to the page (:data:`SESSION_HEADER`), ``2`` since a refresh without a cookie
answers 204, ``1`` from a tab loaded before (it is answered 401 there)."""
_READS_NO_CONTENT = ("2", "3")
_BINDS_SESSION = "3"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_MAX_FIELD = 1024
_COOKIE_HEADER_MOST = 8190
"""The longest header field the listener reads (aiohttp's ``max_field_size``, left at its
default in ``gateway/app.py``): a browser sends all its cookies in one ``Cookie`` field."""
_MAX_COOKIES = _COOKIE_HEADER_MOST // (len(f"{COOKIE}=; ") + REFRESH_SHORTEST)
"""Distinct well-formed console cookies looked at, at most (each is a state-store read):
as many as one ``Cookie`` field can hold (122), so however many a page on this host
plants (``Domain``/``Path`` variants, nameless cookies), a browser never sends the
page's own beyond the ones looked at. Only a client writing its own headers can send
more, in further fields, and gains nothing by it. Counted with the shortest value
:data:`REFRESH_SHAPE` accepts, not the 83 characters of a token made now: an untagged
token of before still passes (an unspent one is still a session), so a planting page
would use that shape, and a cap counted with 83 (76) would leave the page's own cookie
unread behind 76 planted ones."""

_OAUTH_ERRORS: dict[str, tuple[int, str]] = {
    "invalid_grant": (401, "InvalidCredentials"),
    "slow_down": (429, "TooManyAttempts"),
    "invalid_scope": (403, "AccessDenied"),
    "invalid_request": (400, "InvalidRequest"),
}
"""How the grant's RFC 6749 errors read in the console's JSON envelope."""


async def ensure_console_client(store: IdentityStore) -> OAuthClient:
    """The first-party client every console sign-in uses, registered on first use (and
    again if an admin deleted it). It may hold every scope: a token gets the user's."""
    return await store.clients.ensure(
        CONSOLE_CLIENT_ID,
        CONSOLE_CLIENT_NAME,
        grant_types=("password", "refresh_token"),
        scopes=ALL_SCOPES,
    )


def own_origin(request: web.Request) -> str:
    """``scheme://host[:port]`` this request was sent to (forwarded-aware when trusted)."""
    scheme, host = client_origin(
        request, trusted=request.app[CONFIG].server.trusted_forwarded_headers
    )
    return f"{scheme}://{host}".lower()


def check_same_origin(request: web.Request) -> None:
    """Refuse (403) anything but the console's own scripts on this origin."""
    origin = request.headers.get("Origin")
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if (
        request.headers.get(CSRF_HEADER) not in _SCRIPT_VERSIONS
        or origin is None
        or origin.lower() != own_origin(request)
        or (fetch_site is not None and fetch_site != "same-origin")
    ):
        raise ApiError(
            403,
            "AccessDenied",
            f"The console session endpoint answers only the console itself: same origin, "
            f"with the {CSRF_HEADER} header",
            {"reason": "cross_origin"},
            headers=_NO_STORE,
        )


def _api_error(exc: OAuthError) -> ApiError:
    status, code = _OAUTH_ERRORS.get(exc.error, (400, "InvalidRequest"))
    headers = dict(_NO_STORE)
    if "Retry-After" in exc.headers:
        headers["Retry-After"] = exc.headers["Retry-After"]
    return ApiError(status, code, exc.description, headers=headers)


def _set_cookie(response: web.Response, token: str, max_age: int) -> None:
    response.set_cookie(
        COOKIE,
        token,
        path=COOKIE_PATH,
        max_age=max_age,
        secure=True,
        httponly=True,
        samesite="Strict",
    )


def _clear_cookie(response: web.Response) -> None:
    response.del_cookie(COOKIE, path=COOKIE_PATH, secure=True, httponly=True, samesite="Strict")


async def _grant(request: web.Request, form: dict[str, str]) -> dict[str, Any]:
    client = await ensure_console_client(request.app[IDENTITY])
    try:
        response = await run_grant(request, Form(form), client)
    except OAuthError as exc:
        raise _api_error(exc) from None
    assert isinstance(response.body, bytes)
    body: dict[str, Any] = json.loads(response.body)
    return body


async def _session_response(request: web.Request, body: dict[str, Any]) -> web.Response:
    """The access token for the page; the refresh token only into the cookie, which
    lives as long as the refresh family (an absolute cap from sign-in)."""
    refresh_token = body.pop("refresh_token")
    found = await request.app[IDENTITY].sessions.find_refresh(refresh_token)
    max_age = request.app[CONFIG].auth.refresh_token_ttl
    if found is not None:
        remaining = (found.session.expires_at - datetime.now(UTC)).total_seconds()
        max_age = max(0, int(remaining))
    answer = {key: body[key] for key in ("access_token", "token_type", "expires_in", "scope")}
    if found is not None:
        answer["session_id"] = found.session.id  # the page names it on each refresh
    response = web.json_response(answer, headers=_NO_STORE)
    _set_cookie(response, refresh_token, max_age)
    return response


@dataclass(frozen=True, slots=True)
class _Cookie:
    """The console cookies a request carried: ``token`` is the one to act on (``None``
    when none is this page's session), ``sent`` whether any arrived at all."""

    sent: bool
    token: str | None


def _cookie_values(request: web.Request) -> list[str]:
    """Every value of :data:`COOKIE` the browser sent, in its order (several arrive when
    others were set with another ``Path`` or ``Domain``)."""
    values: list[str] = []
    for header in request.headers.getall("Cookie", []):
        for part in header.split(";"):
            name, equals, value = part.strip().partition("=")
            value = value.strip().strip('"')
            if equals and name == COOKIE and value:
                values.append(value)
    return values


def _tokens(values: list[str]) -> list[str]:
    """The distinct well-formed ones, in order, :data:`_MAX_COOKIES` at most."""
    tokens = list(dict.fromkeys(value for value in values if REFRESH_SHAPE.fullmatch(value)))
    return tokens[:_MAX_COOKIES]


async def _session_cookie(request: web.Request) -> _Cookie:
    """The refresh token this request acts on.

    Cookies ignore ports, so any page on this host, such as an HTML object served inline
    by the S3 listener, can set (or shadow, with a longer ``Path``) the console's cookie
    and plant its author's session: the console would resume it and the victim would
    work, uploads included, in the attacker's account. The page therefore names its
    session, kept in its origin's own storage (which no other port can write): scripts
    that do (``X-Nfyio-Console: 3``) are answered only for that session's cookie. Older
    tabs (``1``, ``2``) name none and get the first cookie, as before."""
    values = _cookie_values(request)
    if not values:
        return _Cookie(sent=False, token=None)
    if request.headers.get(CSRF_HEADER) != _BINDS_SESSION:
        return _Cookie(sent=True, token=values[0])
    named = request.headers.get(SESSION_HEADER, "")
    sessions = request.app[IDENTITY].sessions
    for value in _tokens(values) if named else ():
        found = await sessions.find_refresh(value)
        if found is not None and found.session.id == named:
            return _Cookie(sent=True, token=value)
    return _Cookie(sent=True, token=None)


def _no_session(message: str) -> ApiError:
    return ApiError(401, "NoSession", message, headers=_NO_STORE)


async def sign_in(request: web.Request) -> web.Response:
    """``POST /console/session`` ``{"username", "password"}``."""
    check_same_origin(request)
    body = await read_json_object(request, allowed=("username", "password"))
    username, password = required_str(body, "username"), required_str(body, "password")
    if (
        not username
        or not password
        or len(username) > _MAX_FIELD
        or len(password) > _MAX_FIELD
        or "\x00" in username  # no user has one (names are printable); PostgreSQL refuses it
    ):
        raise ApiError(401, "InvalidCredentials", "Invalid username or password", headers=_NO_STORE)
    granted = await _grant(
        request, {"grant_type": "password", "username": username, "password": password}
    )
    return await _session_response(request, granted)


async def refresh(request: web.Request) -> web.Response:
    """``POST /console/session/refresh``: a new access token from the cookie.

    Without the cookie there is no session to renew, and that is no error: ``204``, so a
    fresh visit (the page asks on every load) goes to the sign-in form without a failed
    request in the browser. A cookie the gateway refuses ends the session: ``401``.

    The 204 goes only to scripts that say they read it (``X-Nfyio-Console: 2`` or ``3``). A tab
    that loaded its script before (``1``) took a 204 for no answer and retried for ever
    once its cookie was gone (a sign-out in another tab, the cookie's ``Max-Age``); it
    gets the ``401`` it reads as the end of the session, as before."""
    check_same_origin(request)
    cookie = await _session_cookie(request)
    if not cookie.sent:
        if request.headers.get(CSRF_HEADER) not in _READS_NO_CONTENT:
            raise _no_session("Not signed in")
        return web.Response(status=204, headers=_NO_STORE)
    token = cookie.token
    if token is None:  # planted by another page on this host, or this page forgot it
        response = error_response(
            _no_session("The session cookie is not this page's session: sign in again"), request
        )
        _clear_cookie(response)
        return response
    try:
        granted = await _grant(request, {"grant_type": "refresh_token", "refresh_token": token})
    except ApiError as exc:
        response = error_response(_no_session(f"The session has ended: {exc.message}"), request)
        _clear_cookie(response)
        return response
    return await _session_response(request, granted)


async def sign_out(request: web.Request) -> web.Response:
    """``DELETE /console/session``: revoke the session, clear the cookie (idempotent).

    Every console session whose cookie arrived is revoked, named by the page or not: a
    page that lost its session's name (storage switched off, an older script) still
    signs out of its own, and the others can only be sessions a page on this host
    planted, which may end too."""
    check_same_origin(request)
    values = _cookie_values(request)
    if request.headers.get(CSRF_HEADER) != _BINDS_SESSION:
        values = values[:1]  # older tabs: the first cookie, as before
    store = request.app[IDENTITY]
    for token in _tokens(values):
        found = await store.sessions.find_refresh(token)
        if found is None or found.session.client_id != CONSOLE_CLIENT_ID:
            continue
        await store.sessions.revoke(found.session.id, reason="signed_out")
        user = await store.users.get(found.session.user_id)
        record(
            request,
            actions.SESSION_REVOKE,
            principal=None
            if user is None
            else Principal(
                kind="user", subject=user.id, scopes=frozenset(), account_id=user.account_id
            ),
            target=("session", found.session.id),
            details={"reason": "signed_out", "client_id": CONSOLE_CLIENT_ID},
        )
    response = web.Response(status=204, headers=_NO_STORE)
    _clear_cookie(response)
    return response
