"""Authentication and scope checks on the API listener.

Credentials: ``Authorization: Bearer <api-key secret | JWT>`` or ``X-API-Key: <secret>``.
Errors follow the API's JSON shape: 401 ``Unauthorized`` (no credentials), 401
``InvalidApiKey`` (unknown, revoked or expired key), 401 ``InvalidToken`` (bad JWT),
403 ``ScopeRequired`` with ``details.required_scope``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from gateway.api.errors import ApiError
from gateway.auth.bearer import principal_from_bearer
from gateway.auth.credentials import bearer_token
from gateway.auth.errors import AuthCode, AuthError
from gateway.auth.principal import Principal
from gateway.state import IDENTITY, TOKEN_VERIFIER

PRINCIPAL = web.RequestKey("principal", Principal)

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="nfyio-gateway"'}
_AUTH_CODES: dict[AuthCode, str] = {
    "InvalidAccessKeyId": "InvalidApiKey",
    "InvalidToken": "InvalidToken",
    "UnsupportedAuthorization": "Unauthorized",
}
"""How this listener names each authentication failure (always 401 with a challenge)."""


def auth_error(exc: AuthError) -> ApiError:
    return ApiError(401, _AUTH_CODES[exc.code], exc.message, headers=_CHALLENGE)


async def authenticate(request: web.Request) -> Principal:
    """The caller of this request (cached on the request), or a 401 ``ApiError``."""
    if PRINCIPAL in request:
        return request[PRINCIPAL]
    try:
        token = bearer_token(request.headers)
    except AuthError as exc:
        raise auth_error(exc) from exc
    if token is None:
        raise ApiError(401, "Unauthorized", "Authentication required", headers=_CHALLENGE)
    try:
        principal = await principal_from_bearer(
            token, request.app[IDENTITY], request.app[TOKEN_VERIFIER], datetime.now(UTC)
        )
    except AuthError as exc:
        raise auth_error(exc) from exc
    request[PRINCIPAL] = principal
    return principal


async def require_scope(request: web.Request, scope: str) -> Principal:
    """Authenticate and check one scope (``admin`` grants all)."""
    principal = await authenticate(request)
    if not principal.has_scope(scope):
        raise ApiError(
            403,
            "ScopeRequired",
            f"This operation requires the '{scope}' scope",
            {"required_scope": scope},
        )
    return principal
