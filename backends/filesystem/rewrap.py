"""Re-wrapping SSE-S3 data keys under the current key, after a master-key rotation.

Only the 84-byte header of each encrypted stream depends on the gateway's key (it holds
the data key, wrapped); segments stay as they are. :func:`rewrap` visits every stored
stream: object and version data files (one stream per part), inline objects' bytes, and
the part files of multipart uploads in progress, and rewrites each SSE-S3 header whose
key id is not the current key's. Run with no gateway serving the data directory (the
``rotate-master-key`` command holds it): a running worker could cache an inline body or a
header opened under the old key.

Durability: the headers a batch of files will get are first written to a journal
(``<meta>/rewrap.journal``, fsynced), then written in place and the files fsynced, then
the journal is emptied. A header write torn by a crash is rewritten from the journal by
the next run, before anything else. Inline bodies change in one database transaction.
A run stopped half-way leaves streams under either key, each readable with both keys
configured; running it again finishes (headers already current are skipped).

SSE-C streams are never rewritten: their data keys are wrapped under the client's key,
and the HMAC that checks that key is keyed by the gateway key it was written under,
which cannot be recomputed without the client's key. :class:`Rewrapped` reports the key
ids those HMACs still name, so the caller knows which previous keys stay needed.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from backends.errors import BackendError
from backends.filesystem.columns import meta_from_json
from backends.filesystem.encryption import (
    HEADER,
    MAGIC,
    KeySet,
    rewrap_header,
    stream_length,
)
from backends.filesystem.files import DataStore
from backends.filesystem.inline import INLINE_PREFIX, inline_bytes
from backends.filesystem.metadb import MetaDB
from backends.filesystem.sse import AES256, part_sizes

__all__ = ["JOURNAL", "Rewrapped", "rewrap"]

JOURNAL = "rewrap.journal"
_BATCH = 256
"""Files per journal batch: one journal fsync per batch, one per file written."""


@dataclass
class Rewrapped:
    """What one run did, and what still needs an earlier key."""

    streams: int = 0
    """Headers rewritten."""
    customer_key_ids: set[str] = field(default_factory=set)
    """Hex key ids the SSE-C objects' and uploads' key HMACs are keyed under."""
    unreadable: dict[str, int] = field(default_factory=dict)
    """Streams left as they were because their header opens with no key given, counted
    by the key id the header names (a master key not configured) or ``"damaged"``. The
    gateway could not read them before either; they do not stop the rotation."""


@dataclass(frozen=True, slots=True)
class _Stored:
    data_id: str
    sizes: list[int]
    path: Path | None
    """The data file; None for an inline body."""


def _managed(meta_text: str, found: Rewrapped) -> bool:
    """Whether a row's data is SSE-S3; the key id an SSE-C row's key check names goes
    into ``found``."""
    meta = meta_from_json(meta_text)
    if meta.sse_customer_algorithm is not None:
        if meta.sse_customer_key_hmac:
            found.customer_key_ids.add(meta.sse_customer_key_hmac.partition(":")[0])
        return False
    return meta.server_side_encryption == AES256


def _offsets(sizes: list[int]) -> Iterator[int]:
    offset = 0
    for size in sizes:
        yield offset
        offset += stream_length(size)


# Each scan pages through its table in primary-key order (keyset pagination), every
# page read whole before anything is written: memory stays at one page however many
# objects there are, and no read cursor is open while a transaction writes.
_SCANS: tuple[tuple[str, tuple[object, ...]], ...] = (
    (
        "SELECT bucket, key, data_id, size, parts, meta FROM objects"
        " WHERE (bucket, key) > (?, ?) ORDER BY bucket, key LIMIT ?",
        ("", b""),
    ),
    (
        "SELECT bucket, key, rank, data_id, size, parts, meta FROM versions"
        " WHERE (bucket, key, rank) > (?, ?, ?) AND data_id IS NOT NULL"
        " ORDER BY bucket, key, rank LIMIT ?",
        ("", b"", -1),
    ),
)
"""Each scan's SQL and the primary key before its first row (its cursor's start)."""
_PARTS = (
    "SELECT p.upload_id, p.part_number, p.data_id, p.size, u.meta FROM parts AS p"
    " JOIN uploads AS u ON u.upload_id = p.upload_id"
    " WHERE (p.upload_id, p.part_number) > (?, ?) ORDER BY p.upload_id, p.part_number LIMIT ?"
)
_UPLOADS = "SELECT upload_id, meta FROM uploads WHERE upload_id > ? ORDER BY upload_id LIMIT ?"


def _pages(db: MetaDB, files: DataStore, found: Rewrapped) -> Iterator[list[_Stored]]:
    """Every SSE-S3 stream holder (objects, versions, parts of open uploads), a page at a
    time; the key ids SSE-C objects' and uploads' key checks name go into ``found``."""
    conn = db.conn
    for sql, first in _SCANS:
        after, width = first, len(first)
        while rows := conn.execute(sql, (*after, _BATCH)).fetchall():
            after = tuple(rows[-1][:width])
            yield [
                _Stored(
                    data_id,
                    part_sizes(size, parts),
                    None if data_id.startswith(INLINE_PREFIX) else files.object_path(data_id),
                )
                for *_, data_id, size, parts, meta in rows
                if _managed(meta, found)
            ]
    part_after: tuple[object, ...] = ("", 0)
    while rows := conn.execute(_PARTS, (*part_after, _BATCH)).fetchall():
        part_after = tuple(rows[-1][:2])
        yield [
            _Stored(data_id, [size], files.part_path(upload_id, data_id))
            for upload_id, _, data_id, size, meta in rows
            if _managed(meta, found)
        ]
    upload_after = ""
    while rows := conn.execute(_UPLOADS, (upload_after, _BATCH)).fetchall():
        upload_after = rows[-1][0]
        for _, meta in rows:
            _managed(meta, found)  # SSE-C uploads without parts name a key too


def _rewrapped(header: bytes, keys: KeySet, found: Rewrapped) -> bytes | None:
    """``rewrap_header``, a header that opens with no key given counted, not raised."""
    try:
        return rewrap_header(header, keys)
    except BackendError:
        label = header[8:16].hex() if header[:4] == MAGIC and len(header) == HEADER else "damaged"
        found.unreadable[label] = found.unreadable.get(label, 0) + 1
        return None


def _new_headers(
    fd: int, stored: _Stored, keys: KeySet, found: Rewrapped
) -> list[tuple[int, bytes]]:
    changes = []
    for offset in _offsets(stored.sizes):
        header = os.pread(fd, HEADER, offset)
        new = _rewrapped(header, keys, found)
        if new is not None:
            changes.append((offset, new))
    return changes


def _replay(journal: Path, fsync: bool) -> int:
    """Rewrite the headers a stopped run journaled; return how many."""
    if not journal.exists():
        return 0
    count = 0
    for line in journal.read_text(encoding="ascii").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            break  # the last line of a journal cut short: its batch was never applied
        path = Path(entry["path"])
        if not path.exists():
            continue
        fd = os.open(path, os.O_WRONLY)
        try:
            os.pwrite(fd, base64.b64decode(entry["header"]), entry["offset"])
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        count += 1
    _clear(journal, fsync)
    return count


def _clear(journal: Path, fsync: bool) -> None:
    fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _apply(batch: list[tuple[Path, list[tuple[int, bytes]]]], journal: Path, fsync: bool) -> None:
    lines = [
        json.dumps({"path": str(path), "offset": offset, "header": base64.b64encode(new).decode()})
        for path, changes in batch
        for offset, new in changes
    ]
    fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, ("\n".join(lines) + "\n").encode("ascii"))
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    for path, changes in batch:
        fd = os.open(path, os.O_WRONLY)
        try:
            for offset, new in changes:
                os.pwrite(fd, new, offset)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
    _clear(journal, fsync)


def _rewrap_inline(db: MetaDB, pending: list[_Stored], keys: KeySet, found: Rewrapped) -> int:
    """Rewrite the headers inside inline bodies (one page of them), in one transaction."""
    if not pending:
        return 0
    count = 0
    with db.write() as conn:
        for stored in pending:
            body = inline_bytes(conn, stored.data_id)
            if body is None:
                continue
            changed = bytearray(body)
            for offset in _offsets(stored.sizes):
                header = bytes(changed[offset : offset + HEADER])
                new = _rewrapped(header, keys, found)
                if new is not None:
                    changed[offset : offset + HEADER] = new
                    count += 1
            if changed != body:
                conn.execute(
                    "UPDATE inline_data SET data = ? WHERE data_id = ?",
                    (bytes(changed), stored.data_id),
                )
    return count


def rewrap(db: MetaDB, files: DataStore, keys: KeySet) -> Rewrapped:
    """Rewrite every SSE-S3 header not under ``keys``' current key (blocking; see the
    module). ``keys`` must know every key an old header names. A data id met twice (a
    version that is also the current object, a copy sharing its source's file) is
    rewritten once: the second visit finds its headers current."""
    journal = files.meta_dir / JOURNAL
    found = Rewrapped(streams=_replay(journal, files.fsync))
    for page in _pages(db, files, found):
        batch: dict[Path, list[tuple[int, bytes]]] = {}
        for stored in page:
            if stored.path is None or stored.path in batch:
                continue
            fd = os.open(stored.path, os.O_RDONLY)
            try:
                changes = _new_headers(fd, stored, keys, found)
            finally:
                os.close(fd)
            if changes:
                batch[stored.path] = changes
                found.streams += len(changes)
        if batch:
            _apply(list(batch.items()), journal, files.fsync)
        found.streams += _rewrap_inline(db, [s for s in page if s.path is None], keys, found)
    return found
