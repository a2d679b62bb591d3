"""Building audit events from requests, and their JSON form.

An event's *actor* is the authenticated principal (``key``, ``user``, ``client``), or
``anonymous`` (a failed sign-in), or ``operator`` (the command line); its *account* (whose
log holds it) is the actor's account unless the caller names another (an account the
root key created or deleted; a sign-in's user). Values come from the gateway's own
records and the request's peer and headers, cleaned (:mod:`gateway.peer`): never a
secret, a token, a password or a typed username that names nobody.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from gateway.identity.audit import AuditEvent, Outcome, new_event_id
from gateway.peer import client_address, user_agent
from gateway.principal import Principal

__all__ = ["OPERATOR", "event_json", "request_event"]

OPERATOR = "operator"
"""The actor type of changes made with ``nfyio-gateway`` on the command line."""


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def request_event(
    request: web.Request,
    action: str,
    *,
    outcome: Outcome = "success",
    principal: Principal | None = None,
    target: tuple[str, str | None] | None = None,
    account: str | None = None,
    request_id: str | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    """An event of ``request``: its address, user agent and request id, by ``principal``
    (``None``: anonymous) on ``target`` (``(type, id)``)."""
    when = now or datetime.now(UTC)
    actor_type = "anonymous" if principal is None else principal.kind
    actor_id = None if principal is None or principal.is_anonymous else principal.subject
    actor_account = None if principal is None else principal.account_id
    target_type, target_id = target if target is not None else (None, None)
    return AuditEvent(
        id=new_event_id(when),
        time=when,
        action=action,
        outcome=outcome,
        actor_type=actor_type,
        actor_id=actor_id,
        actor_account=actor_account,
        target_type=target_type,
        target_id=target_id,
        account_id=account if account is not None else actor_account,
        client_address=client_address(request),
        user_agent=user_agent(request),
        request_id=request_id,
        details=dict(details or {}),
    )


def event_json(event: AuditEvent) -> dict[str, Any]:
    """The shape ``GET /v1/audit-events``, ``audit export`` and ``audit.file`` share."""
    return {
        "id": event.id,
        "time": _iso(event.time),
        "action": event.action,
        "outcome": event.outcome,
        "actor": {
            "type": event.actor_type,
            "id": event.actor_id,
            "account": event.actor_account,
        },
        "target": {"type": event.target_type, "id": event.target_id},
        "account": event.account_id,
        "client_address": event.client_address,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "details": event.details,
    }
