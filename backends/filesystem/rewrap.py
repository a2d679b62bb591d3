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

from backends.filesystem.encryption import HEADER, KeySet, rewrap_header, stream_length
from backends.filesystem.files import DataStore
from backends.filesystem.inline import INLINE_PREFIX, inline_bytes
from backends.filesystem.metadb import MetaDB, meta_from_json
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


def _stored(db: MetaDB, files: DataStore, found: Rewrapped) -> Iterator[_Stored]:
    """Every SSE-S3 stream holder once; SSE-C key ids into ``found``."""
    conn, seen = db.conn, set()
    rows = conn.execute(
        "SELECT data_id, size, parts, meta FROM objects UNION ALL"
        " SELECT data_id, size, parts, meta FROM versions WHERE data_id IS NOT NULL"
    )
    for data_id, size, parts, meta_text in rows:
        if not _managed(meta_text, found) or data_id in seen:
            continue
        seen.add(data_id)
        inline = data_id.startswith(INLINE_PREFIX)
        path = None if inline else files.object_path(data_id)
        yield _Stored(data_id, part_sizes(size, parts), path)
    uploads = conn.execute(
        "SELECT u.upload_id, u.meta, p.data_id, p.size FROM uploads AS u"
        " LEFT JOIN parts AS p ON p.upload_id = u.upload_id"
    )
    for upload_id, meta_text, data_id, size in uploads:
        if not _managed(meta_text, found) or data_id is None:
            continue
        yield _Stored(data_id, [size], files.part_path(upload_id, data_id))


def _new_headers(fd: int, sizes: list[int], keys: KeySet) -> list[tuple[int, bytes]]:
    changes = []
    for offset in _offsets(sizes):
        header = os.pread(fd, HEADER, offset)
        new = rewrap_header(header, keys)
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


def _rewrap_inline(db: MetaDB, pending: list[_Stored], keys: KeySet) -> int:
    """Rewrite the headers inside inline bodies, one transaction per batch."""
    count = 0
    for start in range(0, len(pending), _BATCH):
        with db.write() as conn:
            for stored in pending[start : start + _BATCH]:
                body = inline_bytes(conn, stored.data_id)
                if body is None:
                    continue
                changed = bytearray(body)
                for offset in _offsets(stored.sizes):
                    new = rewrap_header(bytes(changed[offset : offset + HEADER]), keys)
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
    module). ``keys`` must know every key an old header names."""
    journal = files.meta_dir / JOURNAL
    found = Rewrapped(streams=_replay(journal, files.fsync))
    batch: list[tuple[Path, list[tuple[int, bytes]]]] = []
    inline: list[_Stored] = []
    for stored in _stored(db, files, found):
        if stored.path is None:
            inline.append(stored)  # rewritten once the scan's cursor is done
            continue
        fd = os.open(stored.path, os.O_RDONLY)
        try:
            changes = _new_headers(fd, stored.sizes, keys)
        finally:
            os.close(fd)
        if changes:
            batch.append((stored.path, changes))
            found.streams += len(changes)
        if len(batch) >= _BATCH:
            _apply(batch, journal, files.fsync)
            batch = []
    if batch:
        _apply(batch, journal, files.fsync)
    found.streams += _rewrap_inline(db, inline, keys)
    return found
