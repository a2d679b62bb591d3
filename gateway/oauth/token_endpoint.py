"""``POST /oauth/token``: the password, refresh_token and client_credentials grants.

Every response (success or error) carries ``Cache-Control: no-store`` and
``Pragma: no-cache``. The password grant is throttled per username and per client
address (in the state store, shared by all workers and hosts): a blocked attempt gets
``429 {"error": "slow_down"}`` with ``Retry-After``, before the password is checked.
Password and client-secret hashes run through the hashing gate (``forms.hashing``): a
full queue is ``429 {"error": "temporarily_unavailable"}`` with ``Retry-After``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from gateway.audit import actions
from gateway.audit.http import record
from gateway.identity.clients import CONSOLE_CLIENT_ID, OAuthClient
from gateway.identity.tokens import Session
from gateway.identity.users import User
from gateway.oauth.access_tokens import issue_access_token
from gateway.oauth.context import OAUTH, OAuthContext
from gateway.oauth.errors import OAuthError, oauth_endpoint, oauth_json
from gateway.oauth.forms import (
    TOKEN_PARAMETERS,
    Form,
    authenticate_client,
    client_address,
    hashing,
    read_form,
    throttled,
)
from gateway.oauth.grant_scopes import held, resolve_scopes
from gateway.principal import Principal

__all__ = ["client_address", "run_grant", "token"]

_INVALID_LOGIN = "Invalid username or password"


def _require_grant(client: OAuthClient, grant_type: str) -> None:
    if not client.allows_grant(grant_type):
        raise OAuthError(
            "unauthorized_client", f"This client may not use the {grant_type} grant type"
        )


def _response(
    access_token: str, expires_in: int, scopes: frozenset[str], refresh: str | None
) -> web.Response:
    body: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": " ".join(sorted(scopes)),
    }
    if refresh is not None:
        body["refresh_token"] = refresh
    return oauth_json(body)


async def _session_response(
    ctx: OAuthContext,
    session: Session,
    scopes: frozenset[str],
    refresh: str | None,
    now: datetime,
    user: User,
) -> web.Response:
    """A user's access token for ``session`` (never outliving it), plus its refresh token."""
    token, expires_in = await issue_access_token(
        ctx.store,
        ctx.settings,
        subject=session.user_id,
        client_id=session.client_id,
        scopes=scopes,
        session_id=session.id,
        now=now,
        not_after=session.expires_at,
        account_id=user.account_id,
        username=user.username,
        roles=user.roles,
    )
    return _response(token, expires_in, scopes, refresh)


def _user_actor(user: User) -> Principal:
    """A user as the actor of an audit event (no scopes: nothing is authorized by it)."""
    return Principal(kind="user", subject=user.id, scopes=frozenset(), account_id=user.account_id)


def _client_actor(client: OAuthClient) -> Principal:
    return Principal(
        kind="client", subject=client.id, scopes=frozenset(), account_id=client.account_id
    )


async def _login_failed(
    ctx: OAuthContext, request: web.Request, client: OAuthClient, username: str, reason: str
) -> None:
    """``auth.password.failure``. The attempted name is recorded only as the id of the
    user it names: a name that names nobody may be a password typed in the wrong field."""
    user = await ctx.store.users.find(username)
    known = user is not None and (
        user.account_id == client.account_id or client.id == CONSOLE_CLIENT_ID
    )
    record(
        request,
        actions.AUTH_PASSWORD_FAILURE,
        outcome="failure",
        principal=_user_actor(user) if known and user is not None else None,
        target=("user", user.id if known and user is not None else None),
        account=user.account_id if known and user is not None else client.account_id,
        details={"reason": reason, "client_id": client.id},
    )


async def _password(
    ctx: OAuthContext, request: web.Request, form: Form, client: OAuthClient, now: datetime
) -> web.Response:
    _require_grant(client, "password")
    username, password = form.require("username"), form.require("password")
    # A throttle key is at most "user:" and 129 characters: usernames have at most 128
    # (gateway/identity/users.py), so a longer name, which names nobody, shares its
    # bucket with others like it instead of storing a form's worth of bytes per attempt.
    buckets = [f"user:{username.lower()[:129]}", f"ip:{client_address(request)}"]
    # Reserve the attempt (counted as a failure) before the password is checked, so that
    # parallel guesses cannot all pass the throttle before any of them is counted.
    reservation = await ctx.store.throttle.reserve(buckets, ctx.settings.throttle, now=now)
    if not reservation.granted:
        await _login_failed(ctx, request, client, username, "throttled")
        raise throttled(reservation.wait, "logins")
    try:
        user = await hashing(request, lambda: ctx.store.users.authenticate(username, password))
    except OAuthError:
        # Shed before the password was checked (hashing queue full): the attempt is given
        # back to every bucket (``succeeded`` with nothing to clear refunds it).
        await ctx.store.throttle.succeeded(reservation, ctx.settings.throttle, clear=())
        raise
    if user is None or (user.account_id != client.account_id and client.id != CONSOLE_CLIENT_ID):
        # A client logs in only the users of its own account; the answer (and the
        # throttle's count) is that of a wrong password, so no account learns of another's
        # usernames.
        await _login_failed(ctx, request, client, username, "invalid_credentials")
        raise OAuthError("invalid_grant", _INVALID_LOGIN)
    await ctx.store.throttle.succeeded(reservation, ctx.settings.throttle, clear=buckets[:1])
    scopes = resolve_scopes(form.get("scope"), user.scopes, client.scopes)
    with_refresh = client.allows_grant("refresh_token")
    ttl = ctx.settings.refresh_ttl if with_refresh else ctx.settings.access_ttl
    session, refresh = await ctx.store.sessions.start(
        user.id,
        client.id,
        scopes,
        expires_at=now + timedelta(seconds=ttl),
        with_refresh=with_refresh,
        now=now,
        most=ctx.settings.max_sessions,
    )
    record(
        request,
        actions.AUTH_PASSWORD_SUCCESS,
        principal=_user_actor(user),
        target=("user", user.id),
        details={"client_id": client.id, "session_id": session.id, "scopes": sorted(scopes)},
    )
    return await _session_response(ctx, session, scopes, refresh, now, user)


def _refresh_scopes(
    session_scopes: frozenset[str],
    requested: str | None,
    user_scopes: frozenset[str],
    client_scopes: frozenset[str],
) -> frozenset[str]:
    """RFC 6749 section 6: a requested scope must lie within the original grant; the
    result is further limited to what the user and client hold now."""
    asked = (
        session_scopes
        if requested is None
        else resolve_scopes(requested, session_scopes, strict=True)
    )
    scopes = held(asked, user_scopes, client_scopes)
    if not scopes:
        raise OAuthError("invalid_scope", "None of the granted scopes is still held")
    return scopes


async def _reuse_detected(
    ctx: OAuthContext, request: web.Request, client: OAuthClient, session: Session
) -> None:
    """A spent refresh token came back: the family is revoked (two events), in the log of
    the session's user's account (the console's client signs in every account's users;
    any other client is in its users' account anyway)."""
    user = await ctx.store.users.get(session.user_id)
    details = {"client_id": client.id, "user_id": session.user_id}
    for action in (actions.REFRESH_TOKEN_REUSE, actions.SESSION_REVOKE):
        record(
            request,
            action,
            outcome="failure" if action == actions.REFRESH_TOKEN_REUSE else "success",
            principal=_client_actor(client),
            target=("session", session.id),
            account=None if user is None else user.account_id,
            details={**details, "reason": "refresh_token_reused"},
        )


async def _refresh(
    ctx: OAuthContext, request: web.Request, form: Form, client: OAuthClient, now: datetime
) -> web.Response:
    _require_grant(client, "refresh_token")
    presented = form.require("refresh_token")
    requested = form.get("scope")
    # Check the scope before spending the token, so a bad request does not burn it. Only
    # a token that is live: a spent one is reuse whatever else the request says, and must
    # reach ``rotate`` (which revokes its family) rather than stop at invalid_scope; a
    # revoked or expired one is invalid_grant (RFC 6749 5.2), whatever scope it asks.
    idle = ctx.settings.refresh_idle
    known = await ctx.store.sessions.find_refresh(presented)
    if known is not None and known.session.client_id == client.id and known.is_live(now, idle):
        user = await ctx.store.users.get(known.session.user_id)
        if user is not None:
            _refresh_scopes(known.session.scopes, requested, user.scopes, client.scopes)
    result = await ctx.store.sessions.rotate(presented, client.id, now=now, idle=idle)
    if result.outcome == "reused" and result.session is not None:
        await _reuse_detected(ctx, request, client, result.session)
    if result.outcome != "ok" or result.session is None or result.token is None:
        messages = {
            "reused": "The refresh token was already used; its whole family is now revoked",
            "revoked": "The refresh token has been revoked",
            "expired": "The refresh token has expired",
            "user": "The user is disabled",
        }
        raise OAuthError("invalid_grant", messages.get(result.outcome, "Invalid refresh token"))
    session = result.session
    user = await ctx.store.users.get(session.user_id)
    if user is None or not user.is_active:
        raise OAuthError("invalid_grant", "The user is disabled")
    scopes = _refresh_scopes(session.scopes, requested, user.scopes, client.scopes)
    return await _session_response(ctx, session, scopes, result.token, now, user)


async def _client_credentials(
    ctx: OAuthContext, request: web.Request, form: Form, client: OAuthClient, now: datetime
) -> web.Response:
    _require_grant(client, "client_credentials")
    scopes = resolve_scopes(form.get("scope"), client.scopes)
    record(
        request,
        actions.AUTH_CLIENT_CREDENTIALS_SUCCESS,
        principal=_client_actor(client),
        target=("client", client.id),
        details={"scopes": sorted(scopes)},
    )
    token, expires_in = await issue_access_token(
        ctx.store,
        ctx.settings,
        subject=client.id,
        client_id=client.id,
        scopes=scopes,
        session_id=None,
        now=now,
        account_id=client.account_id,
    )
    return _response(token, expires_in, scopes, None)


@oauth_endpoint
async def token(request: web.Request) -> web.StreamResponse:
    ctx = request.app[OAUTH]
    form = await read_form(request, TOKEN_PARAMETERS)
    _grant_type(form)  # an unsupported grant is named before the client is checked
    client = await authenticate_client(request, form, ctx)
    return await run_grant(request, form, client)


def _grant_type(form: Form) -> str:
    grant_type = form.require("grant_type")
    if grant_type not in {"password", "refresh_token", "client_credentials"}:
        raise OAuthError(
            "unsupported_grant_type", "Supported: password, refresh_token, client_credentials"
        )
    return grant_type


async def run_grant(request: web.Request, form: Form, client: OAuthClient) -> web.Response:
    """The grant of ``form`` for an authenticated ``client``: what the token endpoint does
    after client authentication. The web console's session endpoint calls it for the
    gateway's first-party client (``gateway/console/session.py``), so sign-ins there get
    the same throttle, scopes and refresh-token rotation. Raises :class:`OAuthError`."""
    ctx = request.app[OAUTH]
    grant_type = _grant_type(form)
    now = datetime.now(UTC)
    if grant_type == "password":
        return await _password(ctx, request, form, client, now)
    if grant_type == "refresh_token":
        return await _refresh(ctx, request, form, client, now)
    return await _client_credentials(ctx, request, form, client, now)
