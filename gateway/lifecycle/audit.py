"""The sweeper's audit trail: one event per object, version, delete marker or upload it
removes or creates, and one per deletion that failed (docs/audit.md, docs/lifecycle.md).

**Who.** The actor is the gateway's lifecycle service, never a user:
``{"type": "service", "id": "lifecycle", "account": null}``; ``details.sweeper`` names the
process that held the lease (host, pid, random part). **Whose log.** The bucket owner's
account (the ``owner`` bucket setting; the system account for buckets without one), so an
account's admins see what lifecycle did to their buckets. **What.** Target
``object``/``upload`` ``bucket/key`` (the same id an ``object.acl.put`` has, so
``?target=bucket/key`` answers "where did this object go?"); ``details`` hold the bucket,
key, version id, the ID of the rule that matched, AWS's server-access-log operation for
the same action (``S3.EXPIRE.OBJECT``, ...), and on failure the backend's error code and
message.

**Cost.** Noting an event appends to the worker's recorder (memory); the recorder writes
its batch in one transaction as for every other event, and the sweeper flushes once at
the end of a pass that noted events, before it records its progress, so a pass's
deletions are on record before the sweep moves past them. Finding the bucket's account is
one state-store read per bucket and pass, only when that bucket had an event.

**Failures once.** A deletion the backend refuses (Object Lock, an upstream error) is
retried every cycle; its failure event is noted once per sweeper process and (kind,
version or upload, error code), so a version under retention does not add an event per
cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, get_args

from backends.errors import BackendError
from gateway.audit.actions import LIFECYCLE_ACTIONS
from gateway.audit.recorder import AuditRecorder
from gateway.identity.audit import AuditEvent, Outcome, new_event_id
from gateway.identity.bucket_settings import BucketSettingsStore
from gateway.principal import SYSTEM_ACCOUNT_ID
from gateway.s3.bucket_facts import OWNER

__all__ = ["KINDS", "LIFECYCLE_SERVICE", "SERVICE", "Kind", "LifecycleAudit", "Removal"]

Kind = Literal[
    "expire_object",
    "create_delete_marker",
    "expire_version",
    "expire_delete_marker",
    "abort_upload",
]
"""Everything the sweeper does to data: a never-versioned bucket's object deleted, a
delete marker put over a current version, a noncurrent version or a delete marker
removed for good, an incomplete multipart upload aborted. Each has its row in
``gateway.audit.actions.LIFECYCLE_ACTIONS``."""
KINDS: tuple[Kind, ...] = get_args(Kind)

SERVICE = "service"
"""The actor type of the gateway's own background services."""
LIFECYCLE_SERVICE = "lifecycle"
"""The lifecycle sweeper's actor id."""

log = logging.getLogger("nfyio.lifecycle")

_T = TypeVar("_T")
_MAX_REMEMBERED = 100_000
_MAX_REASON = 200


@dataclass(frozen=True, slots=True)
class Removal:
    """One thing the sweeper acts on, and the rule that made it due."""

    kind: Kind
    bucket: str
    key: str
    rule_id: str
    version_id: str | None = None
    """The version removed, or the delete marker created (None until it exists)."""
    upload_id: str | None = None
    hides: str | None = None
    """A new delete marker's: the version that became noncurrent under it."""
    size: int | None = None
    etag: str | None = None
    """Size and ETag of the object or version removed (hidden), when listed."""


class LifecycleAudit:
    """The sweeper's side of the worker's :class:`AuditRecorder` (None, or disabled:
    nothing is noted)."""

    def __init__(
        self, recorder: AuditRecorder | None, settings: BucketSettingsStore, *, holder: str
    ) -> None:
        self._recorder = recorder if recorder is not None and recorder.enabled else None
        self._settings = settings
        self._holder = holder
        self._accounts: dict[str, str] = {}
        self._failed: set[tuple[str, ...]] = set()
        self.noted = 0
        """Events noted since the last :meth:`flush`."""

    def new_pass(self) -> None:
        """Forget the owners read in the previous pass (a bucket may change hands)."""
        self._accounts.clear()

    async def attempt(
        self, what: Removal, call: Awaitable[_T], *, expected: frozenset[str] = frozenset()
    ) -> _T | BackendError:
        """Await the backend call that removes ``what``. A refusal (``BackendError``:
        Object Lock, an upstream failure) is logged, noted as a failure and returned, so
        the sweep goes on; anything else is noted (``InternalError``) and raised, failing
        the pass as before. Success is the caller's to note (:meth:`done`): only it
        knows what was created. An error whose code is in ``expected`` (the caller's
        condition not met, say) is returned without a note: nothing was refused."""
        try:
            return await call
        except BackendError as exc:
            if exc.code in expected:
                return exc
            log.debug(
                "lifecycle: %s %s/%s %s not done: %s",
                what.kind,
                what.bucket,
                what.key,
                what.version_id or what.upload_id or "",
                exc.code,
            )
            await self.failed(what, exc.code, exc.message)
            return exc
        except Exception:
            await self.failed(what, "InternalError")
            raise

    async def done(self, what: Removal) -> None:
        """``what`` happened."""
        if self._recorder is None:
            return
        await self._note(what, "success", {})

    async def failed(self, what: Removal, code: str, message: str = "") -> None:
        """The backend refused ``what`` (or failed): noted once per process and error."""
        if self._recorder is None:
            return
        seen = (what.kind, what.bucket, what.key, what.version_id or what.upload_id or "", code)
        if seen in self._failed:
            return
        if len(self._failed) >= _MAX_REMEMBERED:
            self._failed.clear()
        self._failed.add(seen)
        await self._note(what, "failure", {"error": code, "reason": message[:_MAX_REASON]})

    async def flush(self) -> None:
        """Write what this pass noted (with the recorder's other pending events)."""
        if self._recorder is None or not self.noted:
            return
        await self._recorder.flush()
        self.noted = 0

    async def _account(self, bucket: str) -> str | None:
        """The bucket owner's account; None (only the root key sees the event) when the
        state store cannot say: the deletion happened, so its event is noted anyway."""
        found = self._accounts.get(bucket)
        if found is None:
            try:
                found = await self._settings.get(bucket, OWNER) or SYSTEM_ACCOUNT_ID
            except Exception as exc:
                log.warning("lifecycle: owner of %s unknown for its audit event: %s", bucket, exc)
                return None
            self._accounts[bucket] = found
        return found

    async def _note(self, what: Removal, outcome: Outcome, extra: dict[str, Any]) -> None:
        assert self._recorder is not None
        action, operation = LIFECYCLE_ACTIONS[what.kind]
        details: dict[str, Any] = {
            "bucket": what.bucket,
            "key": what.key,
            "version_id": what.version_id,
            "rule_id": what.rule_id,
            "s3_operation": operation,
            "sweeper": self._holder,
        }
        for name, value in (
            ("upload_id", what.upload_id),
            ("expired_version_id", what.hides),
            ("size", what.size),
            ("etag", what.etag),
        ):
            if value is not None:
                details[name] = value
        details.update(extra)
        now = datetime.now(UTC)
        self._recorder.record(
            AuditEvent(
                id=new_event_id(now),
                time=now,
                action=action,
                outcome=outcome,
                actor_type=SERVICE,
                actor_id=LIFECYCLE_SERVICE,
                target_type="upload" if what.kind == "abort_upload" else "object",
                target_id=f"{what.bucket}/{what.key}",
                account_id=await self._account(what.bucket),
                details=details,
            )
        )
        self.noted += 1
