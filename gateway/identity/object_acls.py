"""Object ownership and object ACLs, and the initiator and ACL of multipart uploads: kept
by the gateway, whatever the storage backend (the upstream store only ever sees the
gateway's own credentials, so it cannot know who wrote what).

Rows exist only where they say something: an object version without a row is owned by
the bucket owner and private, which is what every object of a single-account bucket is.
The first row written in a bucket sets the bucket's ``object_acls`` setting (a JSON
document ``{"foreign": bool}``, read with every other setting of the bucket in one query);
from then on every write in that bucket records its row, so that "the most recent row of
a key" is always its current version. ``foreign`` says whether any row names an owner
other than the bucket owner; the bucket owner's own requests need an object's row only
then. So a request in a bucket without rows costs nothing here (a write asks once more
whether rows were begun since its decision: :meth:`ObjectAclStore.rows_begun_elsewhere`,
on SQLite a look at the change marker while nothing was committed), and one that needs an
object's owner or ACL costs one indexed read.

Two writes of one key may record their rows in the other order than the storage
committed their objects: a row never replaces the version's row of a later write
(:meth:`ObjectAclStore.record`), and a write that found the bucket without rows checks,
after recording its own, that its object is still the key's current one
(:meth:`ObjectAclStore.settle`, ``gateway.s3.ownership``).

Documents (``acl``) are text the S3 layer writes and reads (``gateway.s3.stored``); this
store does not interpret them.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from gateway.identity.bucket_settings import require_owner
from gateway.identity.cache import LookupCache
from gateway.identity.columns import as_int, as_str
from gateway.identity.crypto import Keyring
from gateway.identity.db import Database, TransactionBody, Tx, UnstorableText
from gateway.identity.models import to_micros, utcnow
from gateway.identity.settings_cache import SettingsCache

__all__ = [
    "FLAG_KIND",
    "NULL_VERSION",
    "ObjectAcl",
    "ObjectAclStore",
    "ObjectChanged",
    "RowRead",
    "UploadAcl",
    "bucket_flag",
]

FLAG_KIND = "object_acls"
"""The bucket setting saying the bucket has rows here: ``{"foreign": bool}``."""
NULL_VERSION = "null"
"""The version id of an object in a bucket without versioning (and S3's null version)."""

_OBJECT_COLUMNS = "version_id, owner, acl, written_at"
_CURRENT = (
    f"SELECT {_OBJECT_COLUMNS} FROM object_acls WHERE bucket = ? AND object_key = ?"
    " ORDER BY written_at DESC, version_id DESC LIMIT 1"
)
_VERSION = (
    f"SELECT {_OBJECT_COLUMNS} FROM object_acls"
    " WHERE bucket = ? AND object_key = ? AND version_id = ?"
)
_SECOND = 1_000_000

_INSERT_OBJECT = (
    "INSERT INTO object_acls (bucket, object_key, version_id, owner, acl, written_at)"
    " VALUES (?, ?, ?, ?, ?, (SELECT CASE WHEN MAX(written_at) >= ? AND MAX(written_at) < ?"
    " THEN MAX(written_at) + 1 ELSE ? END FROM object_acls"
    " WHERE bucket = ? AND object_key = ? AND version_id <> ?))"
    " ON CONFLICT (bucket, object_key, version_id) DO UPDATE SET"
    " owner = excluded.owner, acl = excluded.acl, written_at = excluded.written_at"
)
_UPSERT_OBJECT = f"{_INSERT_OBJECT} WHERE excluded.written_at > object_acls.written_at"
"""The row of a version just written: at its time, or a microsecond after the key's
latest other row when that ties with it (:func:`_write_row`); never over the version's
row of a write made at the same time or later (:meth:`ObjectAclStore.record`)."""
_SETTLE_OVER = f"{_UPSERT_OBJECT} AND object_acls.owner = ? AND object_acls.acl = ?"
""":meth:`ObjectAclStore.settle` over the finder's own row of the same version: only while
the row is still that one's (owner and ACL), not a row the current object's write put
there at the same time (:meth:`ObjectAclStore.replace` keeps the place it replaces)."""
_REPLACE_OBJECT = (
    "UPDATE object_acls SET owner = ?, acl = ?"
    " WHERE bucket = ? AND object_key = ? AND version_id = ?"
    " AND owner = ? AND acl = ? AND written_at = ?"
)
_INSERT_DEFAULT = _INSERT_OBJECT.split(" ON CONFLICT", 1)[0] + (
    " ON CONFLICT (bucket, object_key, version_id) DO NOTHING"
)
"""A default row of a version newer than one given its first row (``change_acl``'s
``newer``): at its time (after a tying row, as :func:`_write_row`), only where it has none."""
_UPSERT_ACL = (
    "INSERT INTO object_acls (bucket, object_key, version_id, owner, acl, written_at)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (bucket, object_key, version_id) DO UPDATE SET"
    " owner = excluded.owner, acl = excluded.acl"
)
"""An ACL given to a version that exists: its row keeps its place among the key's rows."""
_UPSERT_FLAG = (
    "INSERT INTO bucket_settings (bucket, kind, document, updated_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (bucket, kind) DO UPDATE SET"
    " document = excluded.document, updated_at = excluded.updated_at"
)
_HAS_FLAG = "SELECT 1 FROM bucket_settings WHERE bucket = ? AND kind = ?"
_UPLOAD_COLUMNS = "upload_id, object_key, initiator, owner, acl"


@dataclass(frozen=True, slots=True)
class ObjectAcl:
    version_id: str
    owner: str
    """The owning account's id."""
    acl: str
    written_at: int
    """Microseconds; orders a key's rows (a version written again gets a new one). Part
    of equality: two reads of a key's row are the same row only if it was not written
    again between them (:meth:`ObjectAclStore.change_acl`)."""


@dataclass(frozen=True, slots=True)
class RowRead:
    """A read of a key's row as an access decision made it: ``version`` named (None: the
    current row, :meth:`ObjectAclStore.current`) and the row found (None: none)."""

    version: str | None
    found: ObjectAcl | None


class ObjectChanged(Exception):
    """A row written for an object version no longer the one its request was decided
    for: the key's row is another (or another's) now (S3 ``OperationAborted``)."""


@dataclass(frozen=True, slots=True)
class UploadAcl:
    upload_id: str
    key: str
    initiator: str
    """The account that created the upload, or ``anonymous``."""
    owner: str
    """The account that will own the object."""
    acl: str


def bucket_flag(settings: Mapping[str, str]) -> tuple[bool, bool]:
    """From a bucket's settings: (the bucket has rows here, some row's owner is another
    account than the bucket owner)."""
    document = settings.get(FLAG_KIND)
    if document is None:
        return False, False
    return True, _foreign(document)


@functools.lru_cache(maxsize=64)
def _foreign(document: str) -> bool:
    return bool(json.loads(document).get("foreign", True))


def _object(row: Sequence[object]) -> ObjectAcl:
    return ObjectAcl(as_str(row[0]), as_str(row[1]), as_str(row[2]), as_int(row[3]))


def _upload(row: Sequence[object]) -> UploadAcl:
    return UploadAcl(*(as_str(value) for value in row[:5]))


async def _flag(tx: Tx, bucket: str, *, foreign: bool, when: int) -> bool:
    """Set the bucket's flag (``foreign`` only ever goes from false to true); whether it
    changed (then the cached settings of the bucket are stale)."""
    row = await tx.fetch_one(
        "SELECT document FROM bucket_settings WHERE bucket = ? AND kind = ?", (bucket, FLAG_KIND)
    )
    if row is not None and (not foreign or json.loads(as_str(row[0])).get("foreign", True)):
        return False
    await tx.execute(_UPSERT_FLAG, (bucket, FLAG_KIND, json.dumps({"foreign": foreign}), when))
    return True


def _span(written: int) -> int:
    """How long after ``written`` another row of the key still ties with it: a time in
    whole seconds (an upstream store's) says only that the version was written within
    that second; a precise one (the filesystem backend's microseconds) only that
    microsecond."""
    return _SECOND if written % _SECOND == 0 else 1


def _placed(written: int, bucket: str, key: str, version: str) -> tuple[object, ...]:
    """The parameters of the ``written_at`` subquery of ``_UPSERT_OBJECT``,
    ``_SETTLE_OVER`` and ``_INSERT_DEFAULT``: at ``written``, or a microsecond after the
    key's latest other row when that ties with it (:func:`_span`)."""
    return (written, written + _span(written), written, bucket, key, version)


async def _write_row(
    tx: Tx,
    bucket: str,
    key: str,
    version: str,
    *,
    owner: str,
    acl: str,
    foreign: bool,
    written: int,
    keep_place: bool = False,
) -> tuple[bool, bool]:
    """Upsert the row of ``version`` and set the bucket's flag; (whether the row was
    written, whether the flag changed).

    A version just written gets ``written`` (its last-modified time), unless the key's
    latest other row lies in ``[written, written + _span(written))``: then a microsecond
    after that row, since the version written last is the key's latest. Before, two
    versions of one second tied, and the tie went by version id, which need not grow
    (SeaweedFS's shrink): the older version's row (a ``public-read`` one, say) then
    answered for the newer, private object. Precise times keep the read too: a tie on
    the very microsecond is rare, not impossible (two workers), and the filesystem
    backend's ids of one key sort newest *first*, so it would go to the older version.
    The read is a subquery of the upsert (``_UPSERT_OBJECT``): one statement.

    ``keep_place`` (a new ACL for an existing version): an existing row keeps its
    ``written_at``, a new one is written at ``written``."""
    if keep_place:
        count = await tx.execute(_UPSERT_ACL, (bucket, key, version, owner, acl, written))
    else:
        tie = _placed(written, bucket, key, version)
        count = await tx.execute(_UPSERT_OBJECT, (bucket, key, version, owner, acl, *tie))
    return count > 0, await _flag(tx, bucket, foreign=foreign, when=written)


class _FlagProbe:
    """The reads of :meth:`ObjectAclStore.rows_begun_elsewhere`, shared by the writes of
    one bucket that ask at once.

    Each asker's write committed before it asks, so any read that *begins* after the
    asker arrived sees whatever was committed before that write: such a read may answer
    every asker that arrived before it began, never one that arrived while it was in
    flight (it may have begun before that asker's write committed). So a bucket has at
    most one read in flight; askers arriving meanwhile join the next, which begins as
    soon as the one in flight ends. One asker alone reads at once (the read it always
    made); N concurrent writes of a bucket make about one read per round trip instead
    of N. The next read is a task of its own: an asker cancelled (its client gone)
    takes no one else's answer with it."""

    __slots__ = ("_db", "_in_flight", "_next")

    def __init__(self, db: Database) -> None:
        self._db = db
        self._in_flight: dict[str, asyncio.Future[None]] = {}
        """Bucket -> done once its read in flight ended."""
        self._next: dict[str, asyncio.Task[bool]] = {}
        """Bucket -> its next read, not begun yet (waiting for the one in flight)."""

    async def ask(self, bucket: str) -> bool:
        waiting = self._next.get(bucket)
        if waiting is None:
            in_flight = self._in_flight.get(bucket)
            if in_flight is None:
                return await self._read(bucket)
            waiting = asyncio.ensure_future(self._read_after(bucket, in_flight))
            waiting.add_done_callback(_retrieved)
            self._next[bucket] = waiting
        return await asyncio.shield(waiting)

    async def _read_after(self, bucket: str, in_flight: asyncio.Future[None]) -> bool:
        try:
            await asyncio.wait((in_flight,))
        finally:
            del self._next[bucket]  # from here on, newcomers wait for the read after this
        return await self._read(bucket)

    async def _read(self, bucket: str) -> bool:
        done = asyncio.get_running_loop().create_future()
        self._in_flight[bucket] = done
        try:
            row = await self._db.fetch_one(_HAS_FLAG, (bucket, FLAG_KIND))
        finally:
            del self._in_flight[bucket]
            done.set_result(None)
        return row is not None


def _retrieved(task: asyncio.Task[bool]) -> None:
    """Take a shared read's failure off the task (every asker got it, or none was left
    to): asyncio would log it as never retrieved otherwise."""
    if not task.cancelled():
        task.exception()


class ObjectAclStore:
    """Reached as ``IdentityStore.object_acls``."""

    def __init__(
        self, db: Database, keyring: Keyring, *, cache: SettingsCache | None = None
    ) -> None:
        self._db = db
        self._cache = cache or SettingsCache(0.0)
        self._probe = _FlagProbe(db)
        self._flags: LookupCache[str, bool] = LookupCache(0.0)
        """Bucket -> whether it has its flag, under the change marker it was read at."""

    async def _flagging(self, bucket: str, body: TransactionBody[bool]) -> None:
        """Run a body that ends with :func:`_flag`; a changed flag is a changed setting."""
        changed = True
        try:
            changed = await self._db.transaction(body)
        finally:
            if changed:
                self._cache.changed(bucket)

    def check_key(self, key: str) -> None:
        """Raise :class:`UnstorableText` for a key whose row this database could not keep
        (NUL in PostgreSQL's ``text``): called before the object is written, so that a
        write whose row would fail after the object's commit is refused while nothing
        has changed."""
        if "\x00" in key and self._db.dialect == "postgresql":
            raise UnstorableText("the object key holds a NUL character")

    @property
    def shared(self) -> bool:
        """Whether other hosts write rows here too (PostgreSQL): then a bucket's cached
        settings may say "no rows" while another host has begun them
        (``identity.bucket_cache_seconds``), and a row that matters is read anyway."""
        return self._db.dialect != "sqlite"

    async def rows_begun_elsewhere(self, bucket: str) -> bool:
        """Whether ``bucket`` keeps rows though the caller's settings said it did not
        (asked after a write that needed no row of its own): another write may have
        begun them since those settings were read, one that overlapped this one (its
        object committed before this write's, its row after this write's decision) or,
        on PostgreSQL, one through another host, which this host's cached settings
        (``identity.bucket_cache_seconds``) do not show yet. Then this write's row is
        what keeps the key's latest row its current version's; without it the version
        took the other write's owner and ACL (a ``public-read`` one, say) for good.

        SQLite: exact on the database's change marker (:class:`LookupCache`): the
        bucket's answer is read again only once something was committed since it was
        read, so a host whose state store is quiet pays a read of the WAL-index header.
        PostgreSQL: one indexed read, shared by the writes of the bucket that ask at
        once (:class:`_FlagProbe`)."""
        marker = self._db.change_marker()
        if marker is None:
            return await self._probe.ask(bucket)
        seen = self._flags.get(bucket, marker)
        if seen is None:
            seen = await self._db.fetch_one(_HAS_FLAG, (bucket, FLAG_KIND)) is not None
            self._flags.put(bucket, marker, seen)
        return seen

    # --- objects ------------------------------------------------------------------------

    async def current(self, bucket: str, key: str) -> ObjectAcl | None:
        """The row of the key's latest version (the greatest ``written_at``)."""
        row = await self._db.fetch_one(_CURRENT, (bucket, key))
        return None if row is None else _object(row)

    async def version(self, bucket: str, key: str, version_id: str) -> ObjectAcl | None:
        row = await self._db.fetch_one(_VERSION, (bucket, key, version_id))
        return None if row is None else _object(row)

    async def owners_between(
        self, bucket: str, first: str, last: str
    ) -> Mapping[str, Mapping[str, str]]:
        """For a listing page: key -> version id -> owner, for keys from ``first`` to
        ``last``; each key's versions in the order they were written (latest last)."""
        rows = await self._db.fetch_all(
            "SELECT object_key, version_id, owner FROM object_acls"
            " WHERE bucket = ? AND object_key >= ? AND object_key <= ?"
            " ORDER BY object_key, written_at, version_id",
            (bucket, first, last),
        )
        found: dict[str, dict[str, str]] = {}
        for key, version, owner in rows:
            found.setdefault(as_str(key), {})[as_str(version)] = as_str(owner)
        return found

    async def record(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        *,
        owner: str,
        acl: str,
        foreign: bool,
        written_at: datetime,
        bucket_owner: str | None = None,
    ) -> bool:
        """The owner and ACL of a version just written; ``foreign``: ``owner`` is not the
        bucket owner; ``written_at``: the version's last-modified time, which orders a
        key's rows as its versions are ordered (within one second of an upstream
        store's times, the row recorded last is the latest: :func:`_write_row`).
        ``bucket_owner``: only while the bucket is still that account's (the one the
        write was decided for; ``BucketGone`` otherwise).

        Whether the row was written: not over the version's row of a write made at
        the same time or later (its ``written_at``). Two writes of one key (the
        ``null`` version of a bucket without versioning) may record their rows in the
        other order than their objects were committed; the row of the one committed
        first, recorded last, replaced the other's, and the key's current object (a
        private one, say) was served under the other's owner and ACL
        (``public-read``). False may also be a tie (two writes in one second of an
        upstream store's times), or a clock that stepped back between the two writes:
        the caller asks the storage which object is current (:meth:`replace`)."""
        version = version_id or NULL_VERSION
        written = to_micros(written_at)
        stood = False

        async def body(tx: Tx) -> bool:
            nonlocal stood
            if bucket_owner is not None:
                await require_owner(tx, bucket, bucket_owner)
            stood, changed = await _write_row(
                tx, bucket, key, version, owner=owner, acl=acl, foreign=foreign, written=written
            )
            return changed

        await self._flagging(bucket, body)
        return stood

    async def settle(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        *,
        owner: str,
        acl: str,
        written_at: datetime,
        after: datetime,
        over: tuple[str, str] | None = None,
    ) -> None:
        """The default row (``owner``, the bucket owner; ``acl``, private) of the key's
        current version, written by a write that found, after recording its own row,
        that another object of the key was committed after its own: a write made while
        the bucket had no rows yet, which recorded none (its decision said the bucket
        needed none, and the bucket's first row came after it looked again:
        ``rows_begun_elsewhere``). Its row would otherwise be the key's latest and
        answer for that object. Only where the version has no row, or one of an earlier
        write: its own write's row, if it recorded one meanwhile, stands. At the
        version's time, never before ``after`` (the finder's own), since the storage
        says it is later. ``over``: the finder's own (owner, ACL), when ``version_id`` is
        its own version's too (the ``null`` version): only over that row. In one second
        of an upstream store's times the current object's own write may have put its row
        there at the same time (refused, then :meth:`replace`); a later time alone does
        not tell the two rows apart."""
        version = version_id or NULL_VERSION
        written = max(to_micros(written_at), to_micros(after) + 1)

        async def body(tx: Tx) -> bool:
            if over is not None:
                tie = _placed(written, bucket, key, version)
                await tx.execute(_SETTLE_OVER, (bucket, key, version, owner, acl, *tie, *over))
                return await _flag(tx, bucket, foreign=False, when=written)
            _, changed = await _write_row(
                tx,
                bucket,
                key,
                version,
                owner=owner,
                acl=acl,
                foreign=False,
                written=written,
            )
            return changed

        await self._flagging(bucket, body)

    async def replace(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        *,
        owner: str,
        acl: str,
        held: ObjectAcl,
    ) -> bool:
        """The row of a version whose :meth:`record` was refused (``held``, a later
        write's row, kept it) although the storage says this write's object is the
        current one: the clock stepped back between the two writes, or another worker
        committed its object first with a later time. Only while the row is still
        ``held``; whether it was replaced. The row keeps ``held``'s place (its
        ``written_at``, at or after this write's time): a held row of a new version is a
        default one placed after another version's row (:meth:`settle`, ``change_acl``'s
        ``newer``), and this write's own time would sort it below that row again, or tie
        with it, and the other version's owner and ACL would answer for the key."""
        version = version_id or NULL_VERSION
        row = (owner, acl, bucket, key, version, held.owner, held.acl, held.written_at)

        async def body(tx: Tx) -> int:
            return await tx.execute(_REPLACE_OBJECT, row)

        return await self._db.transaction(body) > 0

    async def change_acl(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        *,
        owner: str,
        acl: str,
        foreign: bool,
        written_at: datetime,
        bucket_owner: str | None = None,
        decided: RowRead | None = None,
        replaced: bool = False,
        newer: Sequence[ObjectAcl] = (),
    ) -> None:
        """A new ACL for an existing version (PutObjectAcl): its row keeps its place
        among the key's rows; a version without a row yet gets one at ``written_at``
        (its last-modified time). ``bucket_owner``: only while the bucket is still that
        account's (``BucketGone`` otherwise): a PutObjectAcl is decided, and its object
        read, before its body, which may outlast the bucket and see the name made again
        by another account, who may have written the key meanwhile. ``decided``: only
        while the same read finds the same row (owner, ACL and ``written_at``; or still
        none), :class:`ObjectChanged` otherwise: another writer may replace the key (or
        change its ACL) in the same bucket meanwhile, and its object is not the one the
        request was decided for. Cost: one indexed read in the transaction. ``replaced``:
        the storage found another version of the key than the one decided for:
        :class:`ObjectChanged` once the bucket is known to be the same (a bucket deleted
        and made again is ``BucketGone``, the more telling answer). ``newer``: default
        rows of the key's versions newer than this one, oldest first, written in the same
        transaction where a version has none: a key's current row is its latest, so the
        first row given to an older version (one written before the bucket kept rows)
        would otherwise answer for the newer ones (``gateway.s3.ownership.newer_rows``)."""
        version = version_id or NULL_VERSION
        written = to_micros(written_at)

        async def body(tx: Tx) -> bool:
            if bucket_owner is not None:
                await require_owner(tx, bucket, bucket_owner)
            if replaced:
                raise ObjectChanged(key)
            if decided is not None:
                if decided.version is None:
                    row = await tx.fetch_one(_CURRENT, (bucket, key))
                else:
                    row = await tx.fetch_one(_VERSION, (bucket, key, decided.version))
                if (None if row is None else _object(row)) != decided.found:
                    raise ObjectChanged(key)
            _, changed = await _write_row(
                tx,
                bucket,
                key,
                version,
                owner=owner,
                acl=acl,
                foreign=foreign,
                written=written,
                keep_place=True,
            )
            for default in newer:
                at, other = default.written_at, default.version_id
                tie = _placed(at, bucket, key, other)
                await tx.execute(
                    _INSERT_DEFAULT, (bucket, key, other, default.owner, default.acl, *tie)
                )
            return changed

        await self._flagging(bucket, body)

    async def forget(self, bucket: str, keys: Iterable[tuple[str, str | None]]) -> None:
        """Drop the rows of deleted versions: ``(key, version id)``, None for the null
        version (a delete without a version id removes the null version, if any)."""
        pairs = [(bucket, key, version or NULL_VERSION) for key, version in keys]
        if not pairs:
            return

        async def body(tx: Tx) -> None:
            for pair in pairs:
                await tx.execute(
                    "DELETE FROM object_acls"
                    " WHERE bucket = ? AND object_key = ? AND version_id = ?",
                    pair,
                )

        await self._db.transaction(body)

    async def forget_bucket(self, bucket: str) -> None:
        """Drop every object and upload row of a deleted bucket."""

        async def body(tx: Tx) -> None:
            await tx.execute("DELETE FROM object_acls WHERE bucket = ?", (bucket,))
            await tx.execute("DELETE FROM upload_acls WHERE bucket = ?", (bucket,))

        await self._db.transaction(body)

    # --- multipart uploads ----------------------------------------------------------------

    async def upload(self, bucket: str, upload_id: str) -> UploadAcl | None:
        row = await self._db.fetch_one(
            f"SELECT {_UPLOAD_COLUMNS} FROM upload_acls WHERE bucket = ? AND upload_id = ?",
            (bucket, upload_id),
        )
        return None if row is None else _upload(row)

    async def uploads(self, bucket: str, upload_ids: Iterable[str]) -> Mapping[str, UploadAcl]:
        """For ListMultipartUploads: the rows of the uploads listed (one query)."""
        ids = list(dict.fromkeys(upload_ids))
        found: dict[str, UploadAcl] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = await self._db.fetch_all(
                f"SELECT {_UPLOAD_COLUMNS} FROM upload_acls"
                f" WHERE bucket = ? AND upload_id IN ({marks})",
                (bucket, *chunk),
            )
            found.update((u.upload_id, u) for u in map(_upload, rows))
        return found

    async def record_upload(
        self,
        bucket: str,
        upload: UploadAcl,
        *,
        foreign: bool,
        now: datetime | None = None,
    ) -> None:
        when = to_micros(now or utcnow())

        async def body(tx: Tx) -> bool:
            await tx.execute(
                f"INSERT INTO upload_acls ({_UPLOAD_COLUMNS}, bucket, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    upload.upload_id,
                    upload.key,
                    upload.initiator,
                    upload.owner,
                    upload.acl,
                    bucket,
                    when,
                ),
            )
            return await _flag(tx, bucket, foreign=foreign, when=when)

        await self._flagging(bucket, body)

    async def forget_upload(self, bucket: str, upload_id: str) -> None:
        async def body(tx: Tx) -> None:
            await tx.execute(
                "DELETE FROM upload_acls WHERE bucket = ? AND upload_id = ?", (bucket, upload_id)
            )

        await self._db.transaction(body)

    async def complete_upload(
        self,
        bucket: str,
        upload: UploadAcl,
        version_id: str | None,
        *,
        foreign: bool,
        written_at: datetime,
    ) -> bool:
        """A completed upload: its row becomes the object version's row, in one step, and
        only once: when the row is gone already (another completion of the upload, which
        began before this one ended, moved it), nothing is written. ``upload`` was read
        when the request was authorised; written again, it would replace whatever ACL the
        object was given since the first completion. False: the row was refused as
        :meth:`record` refuses one (the upload's row is gone all the same)."""
        version = version_id or NULL_VERSION
        written = to_micros(written_at)
        stood = True

        async def body(tx: Tx) -> bool:
            nonlocal stood
            stood = True
            moved = await tx.execute(
                "DELETE FROM upload_acls WHERE bucket = ? AND upload_id = ?",
                (bucket, upload.upload_id),
            )
            if not moved:
                return False
            stood, changed = await _write_row(
                tx,
                bucket,
                upload.key,
                version,
                owner=upload.owner,
                acl=upload.acl,
                foreign=foreign,
                written=written,
            )
            return changed

        await self._flagging(bucket, body)
        return stood
