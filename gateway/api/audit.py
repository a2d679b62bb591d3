"""``GET /v1/audit-events``: the audit log, newest first (docs/audit.md).

Who may read: ``admin`` of an account reads that account's events; the root key reads
every account's (and may narrow to one with ``account=``). Filters: ``action`` (a name,
or a prefix ending in ``.*``), ``actor`` and ``target`` (ids), ``bucket`` (the bucket's
own events and those of its objects and uploads), ``since`` (inclusive) and
``until`` (exclusive) as RFC 3339 times; ``limit`` (1 to 1000, default 50) and ``cursor``
page through the rest. The calling worker writes its own pending events first, so the
caller sees what it just did; other workers' events arrive within ``audit.flush_interval``.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from aiohttp import web

from gateway.api.auth import PRINCIPAL, caller_account
from gateway.api.cursors import issue_cursor, read_cursor
from gateway.api.errors import ApiError
from gateway.api.validation import invalid, query_limit
from gateway.audit.events import event_json
from gateway.audit.http import AUDIT
from gateway.identity.audit import MAX_PAGE, MAX_TEXT_BYTES, AuditQuery, check_window
from gateway.identity.models import parse_instant
from gateway.state import IDENTITY

__all__ = ["list_events"]

log = logging.getLogger("nfyio.audit")

_ACTION = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.\*)?")
_ID = re.compile(rf"(?s:.{{1,{MAX_TEXT_BYTES}}})")
"""Actor and target ids: any text (``bucket/key`` targets hold any key, control
characters included), no longer than what is stored; ``AuditQuery`` reads it as stored."""
_BUCKET = re.compile(r"[A-Za-z0-9._-]{1,255}")
"""A bucket name, including those older stores allowed (never a ``/``)."""
_NAMING = frozenset({"action", "bucket"})
"""Filters whose empty value is refused (it names nothing) rather than ignored."""


def _text(request: web.Request, name: str, pattern: re.Pattern[str]) -> str | None:
    raw = request.query.get(name)
    if raw is None or (raw == "" and name not in _NAMING):  # an empty one names nothing
        return None
    if not pattern.fullmatch(raw):
        raise invalid(name, f"'{name}' is not a valid value for this filter")
    return raw


def _time(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_instant(raw, f"'{name}'")
    except ValueError as exc:
        raise invalid(name, str(exc)) from None


def _account(request: web.Request) -> str | None:
    """The account whose log is read: the caller's; the root key's choice (all: None)."""
    asked = request.query.get("account") or None
    if request[PRINCIPAL].root:
        return asked
    own = caller_account(request)
    if asked is not None and asked != own:
        raise ApiError(
            403,
            "AccessDenied",
            "Only the root key reads another account's audit log",
            {"field": "account"},
        )
    return own


def _window(request: web.Request) -> tuple[datetime | None, datetime | None]:
    since, until = _time(request, "since"), _time(request, "until")
    try:
        check_window(since, until)
    except ValueError as exc:
        raise invalid("until", str(exc)) from None
    return since, until


async def list_events(request: web.Request) -> web.Response:
    since, until = _window(request)
    query = AuditQuery(
        account=_account(request),
        action=_text(request, "action", _ACTION),
        actor=_text(request, "actor", _ID),
        target=_text(request, "target", _ID),
        bucket=_text(request, "bucket", _BUCKET),
        since=since,
        until=until,
    )
    limit = query_limit(request, default=50, maximum=MAX_PAGE)
    cursor = read_cursor(request)
    try:
        await request.app[AUDIT].flush()
    except Exception:  # the listing still answers with what is stored
        log.exception("audit: writing pending events before a listing failed")
    events, next_cursor = await request.app[IDENTITY].audit.page(query, limit=limit, cursor=cursor)
    return web.json_response(
        {
            "events": [event_json(e) for e in events],
            "next_cursor": issue_cursor(request, next_cursor),
        }
    )
