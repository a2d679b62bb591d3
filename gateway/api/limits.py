"""The rate limit on the API listener: after the access check, before the handler.

The caller is the authenticated principal of the matched row (``request[PRINCIPAL]``), or
the client address for everything else (public rows: ``/oauth/*``, the console's files
and session, ``/v1/openapi.json``; unknown routes). Over the limit: ``429
RateLimitExceeded`` in the ``/v1`` JSON envelope with ``Retry-After`` and
``details.retry_after``; on ``/oauth/*`` the RFC 6749 shape, ``429 {"error":
"slow_down"}``, as the token endpoint's own throttle answers. ``/health``, ``/ready`` and
``/metrics`` are exempt (:mod:`gateway.ratelimit.http`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway.api.auth import PRINCIPAL
from gateway.api.errors import ApiError
from gateway.audit.http import REQUEST_ID, note_key_use
from gateway.oauth.errors import NO_STORE
from gateway.principal import ANONYMOUS
from gateway.ratelimit import http as limits

__all__ = ["rate_limit_middleware"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _refused(request: web.Request, retry_after: int) -> web.StreamResponse:
    message = f"Rate limit exceeded; retry in {retry_after} s"
    if request.path.startswith("/oauth/"):
        return web.json_response(
            {"error": "slow_down", "error_description": message}, status=429, headers=NO_STORE
        )
    raise ApiError(
        429,
        "RateLimitExceeded",
        message,
        {"retry_after": retry_after},
    )


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if limits.exempt(request):
        return await handler(request)
    principal = request.get(PRINCIPAL, ANONYMOUS)
    verdict = await limits.admit(request, principal)
    if principal.key_id is not None:
        note_key_use(request, principal, request.get(REQUEST_ID), "api")
    if verdict is not None and not verdict.allowed:
        return _refused(request, verdict.retry_after())
    return await handler(request)
