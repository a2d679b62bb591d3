"""``POST /oauth/revoke`` (RFC 7009) and ``POST /oauth/introspect`` (RFC 7662).

Both require client authentication (Basic or body, as at the token endpoint).

- **Revoke**: a refresh token revokes its whole session (every refresh token of the family
  and every access token minted from it); an access token is put on a deny list by
  ``jti`` until it expires. A client may only revoke its own tokens; an unknown, invalid,
  already revoked or foreign token gets the same empty ``200`` (RFC 7009 2.2), so the
  endpoint reveals nothing. ``token_type_hint`` is optional; an unknown hint is ignored.
- **Introspect**: any authenticated client (typically a resource server) may ask about
  any token of its own account (the account of the token's user, or of the client a
  client-credentials token was issued to). Inactive tokens (unknown, expired, revoked,
  used, of a disabled user) and another account's tokens are ``{"active": false}`` and
  nothing else (RFC 7662 2.2: a token the caller may not introspect).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from gateway.audit import actions
from gateway.audit.http import record
from gateway.auth.bearer import looks_like_jwt
from gateway.oauth.access_tokens import InvalidToken
from gateway.oauth.context import OAUTH, OAuthContext
from gateway.oauth.errors import NO_STORE, oauth_endpoint, oauth_json
from gateway.oauth.forms import TOKEN_INSPECTION_PARAMETERS, authenticate_client, read_form
from gateway.oauth.grant_scopes import held
from gateway.principal import Principal

__all__ = ["introspect", "revoke"]


@oauth_endpoint
async def revoke(request: web.Request) -> web.StreamResponse:
    ctx = request.app[OAUTH]
    form = await read_form(request, TOKEN_INSPECTION_PARAMETERS)
    client = await authenticate_client(request, form, ctx)
    token = form.require("token")
    now = datetime.now(UTC)
    refresh = await ctx.store.sessions.find_refresh(token)
    actor = Principal(
        kind="client", subject=client.id, scopes=frozenset(), account_id=client.account_id
    )
    if refresh is not None:
        if refresh.session.client_id == client.id:
            await ctx.store.sessions.revoke(refresh.session.id, reason="revoked", now=now)
            record(
                request,
                actions.SESSION_REVOKE,
                principal=actor,
                target=("session", refresh.session.id),
                details={"reason": "revoked", "user_id": refresh.session.user_id},
            )
    elif looks_like_jwt(token):
        try:
            claims = await ctx.verifier.decode(token, now=now)
        except InvalidToken:
            claims = None
        if claims is not None and claims.client_id == client.id:
            leeway = timedelta(seconds=ctx.settings.leeway)
            await ctx.store.sessions.revoke_access_token(claims.jti, claims.expires_at + leeway)
            record(
                request,
                actions.ACCESS_TOKEN_REVOKE,
                principal=actor,
                target=("access_token", claims.jti),
                details={"subject": claims.subject},
            )
    return web.Response(status=200, headers=NO_STORE)


def _inactive() -> web.Response:
    return oauth_json({"active": False})


async def _access_token_info(
    ctx: OAuthContext, token: str, account: str, now: datetime
) -> dict[str, Any] | None:
    try:
        claims = await ctx.verifier.decode(token, now=now)
        scopes, token_account, username = await ctx.verifier.live(claims)
    except InvalidToken:
        return None
    # The verifier's leeway lets a resource server with a clock behind the issuer's
    # accept a token for a few more seconds; here the server decides by its own clock
    # (RFC 7662 4: it "MUST determine whether or not the token has expired"), so a token
    # past its exp is inactive, never active with an exp in the past.
    if claims.expires_at <= now or token_account != account:
        return None
    info: dict[str, Any] = {
        "active": True,
        "scope": " ".join(sorted(scopes)),
        "client_id": claims.client_id,
        "token_type": "Bearer",
        "exp": int(claims.expires_at.timestamp()),
        "iat": int(claims.issued_at.timestamp()),
        "nbf": int(claims.not_before.timestamp()),
        "sub": claims.subject,
        "aud": claims.raw["aud"],
        "iss": claims.raw["iss"],
        "jti": claims.jti,
    }
    roles = claims.raw.get("roles")
    if isinstance(roles, list):
        info["roles"] = roles
    if claims.session_id is not None:
        if username is not None:
            info["username"] = username
        info["sid"] = claims.session_id
    return info


async def _refresh_token_info(
    ctx: OAuthContext, token: str, account: str, now: datetime
) -> dict[str, Any] | None:
    found = await ctx.store.sessions.find_refresh(token)
    idle = ctx.settings.refresh_idle
    if found is None or not found.is_live(now, idle):
        return None
    user = await ctx.store.users.get(found.session.user_id)
    if user is None or not user.is_active or user.account_id != account:
        return None
    session = found.session
    client = await ctx.store.clients.get(session.client_id)
    if client is None:
        return None
    # What a refresh with it would grant now (token_endpoint._refresh_scopes): the grant
    # narrowed to the scopes the user and its client still hold, as an access token's
    # introspection narrows its claims; nothing left, a refresh fails: inactive.
    scopes = sorted(held(session.scopes, user.scopes, client.scopes))
    if not scopes:
        return None
    return {
        "active": True,
        "scope": " ".join(scopes),
        "client_id": session.client_id,
        "username": user.username,
        "token_type": "refresh_token",
        "exp": int(found.expires_at(idle).timestamp()),
        "iat": int(found.created_at.timestamp()),
        "sub": user.id,
        "iss": ctx.settings.issuer,
        "sid": session.id,
    }


@oauth_endpoint
async def introspect(request: web.Request) -> web.StreamResponse:
    ctx = request.app[OAUTH]
    form = await read_form(request, TOKEN_INSPECTION_PARAMETERS)
    client = await authenticate_client(request, form, ctx)
    token = form.require("token")
    # Another account's token is one this client may not introspect: inactive, so that
    # no account learns another's users, sessions, clients or scopes.
    now = datetime.now(UTC)
    if looks_like_jwt(token):
        info = await _access_token_info(ctx, token, client.account_id, now)
    else:
        info = await _refresh_token_info(ctx, token, client.account_id, now)
    return _inactive() if info is None else oauth_json(info)
