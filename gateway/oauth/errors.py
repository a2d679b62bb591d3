"""RFC 6749 section 5.2 errors and the headers every OAuth response carries."""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from gateway.identity.db import StoreUnavailable, UnstorableText
from gateway.storage_full import no_room

__all__ = [
    "ENDPOINTS",
    "NO_STORE",
    "OAuthError",
    "error_description",
    "http_error",
    "invalid_client",
    "oauth_endpoint",
    "oauth_json",
]

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="nfyio-gateway", charset="UTF-8"'}
_DESCRIPTION_CHARS = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")
MAX_DESCRIPTION = 256
"""Longest ``error_description`` sent (some echo what the client sent, e.g. a scope)."""


def error_description(text: str) -> str:
    """``text`` as RFC 6749 5.2 allows an ``error_description``: printable ASCII without
    ``"`` and ``\\`` (each other character becomes ``?``), at most ``MAX_DESCRIPTION``
    characters. Descriptions that echo a client's input (an unknown scope name, a
    repeated parameter's name) would otherwise carry anything, at any length."""
    clean = _DESCRIPTION_CHARS.sub("?", text)
    if len(clean) > MAX_DESCRIPTION:
        clean = clean[: MAX_DESCRIPTION - 3] + "..."
    return clean


class OAuthError(Exception):
    """``{"error": code, "error_description": description}`` with ``status``."""

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int = 400,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.headers = dict(headers or {})


ENDPOINTS = frozenset({"/oauth/token", "/oauth/revoke", "/oauth/introspect"})
"""The paths whose every answer is an RFC 6749 error or success, never cached."""


def http_error(exc: web.HTTPException) -> web.Response:
    """aiohttp's own refusal of a request to one of :data:`ENDPOINTS` (in practice 405
    for a method other than POST, RFC 6749 3.2) as an RFC 6749 ``invalid_request`` with
    the status, its ``Allow`` and ``Cache-Control: no-store``: a client reading OAuth
    errors gets one, and no cache keeps it. Called by the API listener's error renderer
    (``gateway.api.errors.error_response``)."""
    allow = exc.headers.get("Allow")
    headers = {**NO_STORE, **({"Allow": allow} if allow is not None else {})}
    description = "The method must be POST" if exc.status == 405 else exc.reason
    body = {"error": "invalid_request", "error_description": error_description(description)}
    return web.json_response(body, status=exc.status, headers=headers)


def invalid_client(description: str = "Client authentication failed") -> OAuthError:
    """401 with a Basic challenge (RFC 6749 section 5.2), whichever method was used."""
    return OAuthError("invalid_client", description, status=401, headers=_BASIC_CHALLENGE)


def oauth_json(body: Mapping[str, Any], *, status: int = 200) -> web.Response:
    return web.json_response(dict(body), status=status, headers=NO_STORE)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def oauth_endpoint(handler: Handler) -> Handler:
    """Render :class:`OAuthError` as an RFC 6749 error response (never cached)."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except OAuthError as exc:
            body = {"error": exc.error, "error_description": error_description(exc.description)}
            return web.json_response(body, status=exc.status, headers={**NO_STORE, **exc.headers})
        except UnstorableText:
            # a NUL the form reader lets through (a password) reached a look-up
            body = {"error": "invalid_request", "error_description": "A parameter holds NUL"}
            return web.json_response(body, status=400, headers=NO_STORE)
        except StoreUnavailable as exc:
            # RFC 6749's code for "cannot handle the request now"; 503 as for any request
            # the state store cannot serve.
            return _temporarily_unavailable(
                "The state store is unavailable; retry later", exc.retry_after
            )
        except Exception as exc:
            refusal = no_room(exc)  # the state store's disk is full
            if refusal is None:
                raise
            return _temporarily_unavailable(refusal.message, refusal.extra["RetryAfter"])

    return wrapper


def _temporarily_unavailable(description: str, retry_after: int | str) -> web.Response:
    body = {"error": "temporarily_unavailable", "error_description": error_description(description)}
    headers = {**NO_STORE, "Retry-After": str(retry_after)}
    return web.json_response(body, status=503, headers=headers)
