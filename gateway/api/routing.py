"""What a row of the API listener's route table holds, and how the router is built from it.

The table itself is :data:`gateway.api.routes.ROUTES`. Each :class:`Route` names the method,
the path template, the handler and who may call it:

- a scope name (``read:buckets``, ``admin``, ...): an authenticated caller holding it
  (``admin`` grants every scope);
- :data:`ANY_CALLER` (``None``): any authenticated caller; the handler may apply finer
  rules of its own (e.g. the no-escalation rules of ``key_policy``);
- :data:`PUBLIC`: no authentication (``/health``, ``/v1/openapi.json``, ...);
- :data:`ROOT`: the root key from the environment only (``/v1/accounts``): the one
  principal that manages accounts; an ``admin`` of any account, the system account
  included, is refused.

:func:`register` adds the rows to ``app.router`` and remembers which aiohttp route came
from which row, so the access middleware (:func:`gateway.api.auth.access_middleware`) and
the OpenAPI document read the same rows the router was built from. Every ``/v1`` GET row
answers HEAD too, as that row (its scope, query and access checks), without the body.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute

from gateway.config import Config

__all__ = [
    "ANY_CALLER",
    "PUBLIC",
    "ROOT",
    "ROUTE_ROWS",
    "Access",
    "Public",
    "Root",
    "Route",
    "continue_body",
    "register",
    "row_of",
    "rows_of",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Public(enum.Enum):
    """The marker of routes that need no credentials."""

    PUBLIC = "public"


class Root(enum.Enum):
    """The marker of routes only the environment's root key may call."""

    ROOT = "root"


PUBLIC = Public.PUBLIC
ROOT = Root.ROOT
ANY_CALLER = None
"""Any authenticated caller, whatever its scopes."""

Access = str | Public | Root | None
"""A scope name, :data:`PUBLIC`, :data:`ROOT` or :data:`ANY_CALLER`."""


@dataclass(frozen=True, slots=True)
class Route:
    """One row: ``Route("GET", "/v1/buckets", buckets.list_buckets, READ_BUCKETS)``.

    ``when``: the row exists only when it returns true for the configuration (``/metrics``
    with ``server.metrics = false`` is not routed at all). ``audit``: the audit log's
    action for each attempt by an authenticated caller (:mod:`gateway.api.observe`).
    """

    method: str
    path: str
    handler: Handler
    scope: Access
    when: Callable[[Config], bool] | None = None
    audit: str | None = None
    own_continue: bool = False
    """The handler answers ``Expect: 100-continue`` itself (:func:`continue_body`) once
    its own decision is made (an object upload: the bucket policy's); every other row is
    answered by the access middleware once the caller is authenticated and allowed."""

    @property
    def documented(self) -> bool:
        """Whether the OpenAPI document must describe this row: every ``/v1`` row but
        HEAD (``/health``, ``/ready`` and ``/metrics`` are for operators, not clients)."""
        return self.path.startswith("/v1/") and self.method != "HEAD"

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods the row is routed for: a ``/v1`` GET row answers HEAD too, as GET
        without the body (RFC 9110 9.3.2): the same row, so the same scope, query and
        access checks, the same handler and headers."""
        if self.method == "GET" and self.path.startswith("/v1/"):
            return ("GET", "HEAD")
        return (self.method,)

    def enabled(self, config: Config) -> bool:
        return self.when is None or self.when(config)


ROUTE_ROWS: web.AppKey[Mapping[AbstractRoute, Route]] = web.AppKey("route_rows")
"""The aiohttp route each row became, and back."""


def register(app: web.Application, rows: Iterable[Route], config: Config) -> None:
    """Add the enabled rows to ``app.router`` (one resource per path template)."""
    resources: dict[str, web.Resource] = {}
    routed: dict[AbstractRoute, Route] = {}
    for row in rows:
        if not row.enabled(config):
            continue
        resource = resources.get(row.path)
        if resource is None:
            resource = resources[row.path] = app.router.add_resource(row.path)
        for method in row.methods:
            route = resource.add_route(method, row.handler, expect_handler=_hold_continue)
            routed[route] = row
    app[ROUTE_ROWS] = routed
    app.on_response_prepare.append(_close_unread)


_CONTINUED = web.RequestKey("continued", bool)


def _expects_continue(request: web.BaseRequest) -> bool:
    return request.version >= (1, 1) and request.headers.get("Expect", "").lower() == (
        "100-continue"
    )


async def _hold_continue(request: web.Request) -> None:
    """aiohttp's own expect handler answers ``100 Continue`` before any middleware, so
    an unauthenticated client would be invited to send its whole body before its 401:
    the rows answer it with :func:`continue_body` instead."""


async def continue_body(request: web.Request) -> None:
    """Answer ``Expect: 100-continue`` (once): the request may send its body now."""
    if _expects_continue(request) and not request.get(_CONTINUED, False):
        request[_CONTINUED] = True
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0


async def _close_unread(request: web.Request, response: web.StreamResponse) -> None:
    """A client holding its body back for a ``100 Continue`` it never got (refused
    before it): the connection is out of step, so it ends after this answer rather
    than read the next request out of a body that may or may not follow."""
    if (
        _expects_continue(request)
        and not request.get(_CONTINUED, False)
        and row_of(request) is not None
    ):
        response.force_close()
        response.headers["Connection"] = "close"  # the headers are not written yet


def row_of(request: web.Request) -> Route | None:
    """The row the request matched; None for other routes and for 404/405."""
    return request.app[ROUTE_ROWS].get(request.match_info.route)


def rows_of(app: web.Application) -> list[Route]:
    """The rows routed on ``app``, in table order (a ``/v1`` GET row once, though it
    answers HEAD too)."""
    return list(dict.fromkeys(app[ROUTE_ROWS].values()))
