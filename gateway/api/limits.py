"""The rate limit on the API listener: once the caller is known, before anything else.

An authenticated caller is admitted by the access middleware right after authentication
(:func:`admit_caller`), before the scope check and the query check, as the S3 listener
admits right after authentication: a request its row refuses (403 ``ScopeRequired``,
``RootRequired``, 400 for an unknown query parameter) still spends the caller's own
bucket, and is refused 429 once that is empty. Everything else (public rows:
``/oauth/*``, the console's files and session, ``/v1/openapi.json``; unknown routes) is
admitted here, by :func:`rate_limit_middleware`, against the client address. Over the
limit: ``429 RateLimitExceeded`` in the ``/v1`` JSON envelope with ``Retry-After`` and
``details.retry_after``; on ``/oauth/*`` the RFC 6749 shape, ``429 {"error":
"slow_down"}``, as the token endpoint's own throttle answers. ``/health``, ``/ready`` and
``/metrics`` are exempt (:mod:`gateway.ratelimit.http`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway.api.errors import ApiError
from gateway.audit.http import REQUEST_ID, note_key_use
from gateway.oauth.errors import NO_STORE
from gateway.principal import ANONYMOUS, Principal
from gateway.ratelimit import http as limits

__all__ = ["admit_caller", "rate_limit_middleware"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_ADMITTED = web.RequestKey("rate_limit_admitted", bool)
"""Set once a request spent its tokens: it is never admitted twice."""


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


async def admit_caller(request: web.Request, principal: Principal) -> web.StreamResponse | None:
    """Spend ``principal``'s tokens for this request: the refusal to answer with (a 429
    is raised as :class:`ApiError` on ``/v1``), or ``None`` when admitted."""
    request[_ADMITTED] = True
    verdict = await limits.admit(request, principal)
    if principal.key_id is not None:
        note_key_use(request, principal, request.get(REQUEST_ID), "api")
    if verdict is not None and not verdict.allowed:
        return _refused(request, verdict.retry_after())
    return None


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if limits.exempt(request) or request.get(_ADMITTED):
        return await handler(request)
    refusal = await admit_caller(request, ANONYMOUS)
    if refusal is not None:
        return refusal
    return await handler(request)
