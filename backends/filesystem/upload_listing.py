"""ListMultipartUploads for the filesystem backend: one index range scan per page over
``uploads_by_key`` (bucket, key, upload id), rolled up at the delimiter by the shared
listing walk (``listing.py``)."""

from __future__ import annotations

from typing import Any

from backends.filesystem.listing import Cursor, common_prefix, list_page, start_after
from backends.filesystem.metadb import MetaDB
from backends.filesystem.multipart import UPLOAD_COLUMNS, UploadRow
from backends.types import UploadsPage

__all__ = ["list_uploads"]


def list_uploads(
    db: MetaDB,
    bucket: str,
    *,
    prefix: str,
    delimiter: str | None,
    key_marker: str | None,
    upload_id_marker: str | None,
    max_uploads: int,
) -> UploadsPage:
    db.require_bucket(bucket)
    conn = db.conn
    prefix_b = prefix.encode("utf-8")
    delim_b = delimiter.encode("utf-8") if delimiter else None
    marker_b = key_marker.encode("utf-8") if key_marker is not None else None
    start = start_after(prefix_b, delim_b, marker_b)
    if (
        marker_b is not None
        and upload_id_marker
        and marker_b >= prefix_b
        and common_prefix(marker_b, prefix_b, delim_b) is None
    ):
        start = Cursor(marker_b, False, upload_id_marker)

    def seek(cursor: Cursor, upper: bytes | None, limit: int) -> list[UploadRow]:
        sql = f"SELECT {UPLOAD_COLUMNS} FROM uploads WHERE bucket = ? AND "
        args: list[Any] = [bucket]
        if cursor.after_id is not None:
            sql += "(key > ? OR (key = ? AND upload_id > ?))"
            args += [cursor.lower, cursor.lower, cursor.after_id]
        else:
            sql += "key >= ?" if cursor.inclusive else "key > ?"
            args.append(cursor.lower)
        if upper is not None:
            sql += " AND key < ?"
            args.append(upper)
        sql += " ORDER BY key, upload_id LIMIT ?"
        args.append(limit)
        return [UploadRow(*r) for r in conn.execute(sql, args)]

    page = list_page(
        seek,
        lambda u: u.key,
        prefix=prefix_b,
        delimiter=delim_b,
        marker=marker_b,
        max_keys=max_uploads,
        id_of=lambda u: u.upload_id,
        start=start,
    )
    next_key: str | None = None
    next_id: str | None = None
    if page.entries:
        last = page.entries[-1]
        if isinstance(last, bytes):
            next_key = last.decode("utf-8")
        else:
            next_key, next_id = last.key.decode("utf-8"), last.upload_id
    return UploadsPage(
        uploads=tuple(u.to_upload() for u in page.items),
        common_prefixes=tuple(p.decode("utf-8") for p in page.common_prefixes),
        is_truncated=page.is_truncated,
        next_key_marker=next_key,
        next_upload_id_marker=next_id,
    )
