"""What the API listener records of each request: its id, an access-log line, and the
audit events of the route table's audited rows.

- **Request id**: 16 hex digits, ``request[REQUEST_ID]``, returned as ``X-Request-Id``
  and written into the access log and the audit events, so an event, a log line and a
  client's report can be matched.
- **Access log** (``server.access_log``, ``gateway.access_log``), one ``key=value``
  line per request, like the S3 listener's: request id, peer, method, path (as
  sent, percent-encoded, without the query string: cursors, object keys and presigned
  parameters stay out), route template, principal (key, user or client id), status,
  milliseconds (499 when the client went away before its answer). Never a header, a
  query string, a body or a cookie: no secret, token, signature or password can reach it.
- **Audit**: a row with ``audit`` (``Route(..., audit="user.create")``) records one event
  per attempt by an authenticated caller: ``success`` below 400, else ``failure`` with the
  status and the error code. The target is what the handler named
  (:func:`gateway.audit.http.set_target`) or the id in the path. "Authenticated" is
  :data:`~gateway.api.auth.CALLER`, set right after authentication: an attempt the
  access middleware refused (429 ``RateLimitExceeded``, 403 ``ScopeRequired`` or
  ``RootRequired``) is a ``failure`` of the row's action too, in the caller's own
  account's log (it never reached what it named: an ``account.*`` row's refusal is not
  the named account's event). A request that did not authenticate is no event (the
  access log has it); a row without ``audit`` (reads) is no event either way.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway import SERVER
from gateway.access_log import ACCESS_LOG
from gateway.api.auth import CALLER, PRINCIPAL
from gateway.api.routing import row_of
from gateway.audit.http import (
    AUDIT_ACTIONS,
    AUDIT_DETAILS,
    AUDIT_TARGET,
    REQUEST_ID,
    record,
)
from gateway.metrics import CLIENT_GONE

__all__ = ["CLIENT_GONE", "MAX_LOGGED_PATH", "install", "observe_middleware"]

MAX_LOGGED_PATH = 512
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error_code(response: web.StreamResponse) -> str | None:
    body = response.body if isinstance(response, web.Response) else None
    if not isinstance(body, bytes) or len(body) > 65536:
        return None
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return None
    if isinstance(error, dict):
        error = error.get("code")
    return error if isinstance(error, str) else None


def _audit(request: web.Request, response: web.StreamResponse | None, status: int) -> None:
    row = row_of(request)
    if row is None or row.audit is None:
        return
    principal = request.get(CALLER)
    if principal is None:  # not authenticated: the access log has it, the audit log not
        return
    # Refused by the access middleware (rate limit, scope, root): the row's action only,
    # in the caller's account (nothing the handler would name or decide).
    admitted = PRINCIPAL in request
    kind = row.audit.split(".", 1)[0]
    target = request.get(AUDIT_TARGET)
    if target is None:
        values = list(request.match_info.values())
        target = (kind, values[0] if values else None)
    details = dict(request.get(AUDIT_DETAILS, {}))
    ok = status < 400
    if not ok:
        details["status"] = status
        code = None if response is None else _error_code(response)
        if code is not None:
            details["error"] = code
    account = target[1] if kind == "account" and admitted else None
    for action in request.get(AUDIT_ACTIONS) or (row.audit,):
        record(
            request,
            action,
            outcome="success" if ok else "failure",
            principal=principal,
            target=target,
            account=account,
            details=details,
        )


def _log(request: web.Request, status: int, started: float) -> None:
    access_log = request.app[ACCESS_LOG]
    if access_log is None:
        return
    route = request.match_info.route.resource
    principal = request.get(CALLER)
    access_log.line(
        f"request_id={request[REQUEST_ID]} remote={request.remote} method={request.method} "
        f"path={request.rel_url.raw_path[:MAX_LOGGED_PATH]} "
        f"route={'-' if route is None else route.canonical} "
        f"principal={'-' if principal is None else principal.subject} status={status} "
        f"ms={(time.perf_counter() - started) * 1000:.1f}"
    )


@web.middleware
async def observe_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    request[REQUEST_ID] = os.urandom(8).hex()
    response: web.StreamResponse | None = None
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:  # redirects (json_error_middleware re-raises them)
        status = exc.status
        raise
    except ConnectionError:  # the client went away mid-request (nginx's 499), no 500
        status = CLIENT_GONE
        raise
    finally:
        _audit(request, response, status)
        _log(request, status, started)


async def _response_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers["Server"] = SERVER
    request_id = request.get(REQUEST_ID)
    if request_id is not None:
        headers["X-Request-Id"] = request_id


def install(app: web.Application) -> None:
    app.on_response_prepare.append(_response_headers)
