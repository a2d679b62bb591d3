"""Bucket operations of the filesystem backend (mixed into ``FilesystemBackend``): the
``buckets`` rows (name, creation time, region, versioning, Object Lock, default
encryption) and the counters the ``objects`` triggers keep."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from backends.errors import NOT_EMPTY_VERSIONED, BackendError
from backends.filesystem.columns import from_us, now_us
from backends.filesystem.files import DataStore
from backends.filesystem.metadb import MetaDB
from backends.filesystem.multipart import drop_bucket_uploads
from backends.filesystem.objects import encryption_not_found
from backends.filesystem.sse import bucket_encryption, set_bucket_encryption
from backends.filesystem.versions import lock_config_to_json, require_state
from backends.types import VERSIONING_ENABLED, BucketEncryption, BucketInfo, ObjectLockConfig

__all__ = ["BucketsMixin"]


class BucketsMixin:
    """Needs the backend's ``db`` and ``files``."""

    files: DataStore

    if TYPE_CHECKING:  # provided by FilesystemBackend

        @property
        def db(self) -> MetaDB: ...

    async def list_buckets(self) -> Sequence[BucketInfo]:
        return [BucketInfo(n, from_us(c), r) for n, c, r in self.db.buckets()]

    async def create_bucket(
        self, bucket: str, *, region: str = "us-east-1", object_lock: bool = False
    ) -> BucketInfo:
        created = now_us()
        # Object Lock turns versioning on (and it can never be suspended afterwards).
        versioning = VERSIONING_ENABLED if object_lock else None
        lock = lock_config_to_json(ObjectLockConfig()) if object_lock else None
        with self.db.write() as conn:
            if self.db.bucket(bucket) is not None:
                raise BackendError(
                    "BucketAlreadyOwnedByYou",
                    "Your previous request to create the named bucket succeeded and you "
                    "already own it.",
                    extra={"BucketName": bucket},
                )
            conn.execute(
                "INSERT INTO buckets (name, created_at, region, versioning, object_lock)"
                " VALUES (?, ?, ?, ?, ?)",
                (bucket, created, region, versioning, lock),
            )
        return BucketInfo(bucket, from_us(created), region)

    async def head_bucket(self, bucket: str) -> BucketInfo:
        row = self.db.require_bucket(bucket)
        return BucketInfo(row[0], from_us(row[1]), row[2])

    async def delete_bucket(self, bucket: str) -> None:
        """Objects, versions and delete markers keep a bucket; uploads in progress are
        aborted with it (in the same transaction; their part files go after it)."""
        with self.db.write() as conn:
            state = require_state(conn, bucket)
            busy = any(
                conn.execute(
                    f"SELECT 1 FROM {table} WHERE bucket = ? LIMIT 1", (bucket,)
                ).fetchone()
                for table in ("objects", "versions")
            )
            if busy:
                raise BackendError(
                    "BucketNotEmpty",
                    NOT_EMPTY_VERSIONED
                    if state.versioning is not None
                    else "The bucket you tried to delete is not empty",
                    extra={"BucketName": bucket},
                )
            aborted = drop_bucket_uploads(conn, bucket)
            conn.execute("DELETE FROM buckets WHERE name = ?", (bucket,))
        for upload_id in aborted:
            await self.files.drop_upload_dir(upload_id)

    async def bucket_stats(self, bucket: str) -> tuple[int, int]:
        """From the counters the ``objects`` triggers keep (``metadb.py``): O(1)."""
        self.db.require_bucket(bucket)
        return self.db.bucket_stats(bucket)

    async def get_bucket_encryption(self, bucket: str) -> BucketEncryption:
        config = bucket_encryption(self.db.conn, bucket)
        if config is None:
            raise encryption_not_found(bucket)
        return config

    async def put_bucket_encryption(self, bucket: str, config: BucketEncryption) -> None:
        with self.db.write() as conn:
            set_bucket_encryption(conn, bucket, config)

    async def delete_bucket_encryption(self, bucket: str) -> None:
        with self.db.write() as conn:
            set_bucket_encryption(conn, bucket, None)
