"""Liveness (``/health``) and readiness (``/ready``).

``/health`` answers 200 while the process serves; its body says whether the upstream store
answers (``"status": "degraded"`` when it does not). ``/ready`` is what a load balancer
probes: 200 only when this gateway can serve a request end to end, that is when the state
store (SQLite or PostgreSQL: every authenticated request reads it) **and** the storage
backend both answer; otherwise 503 with ``Retry-After`` and which of them failed. Both
checks run at once and each is bounded by ``READY_TIMEOUT``, so a probe never hangs on a
pool waiting for a dead database.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from backends.outage import OutageLog
from gateway import __version__
from gateway.identity.store import IdentityStore
from gateway.state import BACKEND, IDENTITY

__all__ = ["READY_TIMEOUT", "health", "ready"]

logger = logging.getLogger(__name__)
ready_log = OutageLog(logger, "readiness: the state store")
"""A balancer asks every few seconds: a line when the store stops answering, at most
one per 10 s, one when it answers again (``backends.outage``)."""

READY_TIMEOUT = 2.0
"""Seconds each readiness check may take before it counts as unavailable."""


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


async def _state_ready(store: IdentityStore) -> bool:
    """One trivial query through the store's own connection (pool): proves the database
    answers and that a connection can be had."""
    try:
        await asyncio.wait_for(store.db.fetch_one("SELECT 1"), READY_TIMEOUT)
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        ready_log.failed(f"it does not answer: {exc!r}")
        return False
    ready_log.available()
    return True


async def _backend_ready(request: web.Request) -> bool:
    try:
        return await asyncio.wait_for(request.app[BACKEND].ready(), READY_TIMEOUT)
    except TimeoutError:
        return False


async def ready(request: web.Request) -> web.Response:
    backend = request.app[BACKEND]
    state_ok, backend_ok = await asyncio.gather(
        _state_ready(request.app[IDENTITY]), _backend_ready(request)
    )
    checks = {
        "state": "ok" if state_ok else "unavailable",
        "backend": "ok" if backend_ok else "unavailable",
    }
    if state_ok and backend_ok:
        return web.json_response({"status": "ready", "checks": checks})
    return web.json_response(
        {"status": "unavailable", "backend": backend.name, "checks": checks},
        status=503,
        headers={"Retry-After": "5"},
    )
