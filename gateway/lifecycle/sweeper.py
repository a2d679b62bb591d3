"""The lifecycle sweeper: applies every bucket's lifecycle rules in the background.

**One per deployment.** Every worker process runs a :class:`Sweeper`, but only the holder
of a lease in the state store sweeps (``BucketSettingsStore.claim``, the row
``("~lifecycle", "lease")``): one sweeper per data directory with ``--workers N``, one per
PostgreSQL state store however many hosts share it. The holder renews the lease at every
pass and, within a pass, whenever a third of the lease has gone by (a pass over a slow
store may outlast the lease); a holder that finds the lease taken stops the pass at once,
writing no progress. If the holder dies, another process takes over once the lease is
``lease_seconds`` old.

**Bounded and resumable.** A pass reads at most ``batch`` listing entries (objects,
versions or uploads), acting on those that are due, then records where it stopped (the
row ``("~lifecycle", "progress")``: bucket, phase, listing markers and the state of the
key it stopped inside). The next pass, in this process or another, goes on from there.
Buckets are swept in name order, each first through its objects (or versions), then its
multipart uploads; after the last bucket the next pass starts over.

**Through the Backend interface only**, so it works on every backend: listings,
``get_object_tagging`` when a rule filters by tags, ``head_object`` to check that what
it is about to expire is still what it listed, ``delete_object`` (with a version id for
permanent deletions) and ``abort_multipart_upload``. What each action does follows S3:
docs/lifecycle.md.

**On the record.** Every object, version, delete marker or upload it removes or creates,
and every deletion the backend refuses, is an audit event of the lifecycle service
(:mod:`gateway.lifecycle.audit`); a pass writes its events before its progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from backends.base import Backend
from backends.errors import BackendError
from backends.outage import OutageLog
from backends.types import ObjectInfo, ObjectVersion, Upload
from gateway.audit.recorder import AuditRecorder
from gateway.identity.bucket_settings import BucketSettingsStore
from gateway.identity.db import StoreUnavailable
from gateway.identity.object_acls import ObjectAclStore
from gateway.lifecycle.audit import LifecycleAudit, Removal
from gateway.lifecycle.document import cached_lifecycle
from gateway.lifecycle.progress import DONE, OBJECTS, UPLOADS, PassReport, Progress, holder_name
from gateway.lifecycle.rules import Clock, LifecycleConfiguration, Rule

__all__ = ["LEASE_BUCKET", "LIFECYCLE", "PassReport", "Progress", "Sweeper", "holder_name"]

log = logging.getLogger("nfyio.lifecycle")
outage_log = OutageLog(log, "lifecycle: the state store")
"""Its outages as three kinds of line: start, at most one per 10 s, end (``backends.outage``)."""

LIFECYCLE = "lifecycle"
"""The bucket-setting kind holding a bucket's lifecycle configuration (its XML)."""
NULL = "null"
"""The version id of a key's null version (written while versioning was off or
suspended)."""
LEASE_BUCKET = "~lifecycle"
"""The bucket-settings row name of the sweeper's lease and progress: no bucket can have
it (``~`` is not allowed in bucket names)."""
LEASE = "lease"
PROGRESS = "progress"
TRANSIENT = frozenset({"ServiceUnavailable", "SlowDown", "InternalError", "RequestTimeout"})
"""Backend errors of the moment (a store restarting, throttling, a timeout): the pass
stops where it is and the next one tries the same page again."""
TRANSIENT_ATTEMPTS = 5
"""Passes in a row a bucket may stop on a transient error before it is skipped for the
cycle (so a store failing one bucket for good does not hold up the others)."""


class LeaseLost(Exception):
    """Another process took the sweeper's lease during this one's pass."""


_PAGE = 1000

_CHANGED_OR_UNCONDITIONAL = frozenset(
    {"PreconditionFailed", "NoSuchKey", "ConditionalRequestConflict", "NotImplemented"}
)
"""Answers to an expiry's conditional DeleteObject that refuse nothing: the object changed
or went since it was listed (nothing to do), or the store does not decide ``If-Match`` on
a delete (asked again without it)."""


class Sweeper:
    def __init__(
        self,
        backend: Backend,
        settings: BucketSettingsStore,
        object_acls: ObjectAclStore,
        *,
        clock: Clock,
        interval: float,
        batch: int,
        lease_seconds: float,
        holder: str | None = None,
        now: Callable[[], datetime] | None = None,
        audit: AuditRecorder | None = None,
    ) -> None:
        self.backend = backend
        self.settings = settings
        self.object_acls = object_acls
        self.clock = clock
        self.interval = interval
        self.batch = max(1, batch)
        self.lease = timedelta(seconds=max(lease_seconds, 3 * interval))
        self.holder = holder or holder_name()
        self._now = now or (lambda: datetime.now(UTC))
        self.audit = LifecycleAudit(audit, settings, holder=self.holder)
        self._claimed = 0.0
        """``time.monotonic()`` of this process's last successful claim."""

    async def run(self) -> None:
        """Pass after pass until cancelled; a failing pass is logged and retried."""
        try:
            while True:
                try:
                    await self.step()
                    outage_log.available()
                except asyncio.CancelledError:
                    raise
                except StoreUnavailable as exc:  # an outage: a line as it starts and ends
                    outage_log.failed(f"a pass failed ({exc}); retried")
                except Exception:
                    log.exception("lifecycle pass failed")
                await asyncio.sleep(self.interval)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.settings.release(LEASE_BUCKET, LEASE, self.holder))

    async def step(self) -> PassReport:
        """One pass, if this process holds (or can take) the lease."""
        report = PassReport()
        if not await self._claim():
            return report
        report.swept = True
        self.audit.new_pass()
        stored = await self.settings.get(LEASE_BUCKET, PROGRESS)
        try:
            progress = await self._sweep(Progress.from_json(stored), report)
        except LeaseLost:
            # The new holder goes on from the progress last written: what this pass did
            # since is done again there (each action checks the object first).
            log.warning("lifecycle: %s lost the lease during a pass; stopped", self.holder)
            return report
        finally:
            await self._write_audit()
        if progress.to_json() != stored:  # an idle deployment writes nothing
            await self.settings.put(LEASE_BUCKET, PROGRESS, progress.to_json())
        if report.entries or report.expired or report.aborted_uploads:
            log.info(
                "lifecycle pass: holder=%s entries=%d expired=%d versions_removed=%d"
                " markers_removed=%d uploads_aborted=%d",
                self.holder,
                report.entries,
                report.expired,
                report.removed_versions,
                report.removed_markers,
                report.aborted_uploads,
            )
        return report

    async def _claim(self) -> bool:
        won = await self.settings.claim(
            LEASE_BUCKET, LEASE, self.holder, now=self._now(), ttl=self.lease
        )
        if won:
            self._claimed = time.monotonic()
        return won

    async def _hold(self) -> None:
        """Renew the lease once a third of it has gone by since the last claim; raise
        :class:`LeaseLost` if another process has it. Before each entry a pass acts on:
        a clock read, and a claim every ``lease / 3``."""
        if time.monotonic() - self._claimed < self.lease.total_seconds() / 3:
            return
        if not await self._claim():
            raise LeaseLost(self.holder)

    async def _write_audit(self) -> None:
        """The pass's events go to the state store before its progress does; if that
        fails they stay with the recorder, which retries every flush interval."""
        try:
            await self.audit.flush()
        except Exception:
            log.exception("lifecycle: writing the pass's audit events failed; will retry")

    async def _sweep(self, progress: Progress, report: PassReport) -> Progress:
        configs = await self.settings.of_kind(LIFECYCLE)
        names = sorted(configs, key=lambda n: n.encode())
        budget = self.batch
        while budget > 0:
            bucket = _current_bucket(progress, names)
            if bucket is None:
                return Progress()  # the cycle is complete: the next pass starts over
            if bucket != progress.bucket:
                progress = Progress(bucket=bucket)
            await self._hold()
            try:
                config = cached_lifecycle(configs[bucket])
                used = await self._bucket(bucket, config, progress, budget, report)
            except LeaseLost:
                raise
            except BackendError as exc:
                if exc.code in TRANSIENT and progress.attempts + 1 < TRANSIENT_ATTEMPTS:
                    progress.attempts += 1
                    log.warning(
                        "lifecycle: bucket %s: %s; the next pass tries again (attempt %d of %d)",
                        bucket,
                        exc.code,
                        progress.attempts,
                        TRANSIENT_ATTEMPTS,
                    )
                    return progress
                if exc.code != "NoSuchBucket":
                    log.warning("lifecycle: bucket %s skipped this cycle: %s", bucket, exc.code)
                progress = Progress(bucket=bucket, phase=DONE)
                used = 1
            except Exception:  # a fault of this bucket's (its stored document, a bug)
                log.exception("lifecycle: bucket %s skipped this cycle", bucket)
                progress = Progress(bucket=bucket, phase=DONE)
                used = 1
            else:
                progress.attempts = 0
            budget -= max(used, 1)
            report.entries += used
        return progress

    async def _bucket(
        self,
        bucket: str,
        config: LifecycleConfiguration,
        progress: Progress,
        budget: int,
        report: PassReport,
    ) -> int:
        """Sweep one page of ``bucket`` (moving ``progress`` on); entries read."""
        rules = config.enabled
        if progress.phase == OBJECTS:
            if not any(r.expires or r.noncurrent_days or r.expired_delete_marker for r in rules):
                _next_phase(progress, UPLOADS)
                return 0
            if await self.backend.get_bucket_versioning(bucket) is None:
                return await self._objects(bucket, config, progress, budget, report)
            return await self._versions(bucket, config, progress, budget, report)
        if progress.phase == UPLOADS:
            if not any(r.abort_days for r in rules):
                _next_phase(progress, DONE)
                return 0
            return await self._uploads(bucket, config, progress, budget, report)
        return 0

    # -- never-versioned buckets ------------------------------------------------------

    async def _objects(
        self,
        bucket: str,
        config: LifecycleConfiguration,
        progress: Progress,
        budget: int,
        report: PassReport,
    ) -> int:
        page = await self.backend.list_objects(
            bucket, marker=progress.key_marker, max_keys=min(budget, _PAGE)
        )
        now = self._now()
        for info in page.objects:
            await self._hold()
            rule = await self._current_due(bucket, config, info, now)
            if rule is not None:
                report.expired += await self._expire_current(bucket, info, rule, versioned=False)
        if page.is_truncated and page.next_marker is not None:
            progress.key_marker = page.next_marker
        else:
            _next_phase(progress, UPLOADS)
        return len(page.objects) + len(page.common_prefixes)

    async def _current_due(
        self, bucket: str, config: LifecycleConfiguration, info: ObjectInfo, now: datetime
    ) -> Rule | None:
        """The rule under which the current version ``info`` has expired, if any."""
        tags = None
        if config.needs_tags_for_expiration(info.key, info.size):
            tags = await self._tags(bucket, info.key, info.version_id)
        found = config.expiration(info.key, info.size, info.last_modified, tags, self.clock)
        if found is None or now < found[0]:
            return None
        return found[1]

    async def _tags(
        self, bucket: str, key: str, version_id: str | None
    ) -> tuple[tuple[str, str], ...] | None:
        try:
            return (await self.backend.get_object_tagging(bucket, key, version_id=version_id)).tags
        except BackendError:
            return None  # gone meanwhile (or a delete marker): nothing to match

    async def _expire_current(
        self, bucket: str, listed: ObjectInfo, rule: Rule, *, versioned: bool
    ) -> int:
        """Expire the current version the listing showed, unless it changed since: a
        delete without a version id (a delete marker in a versioned bucket)."""
        try:
            now = await self.backend.describe_object(bucket, listed.key)
        except BackendError:
            return 0
        same = now.etag == listed.etag and int(now.last_modified.timestamp()) == int(
            listed.last_modified.timestamp()
        )
        if not same or (listed.version_id is not None and now.version_id != listed.version_id):
            return 0
        # A versioned bucket gets a delete marker (the event's version is the marker's)
        # hiding the listed version; a never-versioned one loses the object.
        what = Removal(
            "create_delete_marker" if versioned else "expire_object",
            bucket,
            listed.key,
            rule.id,
            version_id=None if versioned else listed.version_id,
            hides=listed.version_id if versioned else None,
            size=listed.size,
            etag=listed.etag,
        )
        # DeleteObject of the current version only if its ETag is still the listed one,
        # decided by the backend atomically with the delete (``If-Match``): a PUT between
        # the look above and the delete was deleted (never-versioned bucket) or replaced by
        # the null marker (suspended bucket), though no rule made it due. A store that
        # does not decide ``If-Match`` on DeleteObject is asked without it, the moment
        # after the look left open as before.
        result = await self.audit.attempt(
            what,
            self.backend.delete_object(bucket, listed.key, if_match=listed.etag),
            expected=_CHANGED_OR_UNCONDITIONAL,
        )
        if isinstance(result, BackendError) and result.code == "NotImplemented":
            result = await self.audit.attempt(what, self.backend.delete_object(bucket, listed.key))
        if isinstance(result, BackendError):
            return 0
        if result.delete_marker:
            what = replace(what, kind="create_delete_marker", hides=listed.version_id)
            what = replace(what, version_id=result.delete_marker_version_id)
        await self.audit.done(what)
        return 1

    # -- versioned buckets --------------------------------------------------------------

    async def _versions(
        self,
        bucket: str,
        config: LifecycleConfiguration,
        progress: Progress,
        budget: int,
        report: PassReport,
    ) -> int:
        page = await self.backend.list_object_versions(
            bucket,
            key_marker=progress.key_marker,
            version_id_marker=progress.version_marker,
            max_keys=min(budget, _PAGE),
        )
        now = self._now()
        carry = progress.carry
        for entry in page.versions:
            await self._hold()
            key = entry.info.key
            if carry.get("key") != key:
                await self._settle_marker(bucket, config, carry, now, report)
                carry = {"key": key, "successor": None, "noncurrent": 0, "marker": None}
            await self._version(bucket, config, entry, carry, now, report)
        if page.is_truncated and page.next_key_marker is not None:
            progress.key_marker = page.next_key_marker
            progress.version_marker = page.next_version_id_marker
            progress.carry = carry
        else:
            await self._settle_marker(bucket, config, carry, now, report)
            _next_phase(progress, UPLOADS)
        return len(page.versions) + len(page.common_prefixes)

    async def _version(
        self,
        bucket: str,
        config: LifecycleConfiguration,
        entry: ObjectVersion,
        carry: dict[str, Any],
        now: datetime,
        report: PassReport,
    ) -> None:
        info = entry.info
        if entry.is_latest:
            if entry.delete_marker:
                carry["marker"] = [info.version_id, info.last_modified.timestamp()]
            elif (rule := await self._current_due(bucket, config, info, now)) is not None:
                report.expired += await self._expire_current(bucket, info, rule, versioned=True)
            carry["successor"] = info.last_modified.timestamp()
            return
        carry["marker"] = None  # the key has other versions: its marker is not alone
        carry["noncurrent"] = int(carry.get("noncurrent") or 0) + 1
        successor = carry.get("successor")
        carry["successor"] = info.last_modified.timestamp()
        if successor is None:
            return  # resumed inside a key without its newer versions: next cycle
        became = datetime.fromtimestamp(float(successor), UTC)
        for rule in config.enabled:
            if rule.noncurrent_days is None or not rule.filter.matches_key(info.key):
                continue
            if not rule.filter.matches_size(info.size):
                continue
            if rule.filter.needs_tags:
                if entry.delete_marker:
                    continue
                tags = await self._tags(bucket, info.key, info.version_id)
                if tags is None or not rule.filter.matches_tags(tags):
                    continue
            due = self.clock.due(became, rule.noncurrent_days)
            if due is None or now < due:
                continue
            if rule.newer_noncurrent is not None and carry["noncurrent"] <= rule.newer_noncurrent:
                continue
            marker = entry.delete_marker
            what = Removal(
                "expire_delete_marker" if marker else "expire_version",
                bucket,
                info.key,
                rule.id,
                version_id=info.version_id,
                size=None if marker else info.size,
                etag=None if marker else info.etag,
            )
            if await self._remove_version(what, marker=marker, written=info.last_modified):
                if marker:
                    report.removed_markers += 1
                else:
                    report.removed_versions += 1
            return

    async def _settle_marker(
        self,
        bucket: str,
        config: LifecycleConfiguration,
        carry: dict[str, Any],
        now: datetime,
        report: PassReport,
    ) -> None:
        """A key whose latest version is a delete marker and which has no other version:
        an expired object delete marker. ``ExpiredObjectDeleteMarker`` removes it at once;
        an ``Expiration`` in ``Days`` once the marker is that old (as S3 does)."""
        marker = carry.get("marker")
        key = carry.get("key")
        if not marker or key is None:
            return
        version_id, written = str(marker[0]), datetime.fromtimestamp(float(marker[1]), UTC)
        for rule in config.enabled:
            if rule.filter.needs_tags or not rule.filter.matches(key, 0):
                continue
            when = None
            if rule.expiration_days is not None:
                when = self.clock.due(written, rule.expiration_days)
            if rule.expired_delete_marker is True or (when is not None and now >= when):
                what = Removal("expire_delete_marker", bucket, key, rule.id, version_id=version_id)
                if await self._remove_version(what, marker=True, written=written):
                    report.removed_markers += 1
                return

    async def _remove_version(self, what: Removal, *, marker: bool, written: datetime) -> bool:
        """Delete one version (or delete marker) for good (Object Lock may refuse: then
        it stays); ``null`` only while it is still what was listed (``marker``, written
        at ``written``)."""
        bucket, key, version_id = what.bucket, what.key, what.version_id
        if version_id is None:
            return False
        if version_id == NULL and not await self._null_unchanged(what, marker, written):
            return False
        call = self.backend.delete_object(bucket, key, version_id=version_id)
        if isinstance(await self.audit.attempt(what, call), BackendError):
            return False
        await self.audit.done(what)
        await self.object_acls.forget(bucket, [(key, version_id)])
        return True

    async def _null_unchanged(self, what: Removal, marker: bool, written: datetime) -> bool:
        """Whether the key's null version is still the one listed. ``null`` names a place,
        not a version: a write to a suspended bucket replaces the null version (or null
        delete marker) in place, so a deletion of ``null`` decided on the listing would
        remove the object written since, which no rule made due (and, under a noncurrent
        rule, make the older version it hid current again). A listed marker goes unless
        an object took its place (a marker holds no data, and some stores answer a HEAD
        of a marker as of nothing: SeaweedFS's bare 404). One HEAD, for null versions
        only; the moment between it and the delete stays, as for current versions
        (``_expire_current``)."""
        try:
            found = await self.backend.describe_object(what.bucket, what.key, version_id=NULL)
        except BackendError:
            return marker
        return (
            not marker
            and found.etag == what.etag
            and int(found.last_modified.timestamp()) == int(written.timestamp())
        )

    # -- multipart uploads -------------------------------------------------------------

    async def _uploads(
        self,
        bucket: str,
        config: LifecycleConfiguration,
        progress: Progress,
        budget: int,
        report: PassReport,
    ) -> int:
        page = await self.backend.list_multipart_uploads(
            bucket,
            key_marker=progress.key_marker,
            upload_id_marker=progress.version_marker,
            max_uploads=min(budget, _PAGE),
        )
        now = self._now()
        for upload in page.uploads:
            await self._hold()
            report.aborted_uploads += await self._abort(bucket, config, upload, now)
        if page.is_truncated and page.next_key_marker is not None:
            progress.key_marker = page.next_key_marker
            progress.version_marker = page.next_upload_id_marker
        else:
            _next_phase(progress, DONE)
        return len(page.uploads) + len(page.common_prefixes)

    async def _abort(
        self, bucket: str, config: LifecycleConfiguration, upload: Upload, now: datetime
    ) -> int:
        initiated = upload.initiated  # a listing names it, on every store
        found = None if initiated is None else config.abort(upload.key, initiated, self.clock)
        if found is None or now < found[0]:
            return 0
        what = Removal("abort_upload", bucket, upload.key, found[1].id, upload_id=upload.upload_id)
        call = self.backend.abort_multipart_upload(bucket, upload.key, upload.upload_id)
        if isinstance(await self.audit.attempt(what, call), BackendError):
            return 0
        await self.audit.done(what)
        await self.object_acls.forget_upload(bucket, upload.upload_id)
        return 1


def _current_bucket(progress: Progress, names: list[str]) -> str | None:
    """The bucket to sweep now: the one in progress if it still has a configuration and
    is not done, else the next one by name."""
    if progress.bucket is None:
        return names[0] if names else None
    if progress.phase != DONE and progress.bucket in names:
        return progress.bucket
    after = progress.bucket.encode()
    return next((n for n in names if n.encode() > after), None)


def _next_phase(progress: Progress, phase: str) -> None:
    progress.phase = phase
    progress.key_marker = progress.version_marker = None
    progress.carry = {}
