"""Bucket settings the gateway enforces itself, whatever the storage backend: one text
document (JSON or XML, as the owning feature chooses) per bucket and kind.

Kinds are named by the features that own them (``acl``, ``policy``,
``public_access_block``, ``ownership``, ``owner``, ``cors``, ``lifecycle``, ``tagging``,
...); this store does not interpret documents. The hot path reads every setting of a
bucket in one indexed query (:meth:`BucketSettingsStore.all_for`), so a request costs one
round trip however many features consult bucket settings. Nothing is cached: a change is
seen by the next request on every worker and host.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from gateway.identity.crypto import Keyring
from gateway.identity.db import Database, Tx
from gateway.identity.models import to_micros, utcnow

__all__ = ["MAX_DOCUMENT", "BucketSettingsStore"]

MAX_DOCUMENT = 256 * 1024
"""Largest document stored (features cap theirs lower: a bucket policy at 20 KB)."""

_UPSERT = (
    "INSERT INTO bucket_settings (bucket, kind, document, updated_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (bucket, kind) DO UPDATE SET"
    " document = excluded.document, updated_at = excluded.updated_at"
)


class BucketSettingsStore:
    def __init__(self, db: Database, keyring: Keyring) -> None:
        self._db = db

    async def all_for(self, bucket: str) -> Mapping[str, str]:
        """Every setting of ``bucket``: kind -> document (empty when none is set)."""
        rows = await self._db.fetch_all(
            "SELECT kind, document FROM bucket_settings WHERE bucket = ?", (bucket,)
        )
        return {str(kind): str(document) for kind, document in rows}

    async def get(self, bucket: str, kind: str) -> str | None:
        row = await self._db.fetch_one(
            "SELECT document FROM bucket_settings WHERE bucket = ? AND kind = ?", (bucket, kind)
        )
        return None if row is None else str(row[0])

    async def of_kind(self, kind: str) -> Mapping[str, str]:
        """Bucket -> document of one kind for every bucket that has it (ListBuckets reads
        the ``owner`` of all buckets at once)."""
        rows = await self._db.fetch_all(
            "SELECT bucket, document FROM bucket_settings WHERE kind = ?", (kind,)
        )
        return {str(bucket): str(document) for bucket, document in rows}

    async def put_if_absent(
        self, bucket: str, kind: str, document: str, *, now: datetime | None = None
    ) -> bool:
        """Set one setting unless the bucket has it already; whether this call set it.
        Atomic on both databases, so it claims a name for one caller among racing ones."""
        when = to_micros(now or utcnow())

        async def body(tx: Tx) -> bool:
            added = await tx.execute(
                "INSERT INTO bucket_settings (bucket, kind, document, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (bucket, kind) DO NOTHING",
                (bucket, kind, document, when),
            )
            return added == 1

        return await self._db.transaction(body)

    async def put(
        self, bucket: str, kind: str, document: str, *, now: datetime | None = None
    ) -> None:
        """Set (or replace) one setting."""
        if len(document.encode()) > MAX_DOCUMENT:
            raise ValueError(f"a bucket setting is limited to {MAX_DOCUMENT} bytes")
        when = to_micros(now or utcnow())

        async def body(tx: Tx) -> None:
            await tx.execute(_UPSERT, (bucket, kind, document, when))

        await self._db.transaction(body)

    async def delete(self, bucket: str, kind: str) -> bool:
        """Remove one setting; whether it existed."""

        async def body(tx: Tx) -> bool:
            removed = await tx.execute(
                "DELETE FROM bucket_settings WHERE bucket = ? AND kind = ?", (bucket, kind)
            )
            return removed > 0

        return await self._db.transaction(body)

    async def forget_bucket(self, bucket: str) -> int:
        """Drop every setting of a deleted bucket (a bucket made again with the same name
        starts with none); the number removed."""

        async def body(tx: Tx) -> int:
            return await tx.execute("DELETE FROM bucket_settings WHERE bucket = ?", (bucket,))

        return await self._db.transaction(body)
