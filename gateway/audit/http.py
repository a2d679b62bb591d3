"""The recorder on the listeners: the app key, the request's id, and what handlers tell the
API's audit middleware (:mod:`gateway.api.observe`).

A route row of the API's table names its action (``Route(..., audit="user.create")``);
after the handler, the middleware records one event per attempt by an authenticated
caller, with the outcome its status gives. A handler adds what only it knows:
:data:`AUDIT_TARGET` (the id it created), :data:`AUDIT_ACTIONS` (a ``PATCH`` that
disabled a user and changed its password is two events) and :data:`AUDIT_DETAILS`.
Code outside the table (OAuth grants, the console's session) calls :func:`record`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.audit import actions
from gateway.audit.events import request_event
from gateway.audit.recorder import AuditRecorder
from gateway.identity.audit import Outcome
from gateway.principal import Principal

__all__ = [
    "AUDIT",
    "AUDIT_ACTIONS",
    "AUDIT_DETAILS",
    "AUDIT_TARGET",
    "REQUEST_ID",
    "note_key_use",
    "record",
    "set_target",
]

AUDIT = web.AppKey("audit", AuditRecorder)
REQUEST_ID = web.RequestKey("request_id", str)
"""The API request's id (``X-Request-Id``), set first by the observe middleware."""
AUDIT_TARGET: web.RequestKey[tuple[str, str | None]] = web.RequestKey("audit_target")
"""``(type, id)`` of what the request acted on, when the path does not name it."""
AUDIT_ACTIONS: web.RequestKey[tuple[str, ...]] = web.RequestKey("audit_actions")
"""The actions the request performed, when not (only) its row's."""
AUDIT_DETAILS: web.RequestKey[dict[str, Any]] = web.RequestKey("audit_details")


def set_target(request: web.Request, kind: str, target_id: str, **details: Any) -> None:
    """What a handler created (``access_key``, ``ak_...``), with event details."""
    request[AUDIT_TARGET] = (kind, target_id)
    if details:
        request[AUDIT_DETAILS] = {**request.get(AUDIT_DETAILS, {}), **details}


def record(
    request: web.Request,
    action: str,
    *,
    outcome: Outcome = "success",
    principal: Principal | None = None,
    target: tuple[str, str | None] | None = None,
    account: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Note one event of ``request`` (memory only; written by the recorder's flush)."""
    recorder = request.app.get(AUDIT)
    if recorder is None or not recorder.enabled:
        return
    recorder.record(
        request_event(
            request,
            action,
            outcome=outcome,
            principal=principal,
            target=target,
            account=account,
            request_id=request.get(REQUEST_ID),
            details=details,
        )
    )


def note_key_use(
    request: web.Request, principal: Principal, request_id: str | None, listener: str
) -> None:
    """``access_key.use``: the first use of a key per interval and worker, with the
    address it came from ("who used it last")."""
    key_id = principal.key_id
    recorder = request.app[AUDIT]
    if key_id is None or not recorder.key_use_due(key_id):
        return
    recorder.record(
        request_event(
            request,
            actions.ACCESS_KEY_USE,
            principal=principal,
            target=("access_key", key_id),
            request_id=request_id,
            details={"listener": listener},
        )
    )
