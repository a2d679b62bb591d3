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
the OpenAPI document read the same rows the router was built from.
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

    @property
    def documented(self) -> bool:
        """Whether the OpenAPI document must describe this row: every ``/v1`` row but
        HEAD (``/health``, ``/ready`` and ``/metrics`` are for operators, not clients)."""
        return self.path.startswith("/v1/") and self.method != "HEAD"

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
        routed[resource.add_route(row.method, row.handler)] = row
    app[ROUTE_ROWS] = routed


def row_of(request: web.Request) -> Route | None:
    """The row the request matched; None for other routes and for 404/405."""
    return request.app[ROUTE_ROWS].get(request.match_info.route)


def rows_of(app: web.Application) -> list[Route]:
    """The rows routed on ``app``, in table order."""
    return list(app[ROUTE_ROWS].values())
