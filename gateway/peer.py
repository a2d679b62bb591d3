"""Who is on the other end of a request: the client address the throttles, the rate
limiter and the audit log count, and a user agent fit to store."""

from __future__ import annotations

from aiohttp import web

from gateway.state import CONFIG

__all__ = ["MAX_USER_AGENT", "client_address", "user_agent"]

MAX_USER_AGENT = 256
"""Characters of a User-Agent kept (the audit log stores it)."""


def client_address(request: web.Request) -> str:
    """The TCP peer, or behind a trusted reverse proxy (``server.trusted_forwarded_headers``)
    the last hop of ``X-Forwarded-For`` (the one the proxy added; earlier hops are the
    client's to invent)."""
    if request.app[CONFIG].server.trusted_forwarded_headers:
        forwarded = request.headers.get("X-Forwarded-For", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.remote or "unknown"


def user_agent(request: web.Request) -> str | None:
    """The ``User-Agent``, printable ASCII only (anything else becomes ``?``) and at most
    :data:`MAX_USER_AGENT` characters: a value fit for a log line or a table cell."""
    raw = request.headers.get("User-Agent")
    if not raw:
        return None
    clipped = raw[:MAX_USER_AGENT]
    return "".join(c if " " <= c <= "~" else "?" for c in clipped)
