"""Liveness and readiness."""

from __future__ import annotations

from aiohttp import web

from gateway import __version__
from gateway.state import BACKEND

__all__ = ["health", "ready"]


async def health(request: web.Request) -> web.Response:
    backend = request.app[BACKEND]
    upstream_ok = await backend.ready()
    body: dict[str, object] = {
        "status": "ok" if upstream_ok else "degraded",
        "backend": backend.name,
        "version": __version__,
    }
    if backend.name != "filesystem":
        body["upstream"] = "ok" if upstream_ok else "unavailable"
    return web.json_response(body)


async def ready(request: web.Request) -> web.Response:
    backend = request.app[BACKEND]
    if await backend.ready():
        return web.json_response({"status": "ready"})
    return web.json_response(
        {"status": "unavailable", "backend": backend.name}, status=503, headers={"Retry-After": "5"}
    )
