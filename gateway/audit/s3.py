"""Audit events of the S3 listener: changes to buckets' access settings, and key use.

The admission hook (:mod:`gateway.s3.admission`) calls :func:`note` once the caller is
known; for an operation of :data:`~gateway.audit.actions.S3_ACTIONS` it remembers what to
record, and :func:`install`'s ``on_response_prepare`` handler records it with the outcome
the response's status gives (and the S3 error code on failure). Other operations cost one
dict lookup.

An anonymous caller (an unsigned request) is recorded only when it changed something: a
success, in the log of the account owning the bucket, as the request's access decision
found it (:func:`owned_by`, before the handler ran: a DeleteBucket's owner too), with the
actor ``{"type": "anonymous", "id": null, "account": null}``. Its refusals are not
recorded: anyone on the internet can send them, and a flood of them must not fill the
log (the access log and the metrics count them).
"""

from __future__ import annotations

import re

from aiohttp import web

from gateway.audit import actions
from gateway.audit.events import request_event
from gateway.audit.http import AUDIT
from gateway.principal import Principal

__all__ = ["install", "note", "owned_by"]

_PENDING = web.RequestKey("s3_audit", tuple)
_CODE = re.compile(rb"<Code>([A-Za-z0-9.]{1,64})</Code>")


def note(
    request: web.Request,
    operation: str,
    implemented: bool,
    principal: Principal,
    bucket: str | None,
    key: str | None,
    request_id: str,
    *,
    version_id: str | None = None,
    bypass_governance: bool = False,
) -> None:
    """``version_id``: the version an object's operation names; ``bypass_governance``:
    ``x-amz-bypass-governance-retention: true`` was sent (it takes effect only for a
    caller allowed to bypass: ``gateway.s3.dispatch``)."""
    action = actions.S3_ACTIONS.get(operation)
    if action is None or not implemented:
        return
    target = ("object", f"{bucket}/{key}") if key else ("bucket", bucket)
    details: dict[str, object] = {"operation": operation}
    if key:
        details["version_id"] = version_id
    if bypass_governance:
        details["bypass_governance_retention"] = True
    request[_PENDING] = (action, principal, target, request_id, details, None)


def owned_by(request: web.Request, account_id: str) -> None:
    """The account owning the request's bucket, as its access decision found it: the log
    an anonymous caller's change goes to (called for anonymous callers only; a request
    without a noted action keeps nothing)."""
    pending = request._state.get(_PENDING)
    if pending is not None:
        request[_PENDING] = (*pending[:5], account_id)


async def _record(request: web.Request, response: web.StreamResponse) -> None:
    # The request's own dict, not ``request.get``: that is ``Mapping.get``, whose miss
    # (every request but the few audited ones) raises and catches a KeyError inside
    # ``BaseRequest.__getitem__`` (callgrind: ~3.2k instructions more than this look-up).
    pending = request._state.get(_PENDING)
    if pending is None:
        return
    action, principal, target, request_id, details, account = pending
    ok = response.status < 300
    if principal.is_anonymous and not ok:
        return  # anyone may send it: not an event (the access log has it)
    if not ok:
        details["status"] = response.status
        body = response.body if isinstance(response, web.Response) else None
        found = _CODE.search(body) if isinstance(body, bytes) else None
        if found is not None:
            details["error"] = found.group(1).decode("ascii")
    request.app[AUDIT].record(
        request_event(
            request,
            action,
            outcome="success" if ok else "failure",
            principal=principal,
            target=target,
            account=account,
            request_id=request_id,
            details=details,
        )
    )


def install(app: web.Application) -> None:
    app.on_response_prepare.append(_record)
