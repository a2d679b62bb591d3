"""The limiter on both listeners: admission, and the ``X-RateLimit-*`` headers.

- :func:`admit` spends the request's tokens once its caller is known (the S3 listener's
  admission hook, :mod:`gateway.s3.admission`; the API's middleware,
  :mod:`gateway.api.limits`; the CORS preflights of both, which are anonymous, before
  their rules are read: :mod:`gateway.s3.dispatch`, :mod:`gateway.api.cors`) and
  remembers the verdict on the request.
- :func:`install` registers an ``on_response_prepare`` handler that writes the verdict's
  headers on every response, streamed ones included (it runs before the status line
  leaves). A response without a verdict (authentication failed before admission, an
  unknown route) is counted against the client address then, and reports that bucket;
  it is never refused at that point, its answer is already made.

``/health``, ``/ready`` and ``/metrics`` are exempt on the API listener: load balancers and
Prometheus poll them, and a 429 there would take a healthy gateway out of rotation.
"""

from __future__ import annotations

import logging

from aiohttp import web

from gateway.peer import client_address
from gateway.principal import ANONYMOUS, Principal
from gateway.ratelimit.limiter import RateLimiter
from gateway.ratelimit.verdict import Verdict

__all__ = ["EXEMPT_PATHS", "RATE_LIMITER", "VERDICT", "admit", "exempt", "install"]

log = logging.getLogger("nfyio.ratelimit")

RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
VERDICT = web.RequestKey("rate_limit_verdict", Verdict)
_EXEMPT = web.AppKey("rate_limit_exempt", frozenset)
EXEMPT_PATHS = frozenset({"/health", "/ready", "/metrics"})


def exempt(request: web.Request) -> bool:
    return request.path in request.app[_EXEMPT]


async def admit(request: web.Request, principal: Principal) -> Verdict | None:
    """Spend this request's tokens; the verdict (``None``: no limit applies) is kept
    for the response headers. The caller refuses a verdict that is not ``allowed``."""
    # the client's address names only an anonymous caller's bucket
    address = client_address(request) if principal.kind == "anonymous" else ""
    verdict = await request.app[RATE_LIMITER].admit(principal, address)
    if verdict is not None:
        request[VERDICT] = verdict
    return verdict


async def _write_headers(request: web.Request, response: web.StreamResponse) -> None:
    verdict = request.get(VERDICT)
    try:
        if verdict is None:
            if exempt(request):
                return
            verdict = await admit(request, ANONYMOUS)
            if verdict is None:
                return
            verdict.write_headers(response.headers, retry=False)
            return
        verdict.write_headers(response.headers)
    except Exception:  # a header is never worth a failed response
        log.exception("writing rate-limit headers failed")


def install(app: web.Application, *, exempt_paths: frozenset[str]) -> None:
    """Write the headers on ``app``'s responses; ``app[RATE_LIMITER]`` is set when the
    app's resources open."""
    app[_EXEMPT] = exempt_paths
    app.on_response_prepare.append(_write_headers)
