"""Who is on the other end of a request: the client address the throttles, the rate
limiter and the audit log count, and a user agent fit to store."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence

from aiohttp import web

from gateway.state import CONFIG

__all__ = [
    "FORWARDED_FOR",
    "MAX_USER_AGENT",
    "client_address",
    "client_origin",
    "client_scheme",
    "forwarded_host",
    "forwarded_proto",
    "last_forwarded_hop",
    "tls_version",
    "user_agent",
]

FORWARDED_FOR = "X-Forwarded-For"
FORWARDED_PROTO = "X-Forwarded-Proto"
FORWARDED_HOST = "X-Forwarded-Host"

MAX_USER_AGENT = 256
"""Characters of a User-Agent kept (the audit log stores it)."""


def last_forwarded_hop(lines: Sequence[str]) -> str | None:
    """The address of the last hop of ``X-Forwarded-For`` over all its header lines, in
    order: the one the trusted proxy added (earlier hops are the client's to invent). A
    proxy either extends the client's line (nginx) or appends a line of its own
    (HAProxy's ``option forwardfor``), so the first line alone may be all the client's.
    None: no hop."""
    for line in reversed(lines):
        hops = [hop.strip() for hop in line.split(",") if hop.strip()]
        if hops:
            return _without_port(hops[-1])
    return None


def _without_port(hop: str) -> str:
    """A hop's address without the client's port that some proxies add (Azure Application
    Gateway and IIS ARR write ``203.0.113.7:51234`` and ``[2001:db8::7]:51234``): with it,
    each connection of one client would be another address to the rate limiter and the
    throttles, and match no ``aws:SourceIp``. A bare IPv6 address has two colons or more;
    a hop that is no address at all is returned as it is."""
    if hop.startswith("["):
        end = hop.find("]")
        return hop[1:end] if end > 1 else hop
    host, colon, port = hop.partition(":")
    if colon and host and port.isdigit():
        return host
    return hop


def client_address(request: web.Request) -> str:
    """The TCP peer, or behind a trusted reverse proxy (``server.trusted_forwarded_headers``)
    the last hop of ``X-Forwarded-For`` (:func:`last_forwarded_hop`)."""
    if request.app[CONFIG].server.trusted_forwarded_headers:
        hop = last_forwarded_hop(request.headers.getall(FORWARDED_FOR, ()))
        if hop is not None:
            return hop
    return request.remote or "unknown"


def forwarded_proto(request: web.BaseRequest) -> str | None:
    """The scheme the trusted proxy wrote in ``X-Forwarded-Proto``, lower-cased: the last
    item over all its header lines, as :func:`last_forwarded_hop` reads ``X-Forwarded-For``
    (a proxy that appends rather than sets leaves the client's own claim before its
    item: ``https, http`` is a client that said ``https`` over plain HTTP). None when
    absent or empty. The one reading of the header: ``aws:SecureTransport``, S3's
    ``base_url``, ``server.require_tls`` and the URLs the console and
    ``POST /v1/buckets/{name}/objects/presign`` build all take it from here. Call only
    with ``server.trusted_forwarded_headers``."""
    item = _last_item(request, FORWARDED_PROTO)
    return None if item is None else item.lower()


def forwarded_host(request: web.BaseRequest, *, trusted: bool) -> str | None:
    """The host the trusted proxy wrote in ``X-Forwarded-Host`` (``trusted``:
    ``server.trusted_forwarded_headers``; otherwise None, whatever the client sent): the
    last item over all its header lines, as :func:`forwarded_proto` reads its header (a
    proxy that appends leaves the client's own claim before its item). None when absent
    or empty. The one reading of the header: the S3 request's address and the ``Host`` its
    signature is checked against, CORS preflights, the console's own origin and the URLs
    ``POST /v1/buckets/{name}/objects/presign`` builds all take it from here."""
    return _last_item(request, FORWARDED_HOST) if trusted else None


def client_origin(request: web.BaseRequest, *, trusted: bool) -> tuple[str, str]:
    """(scheme, host) the client addressed: :func:`client_scheme` (``http`` or ``https``
    only) and :func:`forwarded_host`, else the connection's own. What the console's own
    origin and the S3 endpoint the presign route names are built from; a forwarded
    scheme other than the two (``wss``, garbage) is not taken as it was sent."""
    host = forwarded_host(request, trusted=trusted) or request.host
    return client_scheme(request, trusted=trusted), host


def _last_item(request: web.BaseRequest, name: str) -> str | None:
    for line in reversed(request.headers.getall(name, ())):
        items = [item.strip() for item in line.split(",") if item.strip()]
        if items:
            return items[-1]
    return None


def client_scheme(request: web.BaseRequest, *, trusted: bool) -> str:
    """``http`` or ``https``: the scheme the client used. Behind a trusted reverse proxy
    (``trusted``: ``server.trusted_forwarded_headers``) its ``X-Forwarded-Proto``
    (:func:`forwarded_proto`) when that is one of the two, else the connection's own (S3
    requests' ``base_url`` and every ``aws:SecureTransport``, on either listener)."""
    forwarded = forwarded_proto(request) if trusted else None
    if forwarded == "https" or forwarded == "http":
        return forwarded
    return "https" if request.secure else "http"


def user_agent(request: web.Request) -> str | None:
    """The ``User-Agent``, printable ASCII only (anything else becomes ``?``) and at most
    :data:`MAX_USER_AGENT` characters: a value fit for a log line or a table cell."""
    raw = request.headers.get("User-Agent")
    if not raw:
        return None
    clipped = raw[:MAX_USER_AGENT]
    return "".join(c if " " <= c <= "~" else "?" for c in clipped)


def tls_version(transport: asyncio.BaseTransport | None) -> str | None:
    """The TLS version of a connection as AWS writes ``s3:TlsVersion`` (``1.2``,
    ``1.3``); None over plain TCP (or a closed transport)."""
    if transport is None:
        return None
    ssl_object = transport.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return None
    version = ssl_object.version()
    if version is None or not version.startswith("TLSv"):
        return None
    return version.removeprefix("TLSv")
