"""The worker's audit recorder: events noted in memory, written in batches.

:meth:`AuditRecorder.record` only appends to a list (a request never waits for the
database); :meth:`AuditRecorder.run` writes the list every ``audit.flush_interval``
seconds in one transaction (sooner when it grows past :data:`FLUSH_AT`), appends the same
events to ``audit.file`` as JSON lines when one is set, and prunes events past
``audit.retention_days`` once an hour. A listing flushes its own worker's pending events
first, so what a caller just did is there; another worker's events appear within one
flush interval. Closing flushes what is left; a process killed outright loses at most
one interval's events (docs/audit.md).

Two kinds of events are recorded at most once per key: ``access_key.use`` (the first use
per ``audit.key_use_interval``, with the address: "who used it last") and
``access_key.expired`` (the first use after expiry), per worker process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from backends.outage import OutageLog
from gateway.audit import actions
from gateway.audit.events import event_json
from gateway.config import AuditConfig
from gateway.identity.audit import AuditEvent, AuditStore, new_event_id, storable
from gateway.identity.db import StoreUnavailable
from gateway.identity.models import AccessKey
from gateway.storage_full import no_room
from sigv4.memo import remember

__all__ = ["FLUSH_AT", "MAX_PENDING", "AuditRecorder"]

log = logging.getLogger("nfyio.audit")
outage_log = OutageLog(log, "audit: the state store")
"""Its outages as three kinds of line: start, at most one per 10 s, end (``backends.outage``)."""

FLUSH_AT = 500
"""Pending events that trigger a flush before the interval is over."""
MAX_PENDING = 100_000
"""Events kept while the state store cannot take them; older ones are dropped (logged)."""
PRUNE_EVERY = 3600.0
_MAX_REMEMBERED = 100_000


class AuditRecorder:
    """One per worker process (``gateway.app.Shared``); see the module docstring."""

    def __init__(self, store: AuditStore, config: AuditConfig) -> None:
        self._store = store
        self._config = config
        self.enabled = config.enabled
        self._pending: list[AuditEvent] = []
        self._wake: asyncio.Event | None = None
        self._file = Path(config.file) if config.file else None
        self._key_use: dict[str, float] = {}
        self._expired: set[str] = set()
        self._dropped = 0
        self._lock: asyncio.Lock | None = None

    # --- noting events ------------------------------------------------------------------

    def record(self, event: AuditEvent) -> None:
        if not self.enabled:
            return
        if len(self._pending) >= MAX_PENDING:
            self._pending.pop(0)
            self._dropped += 1
        self._pending.append(event)
        if len(self._pending) >= FLUSH_AT and self._wake is not None:
            self._wake.set()

    def key_use_due(self, key_id: str) -> bool:
        """Whether this use of ``key_id`` is the first of its ``key_use_interval`` here
        (and notes it). The hot path: one dict lookup."""
        interval = self._config.key_use_interval
        if not self.enabled or interval <= 0:
            return False
        now = time.monotonic()
        last = self._key_use.get(key_id)
        if last is not None and now - last < interval:
            return False
        remember(self._key_use, key_id, now, _MAX_REMEMBERED)
        return True

    def key_expired(self, key: AccessKey, now: datetime) -> None:
        """An expired key was presented (the identity store calls this): one
        ``access_key.expired`` event per key and worker."""
        if not self.enabled or key.id in self._expired:
            return
        if len(self._expired) >= _MAX_REMEMBERED:
            self._expired.clear()
        self._expired.add(key.id)
        self.record(
            AuditEvent(
                id=new_event_id(now),
                time=now,
                action=actions.ACCESS_KEY_EXPIRED,
                outcome="failure",
                actor_type="key",
                actor_id=key.id,
                actor_account=key.account_id,
                target_type="access_key",
                target_id=key.id,
                account_id=key.account_id,
                details={"expired_at": _iso(key.expires_at)},
            )
        )

    # --- writing ------------------------------------------------------------------------

    async def flush(self) -> None:
        """Write the pending events in one transaction (then to ``audit.file``). On
        failure they stay pending for the next attempt."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            batch, self._pending = self._pending, []
            if self._dropped:
                log.warning("audit: %d events dropped while the state store failed", self._dropped)
                self._dropped = 0
            if not batch:
                return
            batch = [storable(event) for event in batch]  # the file shows what is stored
            try:
                await self._store.append(batch)
            except BaseException:
                self._pending[:0] = batch[-MAX_PENDING:]
                raise
            if self._file is not None:
                try:
                    await asyncio.to_thread(_append_lines, self._file, batch)
                except OSError as exc:
                    log.warning("audit: cannot append to %s: %s", self._file, exc)

    async def prune(self, now: datetime | None = None) -> int:
        days = self._config.retention_days
        if days <= 0:
            return 0
        when = now or datetime.now(UTC)
        return await self._store.prune(when - timedelta(days=days))

    async def run(self) -> None:
        """Flush every ``flush_interval`` (or at :data:`FLUSH_AT` pending events) and
        prune hourly, until cancelled; failures are logged and retried."""
        self._wake = asyncio.Event()
        next_prune = time.monotonic() + 60.0  # not while every worker is starting
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._config.flush_interval)
            self._wake.clear()
            try:
                await self.flush()
                outage_log.available()
                if time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + PRUNE_EVERY
                    pruned = await self.prune()
                    if pruned:
                        log.info("audit: pruned %d events past retention", pruned)
            except asyncio.CancelledError:
                raise
            except StoreUnavailable as exc:  # an outage: a line as it starts and ends
                outage_log.failed(f"writing events failed ({exc}); they stay queued, retried")
            except Exception as exc:
                if no_room(exc) is None:  # a full disk: one line per interval, not a traceback
                    log.exception("audit: writing events failed; will retry")

    @property
    def pending(self) -> int:
        return len(self._pending)


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    return when.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _append_lines(path: Path, events: list[AuditEvent]) -> None:
    """One ``write`` of whole lines in append mode (0600 when created): lines of several
    workers never interleave within a line."""
    text = "".join(json.dumps(event_json(e), separators=(",", ":")) + "\n" for e in events)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
