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
from gateway.auth.errors import AuthError
from gateway.auth.principal import Principal
from gateway.state import IDENTITY, TOKEN_VERIFIER

PRINCIPAL = web.RequestKey("principal", Principal)

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="nfyio-gateway"'}


async def authenticate(request: web.Request) -> Principal:
    """The caller of this request (cached on the request), or a 401 ``ApiError``."""
    if PRINCIPAL in request:
        return request[PRINCIPAL]
    token: str | None = None
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(
                401,
                "Unauthorized",
                "Use 'Authorization: Bearer <token>' or 'X-API-Key: <key>'",
                headers=_CHALLENGE,
            )
        token = value.strip()
    elif "X-API-Key" in request.headers:
        token = request.headers["X-API-Key"].strip()
    if not token:
        raise ApiError(401, "Unauthorized", "Authentication required", headers=_CHALLENGE)
    try:
        principal = await principal_from_bearer(
            token, request.app[IDENTITY], request.app[TOKEN_VERIFIER], datetime.now(UTC)
        )
    except AuthError as exc:
        raise ApiError(401, exc.api_code, exc.message, headers=_CHALLENGE) from exc
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
