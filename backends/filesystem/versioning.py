"""Version-aware reads and the versioning / Object Lock operations of the filesystem
backend (mixed into ``FilesystemBackend``; the rows and rules are in ``versions.py``)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime
from email.utils import format_datetime

from backends.errors import BackendError, delete_marker_copy_source
from backends.filesystem.columns import lock_from_json
from backends.filesystem.metadb import MetaDB, ObjectRow
from backends.filesystem.objects import no_such_key
from backends.filesystem.version_listing import list_versions
from backends.filesystem.versions import (
    NULL_VERSION_BATCH,
    VersionRow,
    find_version,
    latest_marker,
    locate,
    lock_config_to_json,
    marker_extra,
    name_null_batch,
    no_such_version,
    pending_null_naming,
    require_state,
    set_lock,
    start_null_naming,
)
from backends.locks import check_retention_change, missing_lock_configuration
from backends.sqlite_wal import lock_busy
from backends.types import (
    VERSIONING_ENABLED,
    VERSIONING_STATES,
    VERSIONING_SUSPENDED,
    CopySource,
    ObjectLock,
    ObjectLockConfig,
    VersionsPage,
)

__all__ = ["VersioningMixin", "delete_marker_refused"]


def delete_marker_refused(marker: VersionRow) -> BackendError:
    """Reading a delete marker by its version id: 405, described by headers."""
    modified = datetime.fromtimestamp(marker.last_modified // 1_000_000, UTC)
    return BackendError(
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
        extra={
            "ResourceType": "DeleteMarker",
            "LastModified": format_datetime(modified, usegmt=True),
            **marker_extra(marker.version_id),
        },
    )


_BUSY_PAUSE = 0.05
"""Seconds at least between two batches of null-version naming (a batch that found the
lock held took no time of its own)."""


def _no_such_key(key: str, marker: VersionRow | None) -> BackendError:
    """``NoSuchKey``, with the delete-marker fields when the latest version is one."""
    error = no_such_key(key)
    if marker is not None:
        error.extra.update(marker_extra(marker.version_id))
    return error


class VersioningMixin:
    """Needs ``db`` (the backend's ``MetaDB``)."""

    @property
    def db(self) -> MetaDB:
        raise NotImplementedError

    # -- reads -----------------------------------------------------------------------------

    def find(self, bucket: str, key: str, version_id: str | None = None) -> ObjectRow:
        """The row a read serves: the latest version, or the one ``version_id`` names.

        Raises ``NoSuchBucket``; ``NoSuchKey`` (with the delete-marker fields when the
        latest version is one); ``NoSuchVersion``; ``MethodNotAllowed`` for a marker's id;
        ``InvalidArgument`` for a malformed id.
        """
        if version_id is None:
            row = self.db.object(bucket, key.encode("utf-8"))
            if row is not None:
                return row
            self.db.require_bucket(bucket)
            # raised as made: this frame is on the error's traceback, so a local holding
            # the error would be a reference cycle (docs/architecture.md)
            raise _no_such_key(key, latest_marker(self.db.conn, bucket, key))
        found = find_version(self.db.conn, bucket, key, version_id)
        if found is None:
            self.db.require_bucket(bucket)
            raise no_such_version(key, version_id)
        if isinstance(found, VersionRow):
            raise delete_marker_refused(found)
        return found

    def find_copy_source(self, source: CopySource) -> ObjectRow:
        try:
            return self.find(source.bucket, source.key, source.version_id)
        except BackendError as exc:
            if exc.code == "MethodNotAllowed":
                raise delete_marker_copy_source() from None
            if exc.extra.get("ArgumentName") == "versionId":
                # an id the store cannot have issued: named where it was sent, as AWS does
                exc.extra["ArgumentName"] = "x-amz-copy-source"
            # a source hidden by a delete marker: NoSuchKey with the marker's headers,
            # as S3 answers a copy (x-amz-delete-marker, x-amz-version-id)
            raise

    # -- bucket versioning -----------------------------------------------------------------

    async def get_bucket_versioning(self, bucket: str) -> str | None:
        state = require_state(self.db.conn, bucket)
        return state.versioning

    async def put_bucket_versioning(self, bucket: str, status: str) -> None:
        if status not in VERSIONING_STATES:
            raise BackendError("MalformedXML", f"Unknown versioning status {status!r}")
        with self.db.write() as conn:
            state = require_state(conn, bucket)
            if status == VERSIONING_SUSPENDED and state.lock is not None:
                raise BackendError(
                    "InvalidBucketState",
                    "An Object Lock configuration is present on this bucket, so the "
                    "versioning state cannot be changed.",
                )
            conn.execute("UPDATE buckets SET versioning = ? WHERE name = ?", (status, bucket))
            if state.versioning is not None:
                return
            # The objects written before are the null version from now on, and S3 names
            # it (``x-amz-version-id: null``) once a bucket has been versioned: marked once
            # here, so no read has to look up the bucket's state. The first batch goes
            # with the state; a larger bucket's rest a batch per transaction, and after
            # each as long again with the lock free, for this loop and other processes'
            # writers (writes treat a NULL id and 'null' alike meanwhile). Each batch
            # records where it ended (``null_naming``): a process that stops midway
            # leaves the rest to the next one to start (``name_pending_null_versions``).
            started = time.monotonic()
            start_null_naming(conn, bucket)
            more = name_null_batch(conn, bucket, self.null_version_batch)
        if more:
            await self._name_null_rest(bucket, started)

    null_version_batch = NULL_VERSION_BATCH
    """Keys whose null version one transaction names (``versions.name_null_batch``)."""

    async def _name_null_rest(self, bucket: str, started: float) -> None:
        """The batches after the first, each after a pause as long as the last took. A
        batch that finds the lock held past the busy timeout (another process writing:
        a sibling worker naming the same bucket's versions at start-up) is tried again
        after the pause, not given up: each batch names where the last ended."""
        more = True
        while more:
            await asyncio.sleep(max(time.monotonic() - started, _BUSY_PAUSE))
            started = time.monotonic()
            try:
                with self.db.write() as conn:
                    more = name_null_batch(conn, bucket, self.null_version_batch)
            except sqlite3.OperationalError as exc:
                if not lock_busy(exc):
                    raise

    async def name_pending_null_versions(self) -> None:
        """Finish the naming of null versions that a process stopped midway (a batch per
        transaction, as ``put_bucket_versioning`` does); at start-up, in the background.
        A failure other than a held lock (which is waited out) leaves the rest recorded
        for the next start."""
        for bucket in pending_null_naming(self.db.conn):
            await self._name_null_rest(bucket, time.monotonic())

    async def list_object_versions(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        key_marker: str | None = None,
        version_id_marker: str | None = None,
        max_keys: int = 1000,
    ) -> VersionsPage:
        self.db.require_bucket(bucket)
        return list_versions(
            self.db.conn,
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            version_id_marker=version_id_marker,
            max_keys=max_keys,
        )

    # -- Object Lock -----------------------------------------------------------------------

    async def get_object_lock_configuration(self, bucket: str) -> ObjectLockConfig:
        state = require_state(self.db.conn, bucket)
        if state.lock is None:
            raise BackendError(
                "ObjectLockConfigurationNotFoundError",
                "Object Lock configuration does not exist for this bucket",
                extra={"BucketName": bucket},
            )
        return state.lock

    async def put_object_lock_configuration(self, bucket: str, config: ObjectLockConfig) -> None:
        with self.db.write() as conn:
            state = require_state(conn, bucket)
            if state.lock is None and state.versioning != VERSIONING_ENABLED:
                # AWS lets Object Lock be turned on for an existing bucket only once
                # versioning is enabled on it.
                raise BackendError(
                    "InvalidBucketState",
                    "Versioning must be 'Enabled' on the bucket to apply a Object Lock "
                    "configuration",
                )
            conn.execute(
                "UPDATE buckets SET object_lock = ? WHERE name = ?",
                (lock_config_to_json(config), bucket),
            )

    def _lockable(self, bucket: str, key: str, version_id: str | None) -> ObjectRow | VersionRow:
        """The row whose lock a request reads or changes (in the caller's transaction,
        if any): the latest version or the one named; never a delete marker."""
        state = require_state(self.db.conn, bucket)
        if state.lock is None:
            raise missing_lock_configuration()
        if version_id is None:
            return self.find(bucket, key)
        found = locate(self.db.conn, bucket, key.encode("utf-8"), version_id)
        if found is None:
            raise no_such_version(key, version_id)
        if isinstance(found, VersionRow) and found.marker:
            raise delete_marker_refused(found)
        return found

    async def get_object_lock(
        self, bucket: str, key: str, *, version_id: str | None = None
    ) -> ObjectLock:
        lock = lock_from_json(self._lockable(bucket, key, version_id).lock)
        return ObjectLock() if lock is None else lock

    async def put_object_retention(
        self,
        bucket: str,
        key: str,
        lock: ObjectLock,
        *,
        version_id: str | None = None,
        bypass_governance: bool = False,
    ) -> None:
        with self.db.write() as conn:
            row = self._lockable(bucket, key, version_id)
            current = lock_from_json(row.lock)
            check_retention_change(
                current,
                lock.mode,
                lock.retain_until,
                bypass_governance=bypass_governance,
                now=datetime.now(UTC),
            )
            hold = None if current is None else current.legal_hold
            set_lock(conn, bucket, row, ObjectLock(lock.mode, lock.retain_until, hold))

    async def put_object_legal_hold(
        self, bucket: str, key: str, on: bool, *, version_id: str | None = None
    ) -> None:
        with self.db.write() as conn:
            row = self._lockable(bucket, key, version_id)
            current = lock_from_json(row.lock) or ObjectLock()
            set_lock(conn, bucket, row, ObjectLock(current.mode, current.retain_until, on))
