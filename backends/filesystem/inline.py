"""Small objects kept in the metadata database ("inline") instead of a data file.

A PUT whose body is at most the backend's ``inline_max`` bytes (``INLINE_MAX`` unless
configured: ``storage.inline_max_bytes``) stores its bytes in a row of ``inline_data``
(for an encrypted object the sealed stream, exactly what its data file would hold),
written by the same transaction as the object's row. Such a PUT creates, fsyncs,
renames and later unlinks no file: one WAL sync per group commit makes the row and its
bytes durable together, and a failed or refused write leaves nothing behind to clean
up. A GET reads the bytes with the row's database.

Where an object's bytes are is in its data id, which the ``objects`` and ``versions``
rows already carry: a file's id is 32 hex digits (``files.new_id``), an inline one is
``INLINE_PREFIX`` followed by 32 hex digits (the prefix is not a hex digit, so the two
never meet). Every transaction that stops referencing a data id (a replace, a delete, a
version removed) hands its ids to :func:`release`, which deletes the inline ones' rows in
that transaction and returns the file ones, which the caller unlinks after commit as
before. Only whole PUTs are inline; multipart uploads keep files, and a copy of an
inline object is inline only when stored alike (otherwise it is written to a file).

Cost (docs/performance.md, ninth sitting): a 4 KiB PUT 1,198 -> 770 us of server CPU;
a GET of an inline object reads its bytes with one indexed SELECT after its row (no
open, pread and close of a file), or none when they are in the worker's ``InlineCache``.

``InlineCache``: an inline data id names one body for good (every write and every copy
stores a new id; no statement changes a row of ``inline_data``, except the re-wrap of a
master-key rotation, which runs with no gateway serving), so bytes kept by data id are
never stale, and the row read first (exact: ``MetaDB.object``) decides which id a
request reads. The cache needs no invalidation, and writes by other workers do not empty
it. Bytes of an object deleted since are kept until they age out, but no current row
names their id any more: nothing reads them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterable

from backends.filesystem.files import new_id

__all__ = [
    "INLINE_CACHE_BYTES",
    "INLINE_MAX",
    "INLINE_PREFIX",
    "BytesBody",
    "InlineCache",
    "inline_bytes",
    "is_inline",
    "new_inline_id",
    "release",
    "store",
]

INLINE_MAX = 64 * 1024
"""Default largest body kept inline: the size up to which a file-backed GET reads on the
event loop anyway (``files.SYNC_READ_MAX``), a quarter of a receive batch, and 16 pages
of the database."""

INLINE_LIMIT = 128 * 1024
"""The largest ``inline_max`` the configuration accepts: half a receive batch
(``files.BATCH``), so a body that qualifies always arrives whole in the first batch; a
GET of an inline object holds it in memory."""

INLINE_CACHE_BYTES = 8 * 1024 * 1024
"""What one worker's ``InlineCache`` may hold: about 127 bodies of the default largest
size, 1,985 of 4 KiB, 65,536 empty ones (each is charged ``_ENTRY_COST`` too)."""

INLINE_PREFIX = "i"

_INSERT = "INSERT INTO inline_data (data_id, data) VALUES (?, ?)"
_SELECT = "SELECT data FROM inline_data WHERE data_id = ?"
_DELETE = "DELETE FROM inline_data WHERE data_id = ?"


def new_inline_id() -> str:
    return INLINE_PREFIX + new_id()


def is_inline(data_id: str) -> bool:
    return data_id.startswith(INLINE_PREFIX)


def store(conn: sqlite3.Connection, data_id: str, data: bytes) -> None:
    """Write an inline object's bytes (in the caller's transaction, with its row)."""
    conn.execute(_INSERT, (data_id, data))


def inline_bytes(conn: sqlite3.Connection, data_id: str) -> bytes | None:
    """The bytes of an inline object; None when its row is gone (the object was replaced
    or deleted since its row was read: the caller reads the row again)."""
    found = conn.execute(_SELECT, (data_id,)).fetchone()
    if found is None:
        return None
    data: bytes = found[0]
    return data


_ENTRY_COST = 128
"""What one kept body costs besides its bytes (the id, the bytes object, the dictionary
slot), charged against ``max_bytes``: many empty or tiny bodies are bounded too."""


class InlineCache:
    """Inline bodies by data id, at most ``max_bytes`` in all (each body's length plus
    ``_ENTRY_COST``), the least recently read going first. For one thread (the event
    loop's reads)."""

    __slots__ = ("_entries", "_max_bytes", "_size")

    def __init__(self, max_bytes: int = INLINE_CACHE_BYTES) -> None:
        self._max_bytes = max_bytes
        self._entries: dict[str, bytes] = {}
        self._size = 0

    def get(self, data_id: str) -> bytes | None:
        entries = self._entries
        data = entries.pop(data_id, None)
        if data is not None:
            entries[data_id] = data  # the most recently read: last to go
        return data

    def put(self, data_id: str, data: bytes) -> None:
        entries = self._entries
        if len(data) + _ENTRY_COST > self._max_bytes or data_id in entries:
            return
        entries[data_id] = data
        self._size += len(data) + _ENTRY_COST
        while self._size > self._max_bytes:
            self._size -= len(entries.pop(next(iter(entries)))) + _ENTRY_COST

    @property
    def size(self) -> int:
        """What is charged for the bodies kept (their bytes plus ``_ENTRY_COST`` each)."""
        return self._size

    def __len__(self) -> int:
        return len(self._entries)


def release(conn: sqlite3.Connection, data_ids: Iterable[str]) -> list[str]:
    """Delete the bytes of the inline ids among ``data_ids`` (in the caller's
    transaction, which stopped referencing them); return the others, the data files the
    caller unlinks once that transaction committed."""
    files: list[str] = []
    for data_id in data_ids:
        if is_inline(data_id):
            conn.execute(_DELETE, (data_id,))
        else:
            files.append(data_id)
    return files


class BytesBody:
    """An ``ObjectRead`` body of bytes already in memory: one chunk, then the end."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        data, self._data = self._data, None
        if not data:
            raise StopAsyncIteration
        return data

    async def aclose(self) -> None:
        self._data = None
