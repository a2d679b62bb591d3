"""Audit events of the S3 listener: changes to buckets' access settings, and key use.

The admission hook (:mod:`gateway.s3.admission`) calls :func:`note` once the caller is
known; for an operation of :data:`~gateway.audit.actions.S3_ACTIONS` it remembers what to
record, and :func:`install`'s ``on_response_prepare`` handler records it with the outcome
the response's status gives (and the S3 error code on failure). Other operations cost one
dict lookup.

An anonymous caller (an unsigned request) is recorded only when it changed something: a
success, in the bucket owner's account's log (the owner read when the answer goes out,
as a rule from the settings cache the request's own decision just filled), with the
actor ``{"type": "anonymous", "id": null, "account": null}``. Its refusals are not
recorded: anyone on the internet can send them, and a flood of them must not fill the
log (the access log and the metrics count them).
"""

from __future__ import annotations

import logging
import re

from aiohttp import web

from gateway.audit import actions
from gateway.audit.events import request_event
from gateway.audit.http import AUDIT
from gateway.identity.bucket_settings import OWNER_KIND
from gateway.principal import SYSTEM_ACCOUNT_ID, Principal
from gateway.state import IDENTITY

__all__ = ["install", "note"]

log = logging.getLogger("nfyio.audit")

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
    request[_PENDING] = (action, principal, target, request_id, details, bucket)


async def _owner_account(request: web.Request, action: str, bucket: str | None) -> str | None:
    """The account owning ``bucket``, whose log holds an anonymous caller's change: its
    ``owner`` setting (the settings cache holds what the request was just decided by),
    else the system account (a bucket made before accounts: the request changed it, so
    it exists). None after a DeleteBucket, whose settings went with the bucket: then
    only the root key's view holds the event."""
    if bucket is None:
        return None
    try:
        settings = await request.app[IDENTITY].bucket_settings.all_for(bucket)
    except Exception:  # the answer goes out regardless; the event stays, in root's view
        log.warning("audit: the owner of bucket %r could not be read", bucket, exc_info=True)
        return None
    owner = settings.get(OWNER_KIND)
    if owner is not None:
        return owner
    return None if action == actions.BUCKET_DELETE else SYSTEM_ACCOUNT_ID


async def _record(request: web.Request, response: web.StreamResponse) -> None:
    # The request's own dict, not ``request.get``: that is ``Mapping.get``, whose miss
    # (every request but the few audited ones) raises and catches a KeyError inside
    # ``BaseRequest.__getitem__`` (callgrind: ~3.2k instructions more than this look-up).
    pending = request._state.get(_PENDING)
    if pending is None:
        return
    action, principal, target, request_id, details, bucket = pending
    ok = response.status < 300
    account = None
    if principal.is_anonymous:
        if not ok:  # anyone may send it: not an event (the access log has it)
            return
        account = await _owner_account(request, action, bucket)
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
