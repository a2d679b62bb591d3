"""The ``/v1`` REST API: every route and its part of the OpenAPI document."""

from __future__ import annotations

from aiohttp import web

from gateway.api import buckets, keys, me, openapi, spec_v1

__all__ = ["add_routes"]


def add_routes(app: web.Application) -> None:
    keys.add_routes(app)
    buckets.add_routes(app)
    me.add_routes(app)
    openapi.add_routes(app)
    openapi.register(app, spec_v1.FRAGMENT)
