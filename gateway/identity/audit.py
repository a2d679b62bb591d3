"""The audit log's table: append events in batches, read them back page by page, prune.

Reached as ``IdentityStore.audit``. Events are written by the process that saw them
(:mod:`gateway.audit.recorder` batches them: one transaction per flush, never one per
request) and never changed afterwards (migration 6 makes ``UPDATE`` fail). An event id
orders events by time (:func:`new_event_id`), so a listing, a time range and a cursor all
walk one index, newest first.

Nothing here knows what an action means; :mod:`gateway.audit` does. ``details`` never
holds a secret (callers pass ids, names and reasons only). Text a client chose (a key in
a target, an id from a path) is made storable first (:func:`storable`): PostgreSQL
refuses NUL in ``text`` and an index entry over about 2.7 KB, and one event it refuses
would fail the whole batch, and every flush after it, as long as the worker lives.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from gateway.identity.columns import as_int, as_str
from gateway.identity.db import Database, Tx
from gateway.identity.models import from_micros, to_micros
from gateway.identity.rows import decode_cursor, encode_cursor

__all__ = [
    "MAX_PAGE",
    "MAX_TEXT_BYTES",
    "AuditEvent",
    "AuditQuery",
    "AuditStore",
    "check_window",
    "new_event_id",
    "storable",
]

MAX_PAGE = 1000
MAX_TEXT_BYTES = 1300
"""UTF-8 bytes of a text column kept (longer text is cut and ends with ``…``): the
longest real target, ``bucket/key``, is a 255-character bucket name of an older store,
``/`` and a 1,024-byte key; PostgreSQL's index entries (target, actor, account) hold at
most about 2,700 bytes."""
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""What neither database keeps as text: NUL (PostgreSQL), lone surrogates (both)."""
_TEXT_FIELDS = (
    "actor_type",
    "actor_id",
    "actor_account",
    "target_type",
    "target_id",
    "account_id",
    "client_address",
    "user_agent",
    "request_id",
)
Outcome = Literal["success", "failure"]

_COLUMNS = (
    "id, time, account_id, action, outcome, actor_type, actor_id, actor_account,"
    " target_type, target_id, client_address, user_agent, request_id, details"
)
_INSERT = f"INSERT INTO audit_events ({_COLUMNS}) VALUES ({', '.join('?' * 14)})"
# Fixed-width lower-case hex keeps byte order = time order for any instant from 1970
# (negative instants do not occur: events are stamped with the current time).
_TIME_DIGITS = 16


_process = secrets.token_hex(4)
_sequence = itertools.count()


def _reseed() -> None:
    global _process, _sequence
    _process = secrets.token_hex(4)
    _sequence = itertools.count()


os.register_at_fork(after_in_child=_reseed)


def new_event_id(when: datetime) -> str:
    """``<16 hex digits of microseconds><8 hex digits of sequence><8 random hex digits>``:
    sorts by time, and events of one process stamped with the same microsecond in the
    order they were made (the sequence); events of the same microsecond from other
    workers or hosts still get distinct ids (the random part, drawn per process)."""
    sequence = next(_sequence) & 0xFFFFFFFF
    return f"{max(0, to_micros(when)):0{_TIME_DIGITS}x}{sequence:08x}{_process}"


def _time_bound(when: datetime) -> str:
    """The smallest id an event at ``when`` can have."""
    return f"{max(0, to_micros(when)):0{_TIME_DIGITS}x}"


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One thing that happened: who (actor), did what (action) to what (target), with
    which outcome, from where. ``account_id`` is the account whose log holds the event
    (``None``: only the root key sees it)."""

    id: str
    time: datetime
    action: str
    outcome: Outcome
    actor_type: str
    actor_id: str | None = None
    actor_account: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    account_id: str | None = None
    client_address: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def row(self) -> tuple[object, ...]:
        return (
            self.id,
            to_micros(self.time),
            self.account_id,
            self.action,
            self.outcome,
            self.actor_type,
            self.actor_id,
            self.actor_account,
            self.target_type,
            self.target_id,
            self.client_address,
            self.user_agent,
            self.request_id,
            json.dumps(self.details, separators=(",", ":"), sort_keys=True),
        )


def _storable_text(value: str) -> str:
    if _UNSTORABLE.search(value) is not None:
        value = _UNSTORABLE.sub("\ufffd", value)
    if len(value) * 4 > MAX_TEXT_BYTES:  # else it fits whatever its characters
        encoded = value.encode("utf-8")
        if len(encoded) > MAX_TEXT_BYTES:
            value = encoded[: MAX_TEXT_BYTES - 3].decode("utf-8", "ignore") + "\u2026"
    return value


def storable(event: AuditEvent) -> AuditEvent:
    """``event`` with text both databases keep: NUL and lone surrogates become U+FFFD,
    text over :data:`MAX_TEXT_BYTES` is cut (``…``). ``details`` is JSON with ASCII
    escapes, storable as it is. The same event when nothing needed changing."""
    changes: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        value = getattr(event, name)
        if value is not None:
            clean = _storable_text(value)
            if clean is not value:
                changes[name] = clean
    return dataclasses.replace(event, **changes) if changes else event


def _opt(value: object) -> str | None:
    return None if value is None else as_str(value)


def _from_row(row: Sequence[object]) -> AuditEvent:
    details = json.loads(as_str(row[13]))
    outcome = as_str(row[4])
    return AuditEvent(
        id=as_str(row[0]),
        time=from_micros(as_int(row[1])),
        account_id=_opt(row[2]),
        action=as_str(row[3]),
        outcome="success" if outcome == "success" else "failure",
        actor_type=as_str(row[5]),
        actor_id=_opt(row[6]),
        actor_account=_opt(row[7]),
        target_type=_opt(row[8]),
        target_id=_opt(row[9]),
        client_address=_opt(row[10]),
        user_agent=_opt(row[11]),
        request_id=_opt(row[12]),
        details=details if isinstance(details, dict) else {},
    )


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters of a listing; ``None`` = any. ``account``: only that account's log (the
    root key passes ``None`` to see every account's). ``action`` ending in ``.*`` matches
    that prefix (``access_key.*``). ``bucket``: events whose target is the bucket or an
    object or upload in it (``bucket/...``). ``since`` inclusive, ``until`` exclusive.
    ``actor`` and ``target`` are compared as the store keeps them (:func:`storable`: NUL
    as U+FFFD, cut at :data:`MAX_TEXT_BYTES`), so any id an event was written with
    finds it."""

    account: str | None = None
    action: str | None = None
    actor: str | None = None
    target: str | None = None
    bucket: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("actor", "target"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _storable_text(value))

    @property
    def action_prefix(self) -> str | None:
        if self.action is not None and self.action.endswith(".*"):
            return self.action[:-1]
        return None


def check_window(
    since: datetime | None, until: datetime | None, names: tuple[str, str] = ("since", "until")
) -> None:
    """``ValueError`` for a time window that holds no instant (``until`` at or before
    ``since``): an audit listing answering "nothing happened" for swapped bounds would be
    read as an empty log. CloudTrail's LookupEvents refuses it too
    (``InvalidTimeRangeException``)."""
    if since is not None and until is not None and until <= since:
        raise ValueError(
            f"'{names[1]}' must be later than '{names[0]}' ({names[0]} is inclusive,"
            f" {names[1]} exclusive)"
        )


class AuditStore:
    """Audit events; reached as ``IdentityStore.audit``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(self, events: Sequence[AuditEvent]) -> None:
        """Write ``events`` in one transaction (an id already present is skipped: a
        retried flush does not duplicate what the failed attempt may have committed)."""
        if not events:
            return
        rows = [storable(event).row() for event in events]

        async def insert(tx: Tx) -> None:
            await tx.executemany(_INSERT + " ON CONFLICT (id) DO NOTHING", rows)

        await self._db.transaction(insert)

    async def page(
        self,
        query: AuditQuery,
        *,
        limit: int = 50,
        cursor: str | None = None,
        oldest_first: bool = False,
    ) -> tuple[list[AuditEvent], str | None]:
        """Newest first (or ``oldest_first``: an export). Returns a page and the cursor of
        the next one (``None`` at the end); a cursor not made here raises ``ValueError``."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
        where: list[str] = []
        params: list[object] = []
        if query.account is not None:
            where.append("account_id = ?")
            params.append(query.account)
        prefix = query.action_prefix
        if prefix is not None:
            # A range on the (action, id) index rather than LIKE (no escaping, any collation).
            where.append("action >= ? AND action < ?")
            params += [prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)]
        elif query.action is not None:
            where.append("action = ?")
            params.append(query.action)
        for column, value in (("actor_id", query.actor), ("target_id", query.target)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if query.bucket is not None:
            # The bucket itself, or a range on the (target_id, id) index: "b/" <= id < "b0"
            # ("0" follows "/"); byte order on both databases (COLLATE "C" on PostgreSQL).
            # Only bucket-shaped targets: a key id may be spelt like a bucket name.
            where.append(
                "(target_id = ? OR (target_id >= ? AND target_id < ?))"
                " AND target_type IN ('bucket', 'object', 'upload')"
            )
            params += [query.bucket, query.bucket + "/", query.bucket + "0"]
        if query.since is not None:
            where.append("id >= ?")
            params.append(_time_bound(query.since))
        if query.until is not None:
            where.append("id < ?")
            params.append(_time_bound(query.until))
        if cursor is not None:
            where.append("id > ?" if oldest_first else "id < ?")
            params.append(decode_cursor(cursor))
        sql = f"SELECT {_COLUMNS} FROM audit_events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        order = " ORDER BY id" if oldest_first else " ORDER BY id DESC"
        rows = await self._db.fetch_all(sql + order + " LIMIT ?", (*params, limit + 1))
        events = [_from_row(row) for row in rows]
        if len(events) <= limit:
            return events, None
        events = events[:limit]
        return events, encode_cursor(events[-1].id)

    async def after(self, last_id: str, *, limit: int = 1000) -> list[AuditEvent]:
        """Events with an id above ``last_id``, oldest first (``audit tail --follow``)."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM audit_events WHERE id > ? ORDER BY id LIMIT ?",
            (last_id, limit),
        )
        return [_from_row(row) for row in rows]

    async def prune(self, before: datetime, *, batch: int = 1000) -> int:
        """Delete events older than ``before``, ``batch`` rows per transaction (a long
        backlog never holds the write lock for long). Returns how many were deleted."""
        bound = _time_bound(before)
        deleted = 0
        while True:

            async def remove(tx: Tx) -> int:
                return await tx.execute(
                    "DELETE FROM audit_events WHERE id IN"
                    " (SELECT id FROM audit_events WHERE id < ? ORDER BY id LIMIT ?)",
                    (bound, batch),
                )

            count = await self._db.transaction(remove)
            deleted += count
            if count < batch:
                return deleted
