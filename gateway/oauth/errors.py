"""RFC 6749 section 5.2 errors and the headers every OAuth response carries."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from gateway.identity.db import StoreUnavailable
from gateway.storage_full import no_room

__all__ = ["NO_STORE", "OAuthError", "invalid_client", "oauth_endpoint", "oauth_json"]

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="nfyio-gateway", charset="UTF-8"'}


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
            body = {"error": exc.error, "error_description": exc.description}
            return web.json_response(body, status=exc.status, headers={**NO_STORE, **exc.headers})
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
    body = {"error": "temporarily_unavailable", "error_description": description}
    headers = {**NO_STORE, "Retry-After": str(retry_after)}
    return web.json_response(body, status=503, headers=headers)
