"""Versions of the filesystem backend: version ids, the version-aware writes and lookups.

Layout (schema version 1, see ``migrations.py``):

- ``objects`` holds one row per key: its latest version when that is not a delete
  marker. ListObjects reads this table alone, exactly as before versioning existed.
- ``versions`` holds every other version and every delete marker, keyed by
  ``(bucket, key, rank)``. ``rank`` *decreases* as versions get newer, so ascending
  primary-key order is "key order, newest first within a key": ListObjectVersions is one
  index range scan, and the newest older version of a key is one seek.
- A never-versioned bucket never touches ``versions``: its writes are the plain
  ``INSERT OR REPLACE`` of ``metadb.upsert_object`` (the PutObject hot path).

Version ids are 16 URL-safe characters: 11 encode the rank in an alphabet whose ASCII
order is its digit order (so ids of one key sort newest first, like the ranks), 5 are
random (so ids are unique across keys too). ``"null"`` names the null version: an
``objects`` row whose ``version_id`` is NULL (written before the bucket was ever
versioned) or ``"null"`` (written while suspended), or a ``versions`` row with
``version_id = 'null'`` (found through the partial index ``versions_null``).

A rank is ``2**63 - 1 - (microseconds << 8 | 8 random bits)`` of the write's time, but
always below the key's newest existing rank: every write runs inside a ``BEGIN
IMMEDIATE`` transaction, which serialises writers across processes, and learns that rank
first (from the id of the key's ``objects`` row, which is always its newest version, or
else from ``versions``), so a clock step backwards cannot reorder versions. The row a
write demotes from ``objects`` keeps its rank (its id encodes it); a null version, which
has no id, gets one just above the newest older version at that moment.

Every function here runs inside the caller's write transaction and returns the data ids
whose files the caller unlinks after the commit.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from base64 import b64decode, b64encode
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from backends.errors import BackendError, no_such_bucket
from backends.filesystem.columns import from_us, lock_from_json, lock_to_json
from backends.filesystem.inline import release
from backends.filesystem.metadb import OBJECT_COLUMNS, ObjectRow, upsert_object
from backends.locks import check_deletable, effective_lock, missing_lock_configuration
from backends.types import (
    VERSIONING_SUSPENDED,
    DefaultRetention,
    ObjectInfo,
    ObjectLock,
    ObjectLockConfig,
    ObjectMeta,
)

__all__ = [
    "BUCKET_COLUMNS",
    "NULL",
    "NULL_VERSION_BATCH",
    "BucketState",
    "Deleted",
    "VersionRow",
    "bucket_state",
    "current_etag",
    "delete_latest",
    "delete_version",
    "find_version",
    "latest_marker",
    "locate",
    "lock_config_from_json",
    "lock_config_to_json",
    "name_null_batch",
    "name_null_versions",
    "object_rank",
    "pending_null_naming",
    "rank_of",
    "require_state",
    "set_lock",
    "set_tags",
    "start_null_naming",
    "state_of",
    "write_version",
]

NULL = "null"
NULL_VERSION_BATCH = 1000
"""Rows ``name_null_versions`` marks per transaction: a bucket of millions of objects
must not hold the database's write lock (and its worker's event loop) for seconds (about
1 s per million rows), nor grow the WAL by its whole table in one transaction."""
_BATCH_END = "SELECT key FROM objects WHERE bucket = ? AND key > ? ORDER BY key LIMIT 1 OFFSET ?"
_NAME_NULL = (
    "UPDATE objects SET version_id = 'null'"
    " WHERE bucket = ? AND key > ? AND key <= ? AND version_id IS NULL"
)
_NAME_NULL_REST = (
    "UPDATE objects SET version_id = 'null' WHERE bucket = ? AND key > ? AND version_id IS NULL"
)
_ALPHABET = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
"""64 URL-safe characters in ASCII order: a fixed-width id sorts like its number."""
_DIGIT = {c: i for i, c in enumerate(_ALPHABET)}
_RANK_CHARS = 11  # 66 bits >= 63
_ID_CHARS = 16
_SUFFIX_BITS = 6 * (_ID_CHARS - _RANK_CHARS)
_ID_BYTES = _ID_CHARS * 6 // 8
_BASE64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_TO_ID = bytes.maketrans(_BASE64, _ALPHABET.encode("ascii"))
_FROM_ID = bytes.maketrans(_ALPHABET.encode("ascii"), _BASE64)
_TOP = (1 << 63) - 1
NULL_ROW_RANK = -1
"""The rank a null ``objects`` row sorts at: before (newer than) every ``versions`` row."""

VERSION_COLUMNS = (
    "key, rank, version_id, marker, size, etag, last_modified, meta, checksums, parts, data_id, "
    "lock, tags"
)


# -- ids ---------------------------------------------------------------------------------


def _rank_at(us: int) -> int:
    return _TOP - ((us << 8) | secrets.randbits(8))


def _new_rank(now_us: int, newest: int | None) -> int:
    """A rank newer than ``newest`` (the key's newest existing rank)."""
    rank = _rank_at(now_us)
    return rank if newest is None or rank < newest else newest - 1


def _id_of(rank: int) -> str:
    # 16 digits of 6 bits = base64 of 12 bytes: the rank's 66 bits, then 30 random ones,
    # written in base64's digits and mapped onto ``_ALPHABET`` (same digit values)
    value = (rank << _SUFFIX_BITS) | secrets.randbits(_SUFFIX_BITS)
    return b64encode(value.to_bytes(_ID_BYTES, "big")).translate(_TO_ID).decode("ascii")


def rank_of(version_id: str) -> int | None:
    """The rank a version id encodes, or None when it is no id this backend issues."""
    if len(version_id) != _ID_CHARS or not set(version_id) <= _DIGIT.keys():
        return None
    value = int.from_bytes(b64decode(version_id.encode("ascii").translate(_FROM_ID)), "big")
    rank = value >> _SUFFIX_BITS  # the suffix is random: only its alphabet matters
    return rank if rank <= _TOP else None


def object_rank(version_id: str | None) -> int:
    """Where an ``objects`` row sorts among its key's versions (the newest of them)."""
    rank = None if version_id is None or version_id == NULL else rank_of(version_id)
    return NULL_ROW_RANK if rank is None else rank


def invalid_version_id(version_id: str) -> BackendError:
    return BackendError(
        "InvalidArgument",
        "Invalid version id specified",
        extra={"ArgumentName": "versionId", "ArgumentValue": version_id},
    )


def no_such_version(key: str, version_id: str) -> BackendError:
    return BackendError(
        "NoSuchVersion",
        "The specified version does not exist.",
        extra={"Key": key, "VersionId": version_id},
    )


def marker_extra(version_id: str) -> dict[str, str]:
    """What a read that meets a delete marker reports (as headers) besides its code."""
    return {"DeleteMarker": "true", "VersionId": version_id}


# -- buckets -------------------------------------------------------------------------------


class BucketState(NamedTuple):
    """What a write reads of its bucket's row, in the transaction that writes."""

    versioning: str | None
    lock: ObjectLockConfig | None
    created_at: int = 0
    """Which bucket of the name this is: its ``created_at`` (microseconds, one per
    creation), the incarnation an object write binds to before its body."""

    def made_at(self, incarnation: int | None) -> bool:
        """Whether this is the bucket a write began in, made at ``incarnation`` (its
        ``created_at`` then; None: any bucket of the name)."""
        return incarnation is None or self.created_at == incarnation


BUCKET_COLUMNS = "versioning, object_lock, created_at"
"""The columns of a ``buckets`` row that make its :class:`BucketState`
(:func:`state_of`); the group commit reads them for several buckets at once."""


def state_of(row: Sequence[Any]) -> BucketState:
    """The :class:`BucketState` of a row of :data:`BUCKET_COLUMNS`."""
    return BucketState(row[0], lock_config_from_json(row[1]), int(row[2]))


def lock_config_to_json(config: ObjectLockConfig) -> str:
    default = config.default_retention
    if default is None:
        return "{}"
    value: dict[str, Any] = {"mode": default.mode}
    if default.days is not None:
        value["days"] = default.days
    if default.years is not None:
        value["years"] = default.years
    return json.dumps(value, separators=(",", ":"))


def lock_config_from_json(text: str | None) -> ObjectLockConfig | None:
    if text is None:
        return None
    value = json.loads(text)
    if "mode" not in value:
        return ObjectLockConfig()
    return ObjectLockConfig(DefaultRetention(value["mode"], value.get("days"), value.get("years")))


_BUCKET_STATE = f"SELECT {BUCKET_COLUMNS} FROM buckets WHERE name = ?"


def bucket_state(
    conn: sqlite3.Connection, bucket: str, incarnation: int | None = None
) -> BucketState | None:
    """The bucket's state (one primary-key read, in the caller's transaction): None when
    there is no bucket of the name, or when it is another bucket of the name than the
    one made at ``incarnation`` (None: any). A write is decided, and its bucket read,
    before its body; a body may outlast the bucket, and the name may be made again
    meanwhile, by anyone: the write then commits nowhere."""
    row = conn.execute(_BUCKET_STATE, (bucket,)).fetchone()
    if row is None:
        return None
    state = state_of(row)
    return state if state.made_at(incarnation) else None


def require_state(
    conn: sqlite3.Connection, bucket: str, incarnation: int | None = None
) -> BucketState:
    """:func:`bucket_state`, or ``NoSuchBucket``."""
    state = bucket_state(conn, bucket, incarnation)
    if state is None:
        raise no_such_bucket(bucket)
    return state


def name_null_versions(
    conn: sqlite3.Connection, bucket: str, after: bytes, batch: int = NULL_VERSION_BATCH
) -> bytes | None:
    """Name the null version (``version_id`` NULL -> ``'null'``) of the next ``batch``
    keys of ``bucket`` after ``after`` (in the caller's write transaction); return the
    last key done, None when none is left. The caller goes on in a new transaction, so
    a bucket's pre-versioning rows are marked a batch at a time."""
    end = conn.execute(_BATCH_END, (bucket, after, batch - 1)).fetchone()
    if end is None:
        conn.execute(_NAME_NULL_REST, (bucket, after))
        return None
    conn.execute(_NAME_NULL, (bucket, after, end[0]))
    return bytes(end[0])


_PENDING = "SELECT after FROM null_naming WHERE bucket = ?"
_PENDING_AT = "UPDATE null_naming SET after = ? WHERE bucket = ?"
_PENDING_DONE = "DELETE FROM null_naming WHERE bucket = ?"


def start_null_naming(conn: sqlite3.Connection, bucket: str) -> None:
    """Record that ``bucket``'s null versions are to be named, from its first key (in
    the caller's write transaction, the one that first sets its versioning state)."""
    conn.execute("INSERT OR REPLACE INTO null_naming (bucket, after) VALUES (?, x'')", (bucket,))


def pending_null_naming(conn: sqlite3.Connection) -> list[str]:
    """The buckets whose null versions are still being named (``null_naming``)."""
    return [str(r[0]) for r in conn.execute("SELECT bucket FROM null_naming")]


def name_null_batch(conn: sqlite3.Connection, bucket: str, batch: int = NULL_VERSION_BATCH) -> bool:
    """The next batch of ``bucket``'s pending naming (in the caller's write transaction),
    from the key ``null_naming`` recorded; True while more is left. The row goes with the
    last batch, or when the bucket is gone or was made again and never versioned. Whoever
    runs it (the request that set the state, a process starting after one that stopped
    midway, several workers at once) goes on from where the last committed batch ended."""
    row = conn.execute(_PENDING, (bucket,)).fetchone()
    if row is None:
        return False
    state = bucket_state(conn, bucket)
    after = None
    if state is not None and state.versioning is not None:
        after = name_null_versions(conn, bucket, bytes(row[0]), batch)
    if after is None:
        conn.execute(_PENDING_DONE, (bucket,))
        return False
    conn.execute(_PENDING_AT, (after, bucket))
    return True


def current_etag(conn: sqlite3.Connection, bucket: str, key: bytes) -> str | None:
    """The ETag of the key's current object; None when it has none (a delete marker on
    top counts as none): what conditional writes and deletes compare."""
    row = conn.execute(
        "SELECT etag FROM objects WHERE bucket = ? AND key = ?", (bucket, key)
    ).fetchone()
    return None if row is None else str(row[0])


# -- rows ------------------------------------------------------------------------------------


class VersionRow(NamedTuple):
    """One ``versions`` row (a version or a delete marker)."""

    key: bytes
    rank: int
    version_id: str
    marker: int
    size: int
    etag: str
    last_modified: int
    meta: str
    checksums: str
    parts: str | None
    data_id: str | None
    lock: str | None
    tags: str | None

    def object_row(self) -> ObjectRow:
        """The same version as an ``ObjectRow`` (never call it for a marker)."""
        assert self.data_id is not None
        return ObjectRow(
            self.key,
            self.size,
            self.etag,
            self.last_modified,
            self.meta,
            self.checksums,
            self.parts,
            self.data_id,
            self.version_id,
            self.lock,
            self.tags,
        )

    def marker_info(self, bucket: str) -> ObjectInfo:
        return ObjectInfo(
            bucket=bucket,
            key=self.key.decode("utf-8"),
            size=0,
            etag="",
            last_modified=from_us(self.last_modified),
            meta=ObjectMeta(),
            version_id=self.version_id,
        )


_V_SELECT = f"SELECT {VERSION_COLUMNS} FROM versions WHERE bucket = ? AND key = ?"
_V_INSERT = f"INSERT INTO versions (bucket, {VERSION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
_O_SELECT = f"SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key = ?"
_O_INSERT = (
    f"INSERT OR REPLACE INTO objects (bucket, {OBJECT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
)
_O_DELETE = "DELETE FROM objects WHERE bucket = ? AND key = ?"
_BEFORE_VERSION = ObjectRow._fields.index("version_id")
assert ObjectRow._fields[_BEFORE_VERSION:] == ("version_id", "lock", "tags")


def _current(conn: sqlite3.Connection, bucket: str, key: bytes) -> ObjectRow | None:
    row = conn.execute(_O_SELECT, (bucket, key)).fetchone()
    return None if row is None else ObjectRow.from_tuple(row)


def _newest(conn: sqlite3.Connection, bucket: str, key: bytes) -> VersionRow | None:
    row = conn.execute(_V_SELECT + " ORDER BY rank LIMIT 1", (bucket, key)).fetchone()
    return None if row is None else VersionRow._make(row)


def _newest_rank(conn: sqlite3.Connection, bucket: str, key: bytes) -> int | None:
    row = conn.execute(
        "SELECT rank FROM versions WHERE bucket = ? AND key = ? ORDER BY rank LIMIT 1",
        (bucket, key),
    ).fetchone()
    return None if row is None else int(row[0])


def _null_version(conn: sqlite3.Connection, bucket: str, key: bytes) -> VersionRow | None:
    row = conn.execute(_V_SELECT + " AND version_id = 'null'", (bucket, key)).fetchone()
    return None if row is None else VersionRow._make(row)


def _is_null(row: ObjectRow) -> bool:
    return row.version_id is None or row.version_id == NULL


def _rank_of_row(row: ObjectRow) -> int | None:
    """The rank an ``objects`` row's version id encodes; None for a null version."""
    return rank_of(row.version_id) if row.version_id and row.version_id != NULL else None


def _demote(conn: sqlite3.Connection, bucket: str, row: ObjectRow, newest: int | None) -> int:
    """Copy the ``objects`` row into ``versions`` (the caller replaces or deletes it);
    return its rank, now the key's newest. ``newest`` (the newest rank in ``versions``)
    is read only for a null version, which gets a rank just above it."""
    rank = _rank_of_row(row)
    if rank is None:  # a null version: just above the newest older one
        rank = _new_rank(row.last_modified, newest)
    conn.execute(
        _V_INSERT,
        (
            bucket,
            row.key,
            rank,
            row.version_id or NULL,
            0,
            row.size,
            row.etag,
            row.last_modified,
            row.meta,
            row.checksums,
            row.parts,
            row.data_id,
            row.lock,
            row.tags,
        ),
    )
    return rank


def _add_marker(
    conn: sqlite3.Connection, bucket: str, key: bytes, version_id: str | None, rank: int, now: int
) -> str:
    vid = version_id or _id_of(rank)
    conn.execute(
        _V_INSERT,
        (bucket, key, rank, vid, 1, 0, "", now, "{}", "{}", None, None, None, None),
    )
    return vid


def _promote(conn: sqlite3.Connection, bucket: str, key: bytes) -> None:
    """After a version was removed: if the key has no ``objects`` row but its newest
    remaining version is no delete marker, that version becomes the ``objects`` row."""
    if conn.execute("SELECT 1 FROM objects WHERE bucket = ? AND key = ?", (bucket, key)).fetchone():
        return
    newest = _newest(conn, bucket, key)
    if newest is None or newest.marker:
        return
    conn.execute(
        "DELETE FROM versions WHERE bucket = ? AND key = ? AND rank = ?", (bucket, key, newest.rank)
    )
    conn.execute(_O_INSERT, (bucket, *newest.object_row()))


def _now() -> datetime:
    return datetime.now(UTC)


# -- writes ------------------------------------------------------------------------------


def write_version(
    conn: sqlite3.Connection,
    bucket: str,
    state: BucketState,
    row: ObjectRow,
    requested: ObjectLock | None,
) -> tuple[str | None, list[str]]:
    """Make ``row`` (data file in place) the key's latest version as the bucket's state
    says; return (the version id to report, data ids to unlink). Raises before writing
    anything, so a caller may go on with other rows in the same transaction. Inline
    bytes of what the row replaced are deleted here (``inline.release``); only data
    files are left to the caller."""
    if requested is not None and state.lock is None:
        raise missing_lock_configuration()
    if state.versioning is None:
        old = upsert_object(conn, bucket, row)
        return None, [] if old is None or old == row.data_id else release(conn, (old,))
    default = None if state.lock is None else state.lock.default_retention
    lock = (
        requested
        if default is None
        else effective_lock(requested, default, from_us(row.last_modified))
    )
    current = _current(conn, bucket, row.key)
    doomed: list[str] = []
    version_id: str | None = None
    if state.versioning == VERSIONING_SUSPENDED:
        version_id = NULL
        null_row = current if current is not None and _is_null(current) else None
        null_version = None if null_row is not None else _null_version(conn, bucket, row.key)
        _check_replaceable(null_row, null_version)
        if null_row is not None:
            doomed.append(null_row.data_id)
            current = None  # replaced below by the new row
        elif null_version is not None:
            _remove_version(conn, bucket, null_version, doomed)
    if current is not None and (rank := _rank_of_row(current)) is not None:
        # the latest version's rank is the key's newest: no older one is asked for
        newest: int | None = _demote(conn, bucket, current, rank)
    else:
        newest = _newest_rank(conn, bucket, row.key)
        if current is not None:
            newest = _demote(conn, bucket, current, newest)
    if version_id is None:
        version_id = _id_of(_new_rank(row.last_modified, newest))
    # the row's columns up to its version id, then the version's (not _replace: a
    # Python-level copy through a dict, on every versioned write)
    conn.execute(
        _O_INSERT, (bucket, *row[:_BEFORE_VERSION], version_id, lock_to_json(lock), row.tags)
    )
    return version_id, release(conn, doomed)


def _check_replaceable(row: ObjectRow | None, version: VersionRow | None) -> None:
    """Replacing the null version deletes it: Object Lock must allow that."""
    text = row.lock if row is not None else None if version is None else version.lock
    check_deletable(lock_from_json(text), bypass_governance=False, now=_now())


def _remove_version(
    conn: sqlite3.Connection, bucket: str, version: VersionRow, doomed: list[str]
) -> None:
    conn.execute(
        "DELETE FROM versions WHERE bucket = ? AND key = ? AND rank = ?",
        (bucket, version.key, version.rank),
    )
    if version.data_id is not None:
        doomed.append(version.data_id)


class Deleted(NamedTuple):
    """What a deletion did: ``marker_id`` is the delete marker made or removed; ``doomed``
    the data files to unlink after commit (inline bytes went with the transaction)."""

    marker: bool
    marker_id: str | None
    doomed: list[str]


def delete_latest(
    conn: sqlite3.Connection, bucket: str, state: BucketState, key: bytes, now_us: int
) -> Deleted:
    """DELETE without a version id: remove the object (never-versioned bucket) or add a
    delete marker (``null`` while suspended, replacing the null version)."""
    if state.versioning is None:
        gone = conn.execute(_O_DELETE + " RETURNING data_id", (bucket, key)).fetchone()
        return Deleted(False, None, [] if gone is None else release(conn, (gone[0],)))
    current = _current(conn, bucket, key)
    doomed: list[str] = []
    marker_id: str | None = None
    if state.versioning == VERSIONING_SUSPENDED:
        marker_id = NULL
        null_row = current if current is not None and _is_null(current) else None
        null_version = None if null_row is not None else _null_version(conn, bucket, key)
        _check_replaceable(null_row, null_version)
        if null_row is not None:
            conn.execute(_O_DELETE, (bucket, key))
            doomed.append(null_row.data_id)
            current = None
        elif null_version is not None:
            _remove_version(conn, bucket, null_version, doomed)
    newest = _newest_rank(conn, bucket, key)
    if current is not None:
        newest = _demote(conn, bucket, current, newest)
        conn.execute(_O_DELETE, (bucket, key))
    marker_id = _add_marker(conn, bucket, key, marker_id, _new_rank(now_us, newest), now_us)
    return Deleted(True, marker_id, release(conn, doomed))


def delete_version(
    conn: sqlite3.Connection, bucket: str, key: bytes, version_id: str, *, bypass_governance: bool
) -> Deleted:
    """DELETE with a version id: remove that version or marker for good (an id that
    names nothing is a no-op, as S3 answers 204); the next older version may become the
    latest again ("undelete")."""
    found = locate(conn, bucket, key, version_id)
    if found is None:
        return Deleted(False, None, [])
    doomed: list[str] = []
    if isinstance(found, ObjectRow):
        check_deletable(lock_from_json(found.lock), bypass_governance=bypass_governance, now=_now())
        conn.execute(_O_DELETE, (bucket, key))
        doomed.append(found.data_id)
        marker = False
    else:
        check_deletable(lock_from_json(found.lock), bypass_governance=bypass_governance, now=_now())
        _remove_version(conn, bucket, found, doomed)
        marker = bool(found.marker)
    _promote(conn, bucket, key)
    return Deleted(marker, version_id if marker else None, release(conn, doomed))


# -- reads -----------------------------------------------------------------------------------


def locate(
    conn: sqlite3.Connection, bucket: str, key: bytes, version_id: str
) -> ObjectRow | VersionRow | None:
    """The row of one version (``objects`` when it is the latest), or None."""
    if version_id == NULL:
        row = conn.execute(
            _O_SELECT + " AND (version_id IS NULL OR version_id = 'null')", (bucket, key)
        ).fetchone()
        if row is not None:
            return ObjectRow.from_tuple(row)
        return _null_version(conn, bucket, key)
    rank = rank_of(version_id)
    if rank is None:
        raise invalid_version_id(version_id)
    row = conn.execute(_O_SELECT + " AND version_id = ?", (bucket, key, version_id)).fetchone()
    if row is not None:
        return ObjectRow.from_tuple(row)
    found = conn.execute(
        _V_SELECT + " AND rank = ? AND version_id = ?", (bucket, key, rank, version_id)
    ).fetchone()
    return None if found is None else VersionRow._make(found)


def find_version(
    conn: sqlite3.Connection, bucket: str, key: str, version_id: str
) -> ObjectRow | VersionRow | None:
    """The version ``version_id`` names (a ``VersionRow`` only for a delete marker, whose
    reads the caller refuses), or None. Raises ``InvalidArgument`` for a malformed id."""
    found = locate(conn, bucket, key.encode("utf-8"), version_id)
    if isinstance(found, VersionRow) and not found.marker:
        return found.object_row()
    return found


def latest_marker(conn: sqlite3.Connection, bucket: str, key: str) -> VersionRow | None:
    """For a key without an ``objects`` row: its latest version if that is a delete marker."""
    newest = _newest(conn, bucket, key.encode("utf-8"))
    return newest if newest is not None and newest.marker else None


def set_tags(
    conn: sqlite3.Connection, bucket: str, row: ObjectRow | VersionRow, tags: str | None
) -> None:
    """Store a new tag set (``tags_to_json``) on the version ``row`` (as ``locate`` found
    it)."""
    if isinstance(row, ObjectRow):
        conn.execute(
            "UPDATE objects SET tags = ? WHERE bucket = ? AND key = ?", (tags, bucket, row.key)
        )
    else:
        conn.execute(
            "UPDATE versions SET tags = ? WHERE bucket = ? AND key = ? AND rank = ?",
            (tags, bucket, row.key, row.rank),
        )


def set_lock(
    conn: sqlite3.Connection, bucket: str, row: ObjectRow | VersionRow, lock: ObjectLock | None
) -> None:
    """Store a new lock on the version ``row`` (as ``locate`` found it)."""
    text = lock_to_json(lock)
    if isinstance(row, ObjectRow):
        conn.execute(
            "UPDATE objects SET lock = ? WHERE bucket = ? AND key = ?", (text, bucket, row.key)
        )
    else:
        conn.execute(
            "UPDATE versions SET lock = ? WHERE bucket = ? AND key = ? AND rank = ?",
            (text, bucket, row.key, row.rank),
        )
