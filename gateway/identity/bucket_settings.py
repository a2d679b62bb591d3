"""Bucket settings the gateway enforces itself, whatever the storage backend: one text
document (JSON or XML, as the owning feature chooses) per bucket and kind.

Kinds are named by the features that own them (``acl``, ``policy``,
``public_access_block``, ``ownership``, ``owner``, ``cors``, ``lifecycle``, ``tagging``,
...); this store does not interpret documents. The hot path reads every setting of a
bucket in one indexed query (:meth:`BucketSettingsStore.all_for`), so a request costs one
round trip however many features consult bucket settings, and none while the answer is
in the bounded cache of :mod:`gateway.identity.settings_cache`
(``identity.bucket_cache_seconds``): a change is seen by the next request of every worker
of this host, and by other hosts within that many seconds. :meth:`BucketSettingsStore.get`
and :meth:`BucketSettingsStore.of_kind` always read the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType

from gateway.identity.crypto import Keyring
from gateway.identity.db import Database, Tx
from gateway.identity.models import to_micros, utcnow
from gateway.identity.quota import AccountLimitReached
from gateway.identity.settings_cache import SettingsCache
from gateway.principal import SYSTEM_ACCOUNT_ID

__all__ = [
    "MAX_DOCUMENT",
    "AccountGone",
    "BucketGone",
    "BucketNameHeld",
    "BucketSettingsStore",
    "owned_in",
    "require_owner",
]

MAX_DOCUMENT = 256 * 1024
"""Largest document stored (features cap theirs lower: a bucket policy at 20 KB)."""

_UPSERT = (
    "INSERT INTO bucket_settings (bucket, kind, document, updated_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (bucket, kind) DO UPDATE SET"
    " document = excluded.document, updated_at = excluded.updated_at"
)


OWNER_KIND = "owner"
DELETED_BUCKETS = "~deleted"
"""The bucket-settings rows of recently deleted buckets, kind ``name:<bucket>``: the
account that owned it, as of its deletion. No bucket can be named so (``~``), and no
feature reads a kind with a colon."""
_MICROSECOND = timedelta(microseconds=1)
NAME_HOLD_MARGIN = timedelta(seconds=1)
"""Held a second longer than another host may cache the old owner: the time between the
stamp and the commit of a deletion, and a host's pause between its read and its cache's
clock reading."""
_STORE_NOW = "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)"
"""PostgreSQL's own clock, in integer microseconds: a name hold is stamped and judged by
the one clock every host shares, never by the deleting or the claiming host's (a host
whose clock ran ahead of the deleting one by more than the hold would have handed the
name to another account while a third host still cached the old owner)."""
_COUNT_OWNED = "SELECT count(*) FROM bucket_settings WHERE kind = 'owner' AND document = ?"
"""The literal kind lets both databases use the partial index ``bucket_settings_owner``."""


_LEFT_OVER = (
    "DELETE FROM bucket_settings WHERE bucket = ? AND kind <> 'owner'",
    "DELETE FROM object_acls WHERE bucket = ?",
    "DELETE FROM upload_acls WHERE bucket = ?",
)
"""What a new owner's claim clears: rows a request of the name's former bucket wrote
after its deletion forgot it (a PutBucketPolicy, PutBucketAcl or PutObject whose
checks passed just before the DeleteBucket, written just after). Left there, they were
the new bucket's: its policy, its ACL, its objects' owners and ACLs, and so a former
owner's way into another account's bucket of the same name."""

_OWNED = (
    "SELECT bucket FROM bucket_settings WHERE kind = 'owner' AND document = ?"
    " ORDER BY bucket LIMIT ?"
)


class AccountGone(Exception):
    """The account a bucket was to be claimed for no longer exists: it was deleted after
    the request's credential was accepted (S3 ``AccessDenied``)."""


async def owned_in(tx: Tx, account_id: str, most: int) -> list[str]:
    """Up to ``most`` names of buckets ``account_id`` owns, read inside ``tx``: the
    deletion of an account checks it owns none in the transaction that deletes it, so
    that no :meth:`BucketSettingsStore.claim_owner` slips in between."""
    rows = await tx.fetch_all(_OWNED, (account_id, most))
    return [str(row[0]) for row in rows]


class BucketNameHeld(Exception):
    """A bucket name deleted a moment ago by another account, which hosts may still take
    for that account's (their cached settings): S3 ``OperationAborted`` (409), try
    again in a moment."""


class BucketGone(Exception):
    """A setting written for a bucket that is no longer the account's that the request
    was decided for: deleted (and perhaps made again by another account) while the
    request was under way (S3 ``NoSuchBucket``)."""


async def require_owner(tx: Tx, bucket: str, owner: str) -> None:
    """Raise :class:`BucketGone` unless ``owner`` owns ``bucket`` now, inside the writing
    transaction. A request is decided before its body is read, and a body may take a
    minute to arrive: a PutBucketPolicy decided for a bucket its sender then deleted
    would otherwise land on the bucket another account made with the name meanwhile,
    and let the sender in. A bucket without an owner row is the system account's."""
    row = await tx.fetch_one(
        "SELECT document FROM bucket_settings WHERE bucket = ? AND kind = ?",
        (bucket, OWNER_KIND),
    )
    current = SYSTEM_ACCOUNT_ID if row is None else str(row[0])
    if current != owner:
        raise BucketGone(bucket)


def _deleted(bucket: str) -> str:
    return "name:" + bucket


async def _hold_clock(tx: Tx, host_now: int) -> int:
    """The instant name holds are stamped and judged at: the state store's clock on
    PostgreSQL (hosts' clocks may disagree), ``host_now`` on SQLite (one host)."""
    if tx.dialect != "postgresql":
        return host_now
    row = await tx.fetch_one(_STORE_NOW)
    assert row is not None
    return int(row[0])


class BucketSettingsStore:
    def __init__(
        self, db: Database, keyring: Keyring, *, cache: SettingsCache | None = None
    ) -> None:
        self._db = db
        self.cache = cache or SettingsCache(0.0)

    async def all_for(self, bucket: str) -> Mapping[str, str]:
        """Every setting of ``bucket``: kind -> document (empty when none is set). The
        answer may come from the cache (it is read-only)."""
        cache = self.cache
        found = cache.get(bucket)
        if found is not None:
            return found
        token = cache.token()
        rows = await self._db.fetch_all(
            "SELECT kind, document FROM bucket_settings WHERE bucket = ?", (bucket,)
        )
        # Read-only: a cached answer is shared by every request until it expires.
        settings = MappingProxyType({str(kind): str(document) for kind, document in rows})
        cache.put(bucket, settings, token)
        return settings

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

    async def claim_owner(
        self,
        bucket: str,
        account_id: str,
        *,
        most: int | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Record ``account_id`` as the owner of ``bucket`` unless it has an owner already;
        whether this call recorded it. Atomic on both databases, so of callers racing for
        a name exactly one claims it. A claim starts the bucket afresh: whatever rows of
        the name's former bucket are left (:data:`_LEFT_OVER`) go in its transaction.

        ``most``: raise :class:`~gateway.identity.quota.AccountLimitReached` instead of
        claiming when the account owns that many buckets already (its bucket quota). The
        count and the insert are one transaction: under SQLite's writer lock, and
        ``SERIALIZABLE`` on PostgreSQL, where a claim racing another one for the same
        owner fails to serialise and is retried; so the limit holds exactly, across hosts
        too. The count reads the partial index on owners (schema version 7).

        Raises :class:`BucketNameHeld` when another account deleted a bucket of that
        name less than :attr:`name_hold` ago (see :meth:`forget_bucket`; timed by
        PostgreSQL's clock, not ``now``: hosts' clocks may disagree), and
        :class:`AccountGone` when ``account_id`` (other than the system account) has no
        row: its deletion and this claim are exclusive, since the deletion checks, in its
        own transaction, that the account owns no bucket (:func:`owned_in`)."""
        when = to_micros(now or utcnow())
        hold = self.name_hold // _MICROSECOND

        async def body(tx: Tx) -> bool:
            if account_id != SYSTEM_ACCOUNT_ID:
                alive = await tx.fetch_one("SELECT 1 FROM accounts WHERE id = ?", (account_id,))
                if alive is None:
                    raise AccountGone(account_id)
            gone = await tx.fetch_one(
                "SELECT document, updated_at FROM bucket_settings WHERE bucket = ? AND kind = ?",
                (DELETED_BUCKETS, _deleted(bucket)),
            )
            if gone is not None:
                held_since = await _hold_clock(tx, when) - hold
                if str(gone[0]) != account_id and int(gone[1]) > held_since:
                    raise BucketNameHeld(bucket)
                await tx.execute(
                    "DELETE FROM bucket_settings WHERE bucket = ? AND kind = ?",
                    (DELETED_BUCKETS, _deleted(bucket)),
                )
            if most is not None:
                present = await tx.fetch_one(
                    "SELECT 1 FROM bucket_settings WHERE bucket = ? AND kind = ?",
                    (bucket, OWNER_KIND),
                )
                if present is not None:
                    return False
                row = await tx.fetch_one(_COUNT_OWNED, (account_id,))
                if row is not None and int(row[0]) >= most:
                    raise AccountLimitReached("buckets", most)
            added = await tx.execute(
                "INSERT INTO bucket_settings (bucket, kind, document, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (bucket, kind) DO NOTHING",
                (bucket, OWNER_KIND, account_id, when),
            )
            if added != 1:
                return False
            for statement in _LEFT_OVER:
                await tx.execute(statement, (bucket,))
            return True

        added = await self._db.transaction(body)
        if added:
            self.cache.changed(bucket)
        return added

    async def put(
        self,
        bucket: str,
        kind: str,
        document: str,
        *,
        now: datetime | None = None,
        owner: str | None = None,
    ) -> None:
        """Set (or replace) one setting. ``owner``: only while the bucket is still that
        account's (:func:`require_owner`)."""
        if len(document.encode()) > MAX_DOCUMENT:
            raise ValueError(f"a bucket setting is limited to {MAX_DOCUMENT} bytes")
        when = to_micros(now or utcnow())

        async def body(tx: Tx) -> None:
            if owner is not None:
                await require_owner(tx, bucket, owner)
            await tx.execute(_UPSERT, (bucket, kind, document, when))

        try:
            await self._db.transaction(body)
        finally:
            self.cache.changed(bucket)  # also when the outcome is unknown

    async def delete(self, bucket: str, kind: str, *, owner: str | None = None) -> bool:
        """Remove one setting; whether it existed. ``owner``: only while the bucket is
        still that account's (:func:`require_owner`)."""

        async def body(tx: Tx) -> bool:
            if owner is not None:
                await require_owner(tx, bucket, owner)
            removed = await tx.execute(
                "DELETE FROM bucket_settings WHERE bucket = ? AND kind = ?", (bucket, kind)
            )
            return removed > 0

        try:
            return await self._db.transaction(body)
        finally:
            self.cache.changed(bucket)

    async def claim(
        self, bucket: str, kind: str, holder: str, *, now: datetime, ttl: timedelta
    ) -> bool:
        """A lease on the row (``bucket``, ``kind``): whether ``holder`` has it now.

        The row holds its holder's name and when it last claimed; another holder may take
        it over once that is ``ttl`` old. A holder renews by claiming again. Atomic on both
        databases, so among processes and hosts sharing the store one holder wins (the
        lifecycle sweeper: docs/lifecycle.md)."""
        when, stale = to_micros(now), to_micros(now - ttl)

        async def body(tx: Tx) -> tuple[bool, bool]:
            """(holder has the lease, the document changed)."""
            row = await tx.fetch_one(
                "SELECT document, updated_at FROM bucket_settings WHERE bucket = ? AND kind = ?"
                + tx.for_update,
                (bucket, kind),
            )
            if row is None:
                added = await tx.execute(
                    "INSERT INTO bucket_settings (bucket, kind, document, updated_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (bucket, kind) DO NOTHING",
                    (bucket, kind, holder, when),
                )
                return added == 1, added == 1
            if str(row[0]) != holder and int(row[1]) > stale:
                return False, False
            await tx.execute(
                "UPDATE bucket_settings SET document = ?, updated_at = ?"
                " WHERE bucket = ? AND kind = ?",
                (holder, when, bucket, kind),
            )
            return True, str(row[0]) != holder

        won, changed = await self._db.transaction(body)
        if changed:  # a renewal by the same holder leaves the cached settings right
            self.cache.changed(bucket)
        return won

    async def release(self, bucket: str, kind: str, holder: str) -> bool:
        """Give up a lease ``holder`` holds (another may claim it at once); whether it did."""

        async def body(tx: Tx) -> bool:
            removed = await tx.execute(
                "DELETE FROM bucket_settings WHERE bucket = ? AND kind = ? AND document = ?",
                (bucket, kind, holder),
            )
            return removed > 0

        released = await self._db.transaction(body)
        if released:
            self.cache.changed(bucket)
        return released

    @property
    def name_hold(self) -> timedelta:
        """How long a deleted bucket's name stays its former owner's: as long as another
        host may keep that owner in its cache (``bucket_cache_seconds``), plus
        :data:`NAME_HOLD_MARGIN`; nothing when nothing is cached, nor on SQLite (one
        host, whose workers see every change at their next request)."""
        if not self.cache.enabled or self._db.dialect == "sqlite":
            return timedelta(0)
        return timedelta(seconds=self.cache.ttl) + NAME_HOLD_MARGIN

    async def forget_bucket(self, bucket: str, *, now: datetime | None = None) -> int:
        """Drop every setting of a deleted bucket (a bucket made again with the same name
        starts with none); the number removed. Its owner is noted in the row
        (:data:`DELETED_BUCKETS`, ``name:<bucket>``), so that another account cannot
        claim the name while other hosts may still hold the old owner in their caches
        (:meth:`claim_owner`); notes older than that go at the same time. The note is
        stamped by the state store's clock on PostgreSQL (``now`` is this host's, which
        another host's may not agree with), so a hold lasts its length in real time
        whichever hosts delete and claim."""
        host_now = to_micros(now or utcnow())
        hold = self.name_hold // _MICROSECOND

        async def body(tx: Tx) -> int:
            owner = await tx.fetch_one(
                "SELECT document FROM bucket_settings WHERE bucket = ? AND kind = ?",
                (bucket, OWNER_KIND),
            )
            removed = await tx.execute("DELETE FROM bucket_settings WHERE bucket = ?", (bucket,))
            when = await _hold_clock(tx, host_now)
            await tx.execute(
                "DELETE FROM bucket_settings WHERE bucket = ? AND updated_at <= ?",
                (DELETED_BUCKETS, when - hold),
            )
            if owner is not None:
                await tx.execute(_UPSERT, (DELETED_BUCKETS, _deleted(bucket), owner[0], when))
            return removed

        try:
            return await self._db.transaction(body)
        finally:
            self.cache.changed(bucket)
