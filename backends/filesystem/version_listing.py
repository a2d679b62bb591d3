"""ListObjectVersions for the filesystem backend.

A key's versions are its ``objects`` row (the latest, when it is no delete marker) followed
by its ``versions`` rows in rank order. Both tables are ordered by (key, rank) -- an
``objects`` row sorts at its id's rank, or at ``NULL_ROW_RANK`` for a null version, both
before the key's ``versions`` rows -- so a page is the merge of two index range scans with
a LIMIT each: its cost follows the page size, not the number of keys or versions. The
first entry of a key is its latest version (``IsLatest``); a page resumed inside a key
starts after an entry already returned, so nothing in it is the latest.

The prefix / delimiter / marker logic is ``listing.list_page``'s, with (key, rank) as the
position: ``Cursor.after_id`` carries the rank to resume after inside ``Cursor.lower``.
"""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Callable
from typing import Any, NamedTuple

from backends.filesystem.listing import Cursor, common_prefix, list_page, start_after
from backends.filesystem.metadb import OBJECT_COLUMNS, ObjectRow, version_info
from backends.filesystem.versions import (
    NULL,
    NULL_ROW_RANK,
    VERSION_COLUMNS,
    VersionRow,
    invalid_version_id,
    object_rank,
    rank_of,
)
from backends.types import ObjectVersion, VersionsPage

__all__ = ["list_versions"]


class _Entry(NamedTuple):
    key: bytes
    rank: int
    row: ObjectRow | VersionRow


def _objects(
    conn: sqlite3.Connection, bucket: str, where: str, args: list[Any], limit: int
) -> list[_Entry]:
    rows = conn.execute(
        f"SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND {where} ORDER BY key LIMIT ?",
        [bucket, *args, limit],
    )
    out = []
    for raw in rows:
        row = ObjectRow.from_tuple(raw)
        out.append(_Entry(row.key, object_rank(row.version_id), row))
    return out


def _versions(
    conn: sqlite3.Connection, bucket: str, where: str, args: list[Any], limit: int
) -> list[_Entry]:
    rows = conn.execute(
        f"SELECT {VERSION_COLUMNS} FROM versions WHERE bucket = ? AND {where}"
        " ORDER BY key, rank LIMIT ?",
        [bucket, *args, limit],
    )
    return [_Entry(r[0], r[1], VersionRow._make(r)) for r in rows]


def _merged(a: list[_Entry], b: list[_Entry], limit: int) -> list[_Entry]:
    return list(heapq.merge(a, b, key=lambda e: (e.key, e.rank)))[:limit]


def _seeker(
    conn: sqlite3.Connection, bucket: str
) -> Callable[[Cursor, bytes | None, int], list[_Entry]]:
    def seek(cursor: Cursor, upper: bytes | None, limit: int) -> list[_Entry]:
        out: list[_Entry] = []
        bound, bound_args = ("", []) if upper is None else (" AND key < ?", [upper])
        if cursor.after_id is not None:
            # The rest of one key, after the rank already returned.
            after = int(cursor.after_id)
            latest = [
                e for e in _objects(conn, bucket, "key = ?", [cursor.lower], 1) if e.rank > after
            ]
            out = _merged(
                latest,
                _versions(conn, bucket, "key = ? AND rank > ?", [cursor.lower, after], limit),
                limit,
            )
            if len(out) >= limit:
                return out
            where = "key > ?"
        else:
            where = "key >= ?" if cursor.inclusive else "key > ?"
        # each placeholder's value appended with its clause, so the two stay in order
        where += bound
        args = [cursor.lower, *bound_args]
        n = limit - len(out)
        versions = _versions(conn, bucket, where, args, n)
        if len(versions) == n:
            # The first n entries end at or before the last version row's key: read only
            # the latest versions up to that key (one per key, not n of them).
            where += " AND key <= ?"
            args.append(versions[-1].key)
        return out + _merged(_objects(conn, bucket, where, args, n), versions, n)

    return seek


def _marker_rank(conn: sqlite3.Connection, bucket: str, key: bytes, version_id: str) -> int | None:
    """The rank of ``version_id`` of ``key`` (None: ``null`` names no version of the key,
    whose place among the key's versions is then unknown)."""
    if version_id != NULL:
        rank = rank_of(version_id)
        if rank is None:
            raise invalid_version_id(version_id)
        return rank
    if conn.execute(
        "SELECT 1 FROM objects WHERE bucket = ? AND key = ?"
        " AND (version_id IS NULL OR version_id = 'null')",
        (bucket, key),
    ).fetchone():
        return NULL_ROW_RANK
    row = conn.execute(
        "SELECT rank FROM versions WHERE bucket = ? AND key = ? AND version_id = 'null'",
        (bucket, key),
    ).fetchone()
    return None if row is None else int(row[0])


def _version(bucket: str, entry: _Entry, latest: bool) -> ObjectVersion:
    row = entry.row
    if isinstance(row, VersionRow) and row.marker:
        return ObjectVersion(row.marker_info(bucket), latest, delete_marker=True)
    info = version_info(
        bucket,
        row.key,
        row.size,
        row.etag,
        row.last_modified,
        row.meta,
        row.checksums,
        row.parts,
        row.version_id or NULL,  # NULL: the null version of a never-versioned bucket
        row.lock,
    )
    return ObjectVersion(info, latest)


def list_versions(
    conn: sqlite3.Connection,
    bucket: str,
    *,
    prefix: str,
    delimiter: str | None,
    key_marker: str | None,
    version_id_marker: str | None,
    max_keys: int,
) -> VersionsPage:
    prefix_b = prefix.encode("utf-8")
    delim_b = delimiter.encode("utf-8") if delimiter else None
    marker_b = key_marker.encode("utf-8") if key_marker is not None else None
    start = start_after(prefix_b, delim_b, marker_b)
    resumed_inside = False
    if version_id_marker and version_id_marker != NULL and rank_of(version_id_marker) is None:
        # an id this backend cannot have issued, wherever the marker falls (before the
        # prefix too, as an empty key marker does): refused as S3 refuses it
        raise invalid_version_id(version_id_marker)
    if (
        marker_b is not None
        and version_id_marker
        and marker_b >= prefix_b
        and common_prefix(marker_b, prefix_b, delim_b) is None
    ):
        rank = _marker_rank(conn, bucket, marker_b, version_id_marker)
        if rank is None:
            # The null version the previous page ended with is gone (a loop emptying a
            # bucket deletes each page before asking for the next): the key is listed
            # again from its latest version, since skipping it would hide older versions.
            start = Cursor(marker_b, True)
        else:
            start = Cursor(marker_b, False, str(rank))
            resumed_inside = True
    page = list_page(
        _seeker(conn, bucket),
        lambda e: e.key,
        prefix=prefix_b,
        delimiter=delim_b,
        marker=marker_b,
        max_keys=max_keys,
        id_of=lambda e: str(e.rank),
        start=start,
    )
    versions: list[ObjectVersion] = []
    previous: bytes | None = marker_b if resumed_inside else None
    for entry in page.items:
        versions.append(_version(bucket, entry, entry.key != previous))
        previous = entry.key
    next_key = next_version = None
    if page.entries:
        last = page.entries[-1]
        if isinstance(last, bytes):
            next_key = last.decode("utf-8")
        else:
            next_key = last.key.decode("utf-8")
            next_version = versions[-1].info.version_id
    return VersionsPage(
        versions=tuple(versions),
        common_prefixes=tuple(p.decode("utf-8") for p in page.common_prefixes),
        is_truncated=page.is_truncated,
        next_key_marker=next_key,
        next_version_id_marker=next_version,
    )
