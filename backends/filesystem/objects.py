"""Object-level rules shared by the filesystem backend: missing keys, byte selection,
opening a data file for reading and copying one (plain or encrypted). (Version ids and
their rules are ``versions.py``'s.)"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from backends.errors import BackendError
from backends.filesystem.bodies import FileBody, ReaderBody, open_for_read
from backends.filesystem.encryption import KeySet, PlainReader, ReadAt
from backends.filesystem.files import DataStore
from backends.filesystem.inline import InlineCache
from backends.filesystem.metadb import MetaDB, ObjectRow
from backends.filesystem.multipart import multipart_etag
from backends.filesystem.page_cache import warm
from backends.filesystem.sse import Plan, object_reader, part_sizes
from backends.ranges import resolve_range
from backends.types import ByteRange, ObjectInfo, ObjectMeta, ObjectRead, is_encrypted
from sigv4 import Checksum


def no_such_key(key: str) -> BackendError:
    return BackendError("NoSuchKey", "The specified key does not exist.", extra={"Key": key})


def select_bytes(
    row: ObjectRow, byte_range: ByteRange | None, part_number: int | None
) -> tuple[int, int, bool]:
    """Inclusive (first, last) to serve and whether that is a slice (206). The gateway
    never passes both a range and a part number."""
    if part_number is not None:
        # entries are [number, size] or [number, size, checksums]
        parts = [(1, row.size)] if row.parts is None else json.loads(row.parts)
        offset = 0
        for entry in parts:
            number, size = entry[0], entry[1]
            if number == part_number:
                return offset, offset + size - 1, row.size > 0
            offset += size
        raise BackendError(
            "InvalidPartNumber",
            "The requested partnumber is not satisfiable",
            extra={"PartNumberRequested": str(part_number), "ActualPartCount": str(len(parts))},
        )
    if byte_range is None:
        return 0, row.size - 1, False
    first, last = resolve_range(byte_range, row.size)
    return first, last, True


def part_checksums(
    parts: str | None, checksums: Mapping[str, str], part_number: int
) -> dict[str, str] | None:
    """The checksums of part ``part_number`` of a COMPOSITE multipart object (``parts``
    the row's column, ``checksums`` the object's), as S3 answers a ``partNumber`` read
    with checksum mode; None for any other object: a FULL_OBJECT value describes the
    whole object, not one part of it. For ``partNumber`` reads only."""
    composite = [alg for alg, value in checksums.items() if "-" in value]
    if parts is None or not composite:
        return None
    for entry in json.loads(parts):  # [number, size] or [number, size, checksums]
        if entry[0] == part_number and len(entry) > 2:
            return {alg: entry[2][alg] for alg in composite if alg in entry[2]} or None
    return None


def encryption_not_found(bucket: str) -> BackendError:
    return BackendError(
        "ServerSideEncryptionConfigurationNotFoundError",
        "The server side encryption configuration was not found",
        extra={"BucketName": bucket},
    )


def source_reader(
    source: int | bytes,
    row: ObjectRow,
    meta: ObjectMeta,
    keys: KeySet | None,
    customer_key: bytes | None,
) -> ReadAt:
    """Plaintext access to a row's open data file, or to its stored bytes (an inline
    object), decrypting an encrypted one."""
    return object_reader(source, meta, part_sizes(row.size, row.parts), keys, customer_key)


def inline_plaintext(
    db: MetaDB,
    opened: InlineCache,
    row: ObjectRow,
    meta: ObjectMeta,
    keys: KeySet | None,
    customer_key: bytes | None,
) -> bytes | None:
    """The whole plaintext of an inline object (None: its bytes are gone, replaced or
    deleted since ``row`` was read).

    An SSE-S3 object's plaintext is kept in ``opened`` by data id, in place of its stored
    bytes in ``MetaDB.inline`` (an id names one body for good, so neither goes stale): a
    GET of a small encrypted object read before opens nothing. Never an SSE-C object's (its
    plaintext is only for a request that brings the key: ``customer_key`` set), and not
    bytes read inside a write transaction, which may roll back.
    """
    managed = customer_key is None and is_encrypted(meta)
    if managed:
        plain = opened.get(row.data_id)
        if plain is not None:
            return plain
    # an SSE-S3 body's stored bytes are not kept beside its plaintext: a GET reads the
    # plaintext, and the ciphertext would only take room from other objects' bytes
    stored = db.inline(row.data_id, keep=not managed)
    if stored is None:
        return None
    reader = source_reader(stored, row, meta, keys, customer_key)
    plain = reader.read(0, row.size) if row.size else b""
    if managed and not db.conn.in_transaction:
        opened.put(row.data_id, plain)
    return plain


READ_ATTEMPTS = 5
"""How many times a GET looks for an object's data, reading its row again each time the
data (file or inline bytes) was gone: replaced or deleted under the read, which
:func:`inline_plaintext` and :func:`open_read` answer with None. A row whose data stays
missing through every look is the server's fault (500). A copy's looks at its source are
bounded by ``COPY_ATTEMPTS``, which tells the two cases apart."""


async def open_read(
    files: DataStore,
    row: ObjectRow,
    info: ObjectInfo,
    first: int,
    last: int,
    partial: bool,
    keys: KeySet | None,
    customer_key: bytes | None,
) -> ObjectRead | None:
    """The body of bytes ``first..last`` of a row's data file; None when the file is gone
    (replaced or deleted since the row was read: the caller reads the row again).

    An encrypted object is read through a ``PlainReader`` that decrypts only the segments
    the range covers; the stream holding ``first`` is opened before returning, so a key
    that does not fit fails the request before its status line is sent (its header is
    read on the backend's pool when it is not in the page cache).
    """
    path = files.object_path(row.data_id)
    try:
        fd = open_for_read(path)
    except FileNotFoundError:
        return None
    length = last - first + 1
    if not is_encrypted(info.meta):
        return ObjectRead(
            info, FileBody(fd, first, length, files.io), first, last, partial, str(path)
        )
    try:
        reader = source_reader(fd, row, info.meta, keys, customer_key)
        if length > 0 and isinstance(reader, PlainReader):
            header = reader.uncached_header(first)
            if header is not None:
                # read into the cache on the pool, through a descriptor of its own (so a
                # cancelled request can close ``fd`` at once)
                await files.io.run(warm, path, *header)
            reader.prepare(first)
    except BaseException:
        os.close(fd)
        raise
    return ObjectRead(info, ReaderBody(fd, reader, first, length, files.io), first, last, partial)


COPY_ATTEMPTS = 5
"""How many times a copy reads its source again after the source was replaced under it."""


def check_source_data(data_id: str, missing: set[str]) -> None:
    """A copy's attempt at a source row: the row read again names the data a previous
    attempt found missing (the row did not change, its data is gone: the server's fault,
    500), or not (``missing`` then holds it, should this attempt find it gone too)."""
    if data_id in missing:
        raise BackendError("InternalError", "object data file is missing")
    missing.add(data_id)


def source_kept_changing() -> BackendError:
    """A copy whose source was replaced under it ``COPY_ATTEMPTS`` times in a row (each
    attempt read another row: :func:`check_source_data`): another client's writes, so 409
    ``OperationAborted`` (retry), not the server's 500."""
    return BackendError(
        "OperationAborted",
        f"The copy source was replaced while it was read, {COPY_ATTEMPTS} times in a row. "
        "Try again.",
    )


async def copy_data(
    files: DataStore,
    src: ObjectRow,
    src_meta: ObjectMeta,
    src_key: bytes | None,
    plan: Plan,
    data_id: str,
    keys: KeySet | None,
    inline: bytes | None = None,
    checksum: Checksum | None = None,
) -> str | None:
    """Make data file ``data_id`` hold the source's plaintext stored as ``plan`` says and
    return the copy's ETag; None when the source file is gone (read the row again).
    ``inline``: the stored bytes of an inline source (``inline.py``), whose plaintext is
    written to the file as ``plan`` says. ``checksum`` is fed the whole plaintext (a
    copy asked for a checksum the source lacks).

    Stored alike (both plain, both SSE-S3, or SSE-C under the same key) and no checksum to
    compute: a hard link, the ETag kept. Otherwise the plaintext is re-encrypted (or
    decrypted, or copied) into a new file, one stream per part, and the ETag recomputed
    from it (random for SSE-C).
    """
    src_path, dest = files.object_path(src.data_id), files.object_path(data_id)
    if inline is not None:
        digests = await files.io.run(
            files.transcode,
            source_reader(inline, src, src_meta, keys, src_key),
            [(0, src.size)],
            dest,
            lambda: plan.sealer(keys),
            checksum,
        )
        return plan.etag(digests[0].hex())
    if checksum is None and plan.stores_like(src_meta, keys):
        try:
            if files.fsync:
                await files.io.run(files.link_or_copy, src_path, dest)
            else:
                files.link_or_copy(src_path, dest)
        except FileNotFoundError:
            return None
        return src.etag
    try:
        fd = open_for_read(src_path)
    except FileNotFoundError:
        return None
    try:
        reader = source_reader(fd, src, src_meta, keys, src_key)
        spans: list[tuple[int, int]] = []
        offset = 0
        for size in part_sizes(src.size, src.parts):
            spans.append((offset, size))
            offset += size
        digests = await files.io.run(
            files.transcode, reader, spans, dest, lambda: plan.sealer(keys), checksum
        )
    finally:
        os.close(fd)
    if src.parts is None:
        return plan.etag(digests[0].hex())
    return plan.etag(multipart_etag([digest.hex() for digest in digests]))
