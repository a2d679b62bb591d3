"""Schema migrations of the metadata database, keyed by SQLite's ``user_version``.

``metadb.SCHEMA`` creates the first schema (version 0, what releases before versioning
wrote). ``MIGRATIONS[n]`` turns version ``n`` into ``n + 1``; ``migrate`` applies the missing
ones inside the caller's ``BEGIN IMMEDIATE`` transaction, so several worker processes
opening one data directory at once migrate it exactly once, and a failed migration leaves
the database as it was. A new database goes through the same steps as an old one.

Never edit a released migration: append a new one.
"""

from __future__ import annotations

import sqlite3

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

_V1_VERSIONING = (
    # buckets: the versioning state (NULL: never versioned, 'Enabled', 'Suspended') and the
    # Object Lock configuration (NULL: no Object Lock, else JSON of the default retention)
    "ALTER TABLE buckets ADD COLUMN versioning TEXT",
    "ALTER TABLE buckets ADD COLUMN object_lock TEXT",
    # objects keeps one row per key: its latest version unless that is a delete marker.
    # Existing rows are the null versions of never-versioned buckets (version_id NULL).
    "ALTER TABLE objects ADD COLUMN version_id TEXT",
    "ALTER TABLE objects ADD COLUMN lock TEXT",
    "ALTER TABLE uploads ADD COLUMN lock TEXT",
    # Every other version and every delete marker, newest first within a key: rank
    # decreases as versions get newer (versions.py), so the primary key is the
    # ListObjectVersions order and one index range scan reads a page of it.
    """CREATE TABLE versions (
        bucket TEXT NOT NULL,
        key BLOB NOT NULL,
        rank INTEGER NOT NULL,
        version_id TEXT NOT NULL,
        marker INTEGER NOT NULL,
        size INTEGER NOT NULL,
        etag TEXT NOT NULL,
        last_modified INTEGER NOT NULL,
        meta TEXT NOT NULL,
        checksums TEXT NOT NULL,
        parts TEXT,
        data_id TEXT,
        lock TEXT,
        PRIMARY KEY (bucket, key, rank)
    ) WITHOUT ROWID""",
    # At most one null version per key: this finds it without reading the key's history.
    "CREATE INDEX versions_null ON versions (bucket, key) WHERE version_id = 'null'",
)

_V2_CHECKSUM_TYPE = (
    # uploads: the checksum type CreateMultipartUpload fixed with its algorithm
    # (COMPOSITE or FULL_OBJECT; NULL without an algorithm, and for uploads created
    # before this column, which get the algorithm's default). Objects need no column: a
    # composite value carries its "-N" suffix. From this version on an object's ``parts``
    # entries may hold a third element, the part's checksums ([number, size, {...}]).
    "ALTER TABLE uploads ADD COLUMN checksum_type TEXT",
)

_V3_TAGGING = (
    # the tag set of each version (JSON ``[[key, value], ...]`` in key order; NULL: none),
    # and of an upload in progress (given to the object at completion)
    "ALTER TABLE objects ADD COLUMN tags TEXT",
    "ALTER TABLE versions ADD COLUMN tags TEXT",
    "ALTER TABLE uploads ADD COLUMN tags TEXT",
)

_V4_INLINE = (
    # the bytes of small plain objects, written with their row (inline.py); an object's
    # data id says which table or file holds its bytes
    """CREATE TABLE inline_data (
        data_id TEXT PRIMARY KEY,
        data BLOB NOT NULL
    )""",
)

_V5_NULL_VERSIONS = (
    # The rows a bucket held when versioning was first configured on it are its null
    # version, which S3 names (``x-amz-version-id: null``) from then on; enabling
    # versioning marks them now (versioning.py), and this marks those of buckets that
    # were versioned before it did. A never-versioned bucket's rows stay NULL (no header).
    "UPDATE objects SET version_id = 'null' WHERE version_id IS NULL"
    " AND bucket IN (SELECT name FROM buckets WHERE versioning IS NOT NULL)",
)

_V6_NULL_NAMING = (
    # The buckets whose null versions are still being named (the first PutBucketVersioning
    # names them a batch per transaction) and the last key named: a process that stops
    # midway leaves the row, and the next one to start goes on from that key
    # (versions.name_null_batch). Every versioned bucket is pending once here: versions
    # before this one left no trace of a naming they did not finish.
    """CREATE TABLE IF NOT EXISTS null_naming (
        bucket TEXT PRIMARY KEY,
        after BLOB NOT NULL
    ) WITHOUT ROWID""",
    "INSERT OR IGNORE INTO null_naming (bucket, after)"
    " SELECT name, x'' FROM buckets WHERE versioning IS NOT NULL",
)

_V7_COMPLETIONS = (
    # Which upload made a key's current object (completion.py), so a completion retried
    # after it succeeded is answered only for that upload's id, as S3 answers it; any
    # other id is NoSuchUpload. One row per key, replaced by the key's next completion;
    # ``data_id`` names the object the upload made (a row whose object was replaced
    # since no longer matches, and one whose object is deleted goes with it).
    """CREATE TABLE IF NOT EXISTS completions (
        bucket TEXT NOT NULL,
        key BLOB NOT NULL,
        upload_id TEXT NOT NULL,
        data_id TEXT NOT NULL,
        PRIMARY KEY (bucket, key)
    ) WITHOUT ROWID""",
    """CREATE TRIGGER IF NOT EXISTS completions_gone AFTER DELETE ON objects BEGIN
        DELETE FROM completions
        WHERE bucket = OLD.bucket AND key = OLD.key AND data_id = OLD.data_id;
    END""",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    _V1_VERSIONING,
    _V2_CHECKSUM_TYPE,
    _V3_TAGGING,
    _V4_INLINE,
    _V5_NULL_VERSIONS,
    _V6_NULL_NAMING,
    _V7_COMPLETIONS,
)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the missing migrations (the caller holds a write transaction); return the
    version the database had. A database newer than this code is refused."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"metadata schema version {version} is newer than this release understands "
            f"({SCHEMA_VERSION}); upgrade the gateway"
        )
    for step in MIGRATIONS[version:]:
        for statement in step:
            conn.execute(statement)
    if version != SCHEMA_VERSION:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return version
