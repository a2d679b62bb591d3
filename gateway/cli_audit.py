"""``nfyio-gateway audit tail|export``: the audit log as JSON lines (docs/audit.md).

Reads the state store the configuration names (``--data-dir`` / ``--config`` as for
``serve``), safe while the gateway runs. Every line is one event in the shape of
``GET /v1/audit-events`` (``gateway.audit.events.event_json``).

- ``tail [-n N] [--follow]``: the last N events (default 20), oldest first; ``--follow``
  then prints new events as they are written (polling every ``--interval`` seconds,
  re-reading a window of ``audit.flush_interval`` behind the newest id seen, since the
  workers write in batches).
- ``export [--since T] [--until T] [--account A] [--action NAME]``: every matching event,
  oldest first, to standard output or ``--output FILE`` (made 0600, if it exists too).

Filters (both): ``--account``, ``--action`` (a name or ``prefix.*``), ``--actor``,
``--target``, ``--bucket`` (the bucket's own events and those of its objects and uploads,
e.g. what the lifecycle sweeper removed). Exit status: 0 (also ``tail --follow`` ended
with Ctrl-C), 1 when ``--output`` cannot be written or the state store fails, 2 for bad
arguments or configuration (checked before ``--output`` is opened), 130 for an export
interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import stat
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from gateway.audit.events import event_json
from gateway.config import Config
from gateway.identity.audit import MAX_PAGE, AuditEvent, AuditQuery, check_window, new_event_id
from gateway.identity.models import parse_instant
from gateway.identity.store import IdentityStore

__all__ = ["add_parser", "run"]


def add_parser(
    commands: Any, add_config_options: Callable[[argparse.ArgumentParser], None]
) -> None:
    audit = commands.add_parser("audit", help="read the audit log (JSON lines)")
    verbs = audit.add_subparsers(dest="audit_command", required=True)
    tail = verbs.add_parser("tail", help="the latest events; --follow for new ones")
    tail.add_argument("-n", "--lines", type=int, default=20, help="how many (default 20)")
    tail.add_argument("-f", "--follow", action="store_true", help="keep printing new events")
    tail.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    export = verbs.add_parser("export", help="every matching event, oldest first")
    export.add_argument("--since", help="RFC 3339 time (inclusive)")
    export.add_argument("--until", help="RFC 3339 time (exclusive)")
    export.add_argument("--output", help="write to this file (0600) instead of stdout")
    for parser in (tail, export):
        add_config_options(parser)
        parser.add_argument("--account", help="one account's events")
        parser.add_argument("--action", help="an action name, or a prefix ending in .*")
        parser.add_argument("--actor", help="the actor's id")
        parser.add_argument("--target", help="the target's id (a bucket, bucket/key, ak_...)")
        parser.add_argument("--bucket", help="a bucket's events and those of its objects")


def _line(event: AuditEvent) -> str:
    return json.dumps(event_json(event), separators=(",", ":"))


def _query(args: argparse.Namespace, since: datetime | None, until: datetime | None) -> AuditQuery:
    return AuditQuery(
        account=args.account,
        action=args.action,
        actor=args.actor,
        target=args.target,
        bucket=args.bucket,
        since=since,
        until=until,
    )


async def _newest_first(store: IdentityStore, query: AuditQuery, limit: int) -> list[AuditEvent]:
    found: list[AuditEvent] = []
    cursor: str | None = None
    while len(found) < limit:
        size = min(MAX_PAGE, limit - len(found))
        page, cursor = await store.audit.page(query, limit=size, cursor=cursor)
        found += page
        if cursor is None:
            break
    return found


def _matches(event: AuditEvent, query: AuditQuery) -> bool:
    prefix = query.action_prefix
    return (
        (query.account is None or event.account_id == query.account)
        and (query.actor is None or event.actor_id == query.actor)
        and (query.target is None or event.target_id == query.target)
        and (query.bucket is None or _in_bucket(event, query.bucket))
        and (
            query.action is None
            or (event.action.startswith(prefix) if prefix else event.action == query.action)
        )
    )


def _in_bucket(event: AuditEvent, bucket: str) -> bool:
    """``AuditStore.page``'s ``bucket`` filter, for events already read."""
    target = event.target_id or ""
    return event.target_type in {"bucket", "object", "upload"} and (
        target == bucket or target.startswith(bucket + "/")
    )


async def _tail(args: argparse.Namespace, store: IdentityStore, config: Config, out: TextIO) -> int:
    if args.lines < 0 or not 0.05 <= args.interval <= 3600:
        print("nfyio-gateway audit: -n must be >= 0, --interval 0.05 to 3600", file=sys.stderr)
        return 2
    query = _query(args, None, None)
    events = await _newest_first(store, query, args.lines) if args.lines else []
    for event in reversed(events):
        print(_line(event), file=out, flush=True)
    if not args.follow:
        return 0
    seen = {event.id for event in events}
    # Workers write in batches: an event may be stored after a newer one was. Re-read a
    # window behind the newest id seen, every page of it (a lifecycle pass writes a
    # thousand events at once), and print each id once.
    lag = timedelta(seconds=config.audit.flush_interval * 3 + 1)
    newest = events[0].time if events else datetime.now(UTC)
    while True:
        await asyncio.sleep(args.interval)
        start = after = new_event_id(newest - lag)[:16]
        while True:
            page = await store.audit.after(after, limit=MAX_PAGE)
            for event in page:
                if event.id in seen:
                    continue
                seen.add(event.id)
                newest = max(newest, event.time)
                if _matches(event, query):
                    print(_line(event), file=out, flush=True)
            if len(page) < MAX_PAGE:
                break
            after = page[-1].id
        # Ids sort by time: none below the window's start is read again.
        seen = {event_id for event_id in seen if event_id >= start}


def _window(args: argparse.Namespace) -> tuple[datetime | None, datetime | None]:
    since = parse_instant(args.since, "--since") if args.since else None
    until = parse_instant(args.until, "--until") if args.until else None
    check_window(since, until, ("--since", "--until"))
    return since, until


async def _export(args: argparse.Namespace, store: IdentityStore, out: TextIO) -> int:
    query = _query(args, *_window(args))
    cursor: str | None = None
    while True:  # page by page, oldest first: memory stays flat however long the log
        page, cursor = await store.audit.page(
            query, limit=MAX_PAGE, cursor=cursor, oldest_first=True
        )
        out.write("".join(_line(event) + "\n" for event in page))
        if cursor is None:
            break
    out.flush()
    return 0


async def _run(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    store = await IdentityStore.from_config(config)
    try:
        if args.audit_command == "tail":
            return await _tail(args, store, config, out)
        return await _export(args, store, out)
    finally:
        await store.close()


def run(args: argparse.Namespace, config: Config) -> int:
    if args.audit_command == "export":
        # Checked before --output is opened (and truncated): a typo in a time must not
        # cost the operator an earlier export.
        try:
            _window(args)
        except ValueError as exc:
            print(f"nfyio-gateway audit: {exc}", file=sys.stderr)
            return 2
    try:
        if args.audit_command == "export" and args.output:
            try:
                fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                if stat.S_ISREG(os.fstat(fd).st_mode):
                    os.fchmod(fd, 0o600)  # an existing file too: it is about to hold the log
            except OSError as exc:
                print(f"nfyio-gateway audit: --output: {exc}", file=sys.stderr)
                return 1
            with open(fd, "w", encoding="utf-8") as handle:
                return asyncio.run(_run(args, config, handle))
        return asyncio.run(_run(args, config, sys.stdout))
    except KeyboardInterrupt:
        if args.audit_command == "tail":
            return 0  # how --follow ends
        raise  # an export cut short is not a success (exit status 130)
