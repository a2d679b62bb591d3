"""JSON errors on the API listener: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

log = logging.getLogger("nfyio.api")


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


def error_response(error: ApiError) -> web.Response:
    body = {"error": {"code": error.code, "message": error.message, "details": error.details}}
    return web.json_response(body, status=error.status, headers=error.headers)


_HTTP_CODES = {
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
}

_KEPT_HEADERS = frozenset({"Allow", "WWW-Authenticate", "Retry-After"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def json_error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(
            exc.status, "InvalidRequest" if exc.status < 500 else "InternalError"
        )
        # Keep the headers that belong to the status (405's Allow, 401's challenge).
        headers = {k: v for k, v in exc.headers.items() if k in _KEPT_HEADERS}
        return error_response(ApiError(exc.status, code, exc.reason, headers=headers))
    except Exception:
        log.exception("internal error on %s %s", request.method, request.path)
        return error_response(ApiError(500, "InternalError", "Internal server error"))
