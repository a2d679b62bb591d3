"""CORS on the API listener: pages from the origins in ``cors.api_origins`` may call
``/v1`` and ``/oauth`` (docs/cors.md). Nothing is installed when the list is empty (the
default), so the listener then answers exactly as before and pays nothing.

- **Where**: paths under ``/v1/`` and ``/oauth/`` only. The console (``/console``) is
  never opened to another origin: its session endpoint relies on no preflight ever being
  granted for its CSRF header (``gateway/console/session.py``).
- **Who**: exact origins (``https://app.example.com``), or ``*`` for any page.
- **Credentials**: never. ``Access-Control-Allow-Credentials`` is not sent, so a browser
  attaches no cookie or HTTP authentication of its own to such calls; these routes take
  their token in the ``Authorization`` (or ``X-API-Key``) header, which a page sets
  itself. ``*`` is therefore never combined with credentials.
- **Preflights** (``OPTIONS`` with ``Access-Control-Request-Method``) are answered here,
  before routing and authentication: 204 with the allowed methods and headers, or 403
  (the ``/v1`` JSON envelope, code ``CorsNotAllowed``) for another origin, method or
  request header. They authorise nothing. Each first spends a token of the client
  address's rate-limit bucket (a preflight carries no credential: it is anonymous);
  once that is empty it is refused as any anonymous request is
  (:mod:`gateway.api.limits`: 429), before the policy is consulted, and with no
  ``Access-Control-*`` header (a browser fails a preflight that is not 2xx whatever
  its headers say).
- **Actual requests** from an allowed origin get ``Access-Control-Allow-Origin`` and
  ``Access-Control-Expose-Headers`` just before their headers are sent (the
  ``on_response_prepare`` signal), errors and streamed downloads included.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from gateway.api.errors import ApiError, error_response
from gateway.api.limits import admit_caller
from gateway.config import Config
from gateway.principal import ANONYMOUS

__all__ = ["ALLOWED_HEADERS", "ALLOWED_METHODS", "install", "preflight_middleware"]

ALLOWED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
ALLOWED_HEADERS = frozenset({"authorization", "content-type", "x-api-key"})
"""Request headers a page may send (beyond the CORS-safelisted ones)."""
EXPOSED = "ETag, Location, Retry-After, WWW-Authenticate, Content-Disposition"
_PREFIXES = ("/v1/", "/oauth/")
_VARY = "Origin"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _Policy:
    def __init__(self, config: Config) -> None:
        origins = config.cors.api_origins
        self.any = "*" in origins
        self.origins = frozenset(origins)
        self.max_age = str(config.cors.api_max_age)

    def allow_origin(self, origin: str) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for ``origin``, None if refused."""
        if self.any:
            return "*"
        return origin if origin in self.origins else None


def _is_preflight(request: web.BaseRequest) -> bool:
    return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers


def _refusal(reason: str) -> web.Response:
    body = {"error": {"code": "CorsNotAllowed", "message": reason, "details": {}}}
    return web.json_response(body, status=403, headers={"Vary": _VARY})


def _preflight(policy: _Policy, request: web.Request, origin: str) -> web.Response:
    allowed = policy.allow_origin(origin)
    if allowed is None:
        return _refusal("This origin may not call the API from a browser")
    method = request.headers.get("Access-Control-Request-Method", "")
    if method not in ALLOWED_METHODS:
        return _refusal(
            f"Access-Control-Request-Method must be one of: {', '.join(ALLOWED_METHODS)}"
        )
    requested = [
        name.strip().lower()
        for name in request.headers.get("Access-Control-Request-Headers", "").split(",")
        if name.strip()
    ]
    refused = [name for name in requested if name not in ALLOWED_HEADERS]
    if refused:
        # named by what may be asked, never by what was sent (docs/api.md)
        return _refusal(
            "Access-Control-Request-Headers may name only: " + ", ".join(sorted(ALLOWED_HEADERS))
        )
    headers = {
        "Access-Control-Allow-Origin": allowed,
        "Access-Control-Allow-Methods": ", ".join(ALLOWED_METHODS),
        "Access-Control-Max-Age": policy.max_age,
        "Vary": _VARY,
    }
    if requested:
        headers["Access-Control-Allow-Headers"] = ", ".join(requested)
    return web.Response(status=204, headers=headers)


async def _spend(request: web.Request) -> web.StreamResponse | None:
    """Spend the preflight's token from the client address's bucket (the response hook
    then reports that verdict and charges nothing more): the refusal to answer with,
    in the shape of the path's other refusals, or None when admitted. This middleware
    runs outside the JSON error converter, so a ``/v1`` refusal is rendered here."""
    try:
        return await admit_caller(request, ANONYMOUS)
    except ApiError as exc:
        return error_response(exc, request)


def preflight_middleware(config: Config) -> Middleware | None:
    """The middleware answering preflights (None when ``cors.api_origins`` is empty).
    Goes first (inside metrics): routing, authentication and the error envelope never see
    a preflight."""
    if not config.cors.api_origins:
        return None
    policy = _Policy(config)

    @web.middleware
    async def cors_preflight(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and _is_preflight(request) and request.path.startswith(_PREFIXES):
            refusal = await _spend(request)
            if refusal is not None:
                return refusal
            return _preflight(policy, request, origin)
        return await handler(request)

    return cors_preflight


def install(app: web.Application, config: Config) -> None:
    """The response hook adding CORS headers to actual requests (nothing when
    ``cors.api_origins`` is empty)."""
    if not config.cors.api_origins:
        return
    policy = _Policy(config)

    async def add_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
        if not request.path.startswith(_PREFIXES) or _is_preflight(request):
            return  # preflights carry what the middleware decided, nothing more
        if not policy.any:
            response.headers["Vary"] = _VARY
        origin = request.headers.get("Origin")
        allowed = None if origin is None else policy.allow_origin(origin)
        if allowed is not None and "Access-Control-Allow-Origin" not in response.headers:
            response.headers["Access-Control-Allow-Origin"] = allowed
            response.headers["Access-Control-Expose-Headers"] = EXPOSED

    app.on_response_prepare.append(add_headers)
