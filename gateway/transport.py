"""``server.require_tls``: credentials never travel in clear text over a network.

A request *carries credentials* when it has an ``Authorization`` or ``X-API-Key`` header,
presigned-URL parameters (SigV4 ``X-Amz-Credential``/``X-Amz-Signature``, SigV2
``AWSAccessKeyId``/``Signature``) or, on the API listener, is an ``/oauth/`` request (a
client secret, password, refresh token or token to introspect in its form body) or a
call of the console's session endpoint (``/console/session``: a password in its body, the
refresh cookie, an access token in its answer).

It *travelled in clear text* when the connection is not TLS and the peer is not a
loopback address. Behind a reverse proxy (``server.trusted_forwarded_headers``) the
proxy's ``X-Forwarded-Proto`` decides instead: ``https`` is fine whatever the hop to the
gateway is, anything else means the client spoke plain HTTP to the proxy.

With ``server.require_tls`` such requests are refused before any credential is looked
at: S3 XML ``AccessDenied`` on the S3 listener, the JSON envelope (RFC 6749
``invalid_request`` on ``/oauth/``) on the API listener. Without it, the gateway warns at
start-up when it listens on a non-loopback address without TLS (:func:`plaintext_warning`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Container, Mapping

from aiohttp import web

from gateway.config import Config
from gateway.peer import forwarded_proto
from gateway.state import CONFIG

__all__ = [
    "TLS_REQUIRED",
    "carries_credentials",
    "cleartext",
    "is_loopback",
    "plaintext_warning",
    "refused",
    "require_tls_middleware",
]

TLS_REQUIRED = (
    "This gateway requires HTTPS for requests that carry credentials "
    "(server.require_tls); use an https:// endpoint"
)
_QUERY_CREDENTIALS = ("X-Amz-Credential", "X-Amz-Signature", "AWSAccessKeyId", "Signature")
_CREDENTIAL_PATHS = ("/oauth/", "/console/session")
"""API listener paths whose requests carry a credential in their body or a cookie."""


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 (also IPv4-mapped) and ``localhost``; None (a Unix
    socket) is local too."""
    if host is None:
        return True
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def carries_credentials(
    headers: Mapping[str, str], query_names: Container[str], *, path: str = ""
) -> bool:
    """Whether a request presents a credential (see the module doc). ``headers`` looks
    names up case-insensitively or holds lower-case names; ``query_names`` are decoded (a
    set, or the decoded query itself: only ``in`` is asked of it)."""
    if headers.get("authorization") is not None or headers.get("x-api-key") is not None:
        return True
    if any(name in query_names for name in _QUERY_CREDENTIALS):
        return True
    return path.startswith(_CREDENTIAL_PATHS)


def cleartext(*, secure: bool, remote: str | None, forwarded_proto: str | None) -> bool:
    """Whether the client's request crossed a network unencrypted.

    ``forwarded_proto`` is the trusted proxy's ``X-Forwarded-Proto`` as
    :func:`gateway.peer.forwarded_proto` reads it (None when absent or not trusted):
    anything but ``https`` is a client that spoke plain HTTP to the proxy."""
    if forwarded_proto is not None:
        return forwarded_proto != "https"
    return not secure and not is_loopback(remote)


def refused(
    config: Config,
    request: web.BaseRequest,
    headers: Mapping[str, str],
    query_names: Container[str],
    *,
    api_listener: bool = False,
) -> bool:
    """True when ``server.require_tls`` refuses ``request``. ``api_listener``: the request
    came to the API listener, where ``/oauth/`` and ``/console/session`` carry credentials;
    on the S3 listener those paths are a bucket's (``oauth``, ``console``), no credential."""
    if not config.server.require_tls:
        return False
    path = request.path if api_listener else ""
    if not carries_credentials(headers, query_names, path=path):
        return False
    proto = forwarded_proto(request) if config.server.trusted_forwarded_headers else None
    return cleartext(secure=request.secure, remote=request.remote, forwarded_proto=proto)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def require_tls_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The API listener's check (the S3 listener's lives in its dispatcher)."""
    if refused(
        request.app[CONFIG], request, request.headers, set(request.query.keys()), api_listener=True
    ):
        if request.path.startswith("/oauth/"):
            body: dict[str, object] = {
                "error": "invalid_request",
                "error_description": TLS_REQUIRED,
            }
            return web.json_response(
                body, status=400, headers={"Cache-Control": "no-store", "Pragma": "no-cache"}
            )
        envelope = {"error": {"code": "TLSRequired", "message": TLS_REQUIRED, "details": {}}}
        return web.json_response(envelope, status=403)
    return await handler(request)


def plaintext_warning(config: Config) -> str | None:
    """The start-up warning when credentials would cross a network unencrypted (None
    with TLS, a loopback address or ``server.require_tls``)."""
    server = config.server
    if server.tls_cert or server.require_tls or is_loopback(server.host):
        return None
    return (
        f"listening on {server.host or '*'} without TLS: access keys, presigned URLs and "
        "OAuth secrets cross the network unencrypted; serve HTTPS (--tls-cert/--tls-key), "
        "put a TLS-terminating proxy in front, or set server.require_tls = true"
    )
