"""JSON errors on the API listener: ``{"error": {"code", "message", "details"}}``.

:func:`error_response` is the one place an exception becomes that envelope, whatever
raised it: a handler or the access check (:class:`ApiError`), the credential parser
(:class:`~gateway.auth.errors.AuthError`), an account's count limit (409,
:class:`~gateway.identity.quota.AccountLimitReached`), aiohttp's router and body limits (404 for an
unknown route, 405 with ``Allow``, 413) or a bug (500 ``InternalError``, logged with its
traceback, no details). :func:`json_error_middleware` calls it for every request on the
listener. The OAuth endpoints answer RFC 6749 errors themselves
(:func:`gateway.oauth.errors.oauth_endpoint`) and never reach it with an ``OAuthError``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from gateway import SERVER
from gateway.auth.errors import AuthCode, AuthError
from gateway.identity.db import StoreUnavailable, UnstorableText
from gateway.identity.quota import AccountLimitReached
from gateway.malformed import describe
from gateway.oauth import errors as oauth_errors
from gateway.oauth.errors import error_description
from gateway.storage_full import no_room
from gateway.tracebacks import drop_tracebacks

__all__ = [
    "UNAUTHORIZED_HEADERS",
    "ApiError",
    "bearer_challenge",
    "error_response",
    "insufficient_scope",
    "json_error_middleware",
    "malformed_response",
]

log = logging.getLogger("nfyio.api")
_MAX_LOGGED_PATH = 512
"""As ``gateway.api.observe.MAX_LOGGED_PATH`` (which imports this module)."""


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = dict(details or {})
        self.headers = dict(headers or {})


_REALM = 'Bearer realm="nfyio-gateway"'
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": _REALM}
"""The challenge of a 401 for a request that presented no credential (RFC 6750 3.1: no
``error`` attribute then)."""


def bearer_challenge(error: str, description: str, *, scope: str | None = None) -> dict[str, str]:
    """RFC 6750 3: ``WWW-Authenticate: Bearer realm=..., error=..., error_description=...``
    (and ``scope``) for a refused token (``invalid_token``, 401) or one that lacks a
    scope (``insufficient_scope``, 403). The description is reduced to the characters
    a quoted ``error_description`` may hold (RFC 6750 3: those of RFC 6749 5.2)."""
    value = f'{_REALM}, error="{error}", error_description="{error_description(description)}"'
    if scope is not None:
        value += f', scope="{error_description(scope)}"'
    return {"WWW-Authenticate": value}


def insufficient_scope(scope: str | None, description: str) -> dict[str, str]:
    """The challenge of a 403 for a credential that lacks ``scope`` (RFC 6750 3.1)."""
    return bearer_challenge("insufficient_scope", description, scope=scope)


_AUTH_CODES: dict[AuthCode, str] = {
    "InvalidAccessKeyId": "InvalidApiKey",
    "InvalidToken": "InvalidToken",
    "UnsupportedAuthorization": "Unauthorized",
    "AmbiguousCredential": "InvalidRequest",
}
"""How this listener names each authentication failure (401 with a challenge; an
ambiguous credential 400)."""

_HTTP_CODES = {
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
}
"""Codes of aiohttp's own errors (router, body size); other 4xx are ``InvalidRequest``."""

_KEPT_HEADERS = frozenset({"Allow", "WWW-Authenticate", "Retry-After"})
"""Headers of an aiohttp error that belong to its status (405's Allow, 401's challenge)."""


def _as_api_error(exc: Exception, request: web.Request) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, AuthError):
        if exc.code == "AmbiguousCredential":
            # RFC 6750 3.1: a token sent by more than one method is invalid_request, 400
            challenge = bearer_challenge("invalid_request", exc.message)
            return ApiError(400, "InvalidRequest", exc.message, headers=challenge)
        headers = UNAUTHORIZED_HEADERS
        if exc.code != "UnsupportedAuthorization":
            # A bearer credential (JWT or API key secret) was presented and refused.
            headers = bearer_challenge("invalid_token", exc.message)
        return ApiError(401, _AUTH_CODES[exc.code], exc.message, headers=headers)
    if isinstance(exc, AccountLimitReached):  # gateway/identity/quota.py
        return ApiError(
            409,
            "Conflict",
            f"The account has {exc.most} {exc.what} already, as many as it may",
            {"limit": exc.most},
        )
    if isinstance(exc, UnstorableText):
        return ApiError(400, "InvalidRequest", "A value in the request holds a NUL character")
    if isinstance(exc, StoreUnavailable):
        return ApiError(
            503,
            "ServiceUnavailable",
            "The state store is unavailable; retry later",
            headers={"Retry-After": str(exc.retry_after)},
        )
    refusal = no_room(exc)
    if refusal is not None:
        return ApiError(
            503,
            "ServiceUnavailable",
            refusal.message,
            headers={"Retry-After": refusal.extra["RetryAfter"]},
        )
    if isinstance(exc, web.HTTPException) and exc.status >= 400:
        code = _HTTP_CODES.get(
            exc.status, "InvalidRequest" if exc.status < 500 else "InternalError"
        )
        headers = {k: v for k, v in exc.headers.items() if k in _KEPT_HEADERS}
        return ApiError(exc.status, code, exc.reason, headers=headers)
    # The raw path (as the access log's line): the decoded one may hold a line break or
    # an ANSI escape (%0a, %1b), which would forge or hide lines of the text log.
    path = request.rel_url.raw_path[:_MAX_LOGGED_PATH]
    log.error("internal error on %s %s", request.method, path, exc_info=exc)
    return ApiError(500, "InternalError", "Internal server error")


def malformed_response(status: int, exc: BaseException | None) -> web.Response:
    """The answer to a request aiohttp's parser refused before any middleware ran
    (:mod:`gateway.malformed`): the JSON envelope, naming what was wrong without quoting
    it. The path is unknown (the request line may be what is broken), so an OAuth
    endpoint's client gets this envelope too."""
    if status >= 500:
        code, message = "InternalError", "Internal server error"
    else:
        code, message = "InvalidRequest", describe(exc)
    body = {"error": {"code": code, "message": message, "details": {}}}
    return web.json_response(body, status=status, headers={"Server": SERVER})


def error_response(exc: Exception, request: web.Request) -> web.Response:
    """The ``/v1`` JSON envelope for any exception raised while serving ``request``;
    aiohttp's 4xx on an OAuth endpoint (405 for GET) is an RFC 6749 error instead."""
    if (
        isinstance(exc, web.HTTPException)
        and 400 <= exc.status < 500
        and request.path in oauth_errors.ENDPOINTS
    ):
        return oauth_errors.http_error(exc)
    error = _as_api_error(exc, request)
    body = {"error": {"code": error.code, "message": error.message, "details": error.details}}
    return web.json_response(body, status=error.status, headers=error.headers)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def json_error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error of the listener answered as the envelope; once answered (and logged,
    for a 500) its tracebacks are dropped, so no reference cycle through its frames keeps
    the request's objects for the cyclic collector (``gateway/tracebacks.py``)."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:  # redirects and the like are responses, not errors
            raise
        response = error_response(exc, request)
        drop_tracebacks(exc)  # e.g. aiohttp's 404: its match info holds it
        return response
    except ConnectionError:
        raise  # the client went away mid-request: nobody to answer, not the gateway's fault
    except Exception as exc:
        response = error_response(exc, request)
        drop_tracebacks(exc)
        return response
