"""CompleteMultipartUpload for the filesystem backend.

The listed part files are concatenated into one new object data file (in a thread);
then one transaction checks that the upload and the chosen parts are still there and the
write's condition still holds, writes the object row (with its part boundaries and part
checksums) and removes the upload. A completion retried after it succeeded finds no
upload; if the key's current object is the one those parts made (same multipart ETag), it
is answered again only when this upload made it (table ``completions``: the upload id that
made the key's current object), as S3 answers a retried completion; another upload's id, or
one that never existed, stays ``NoSuchUpload``. The retry checks ``x-amz-mp-object-size``,
the SSE-C key and the checksums the request names as a fresh completion does (all of it,
the one rule of a retry, in :func:`retried`). An UploadPart that replaced a
chosen part while the files were joined sends the completion back to its checks with the
parts as they are now: the listed ETag no longer matching is ``InvalidPart``, the same
bytes sent again are joined again.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from backends.checksums import checksum_type_of, completion_checksums
from backends.conditions import check_object_size, check_write
from backends.errors import BackendError
from backends.filesystem.columns import checksums_to_json, lock_from_json, now_us
from backends.filesystem.metadb import ObjectRow
from backends.filesystem.multipart import (
    MultipartStore,
    PartRow,
    UploadRow,
    invalid_part,
    multipart_etag,
    no_such_upload,
)
from backends.filesystem.sse import completion_key, read_key
from backends.filesystem.versions import current_etag, require_state, write_version
from backends.types import CompletionChecksums, CustomerKey, ObjectInfo, WriteCondition

__all__ = ["complete", "parts_json", "retried"]


def parts_json(parts: Sequence[tuple[int, int, Mapping[str, str]]]) -> str:
    """The ``parts`` column: ``[[number, size], ...]``, with a third element holding the
    part's checksums when it has any."""
    entries: list[list[Any]] = [
        [number, size, dict(sums)] if sums else [number, size] for number, size, sums in parts
    ]
    return json.dumps(entries, separators=(",", ":"))


def _choose(
    store: MultipartStore, upload: UploadRow, listed: Sequence[tuple[int, str]]
) -> list[PartRow]:
    """The stored parts the request lists, after S3's checks: ascending order
    (``InvalidPartOrder``), each uploaded with that ETag (``InvalidPart``), each but the
    last at least the minimum part size (``EntityTooSmall``), together at most S3's largest
    object (``EntityTooLarge``)."""
    if not listed:
        raise BackendError(
            "MalformedXML", "You must specify at least one part to complete the upload."
        )
    for (previous, _), (number, _) in itertools.pairwise(listed):
        if number <= previous:
            raise BackendError(
                "InvalidPartOrder",
                "The list of parts was not in ascending order. Parts must be ordered by "
                "part number.",
            )
    stored = {p.part_number: p for p in store.parts(upload.upload_id)}
    chosen: list[PartRow] = []
    for number, etag in listed:
        part = stored.get(number)
        if part is None or part.etag != etag.strip('"'):
            raise invalid_part(number, etag)
        chosen.append(part)
    for part in chosen[:-1]:
        if part.size < store.min_part_size:
            raise BackendError(
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed object size.",
                extra={
                    "ProposedSize": str(part.size),
                    "MinSizeAllowed": str(store.min_part_size),
                    "PartNumber": str(part.part_number),
                    "ETag": part.etag,
                },
            )
    total = sum(part.size for part in chosen)
    if total > store.max_object_size:
        # 10,000 parts of 5 GiB would make 48.8 TiB: S3 refuses more than 5 TiB
        raise BackendError(
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed object size.",
            extra={"ProposedSize": str(total), "MaxSizeAllowed": str(store.max_object_size)},
        )
    return chosen


_ATTEMPTS = 3
"""Times a completion is started over when an UploadPart replaces a chosen part while
the files are joined (each time needs another UploadPart of that part to lose)."""


class _PartsChanged(Exception):
    """A chosen part was replaced after it was chosen; the upload is still there."""


async def complete(
    store: MultipartStore,
    bucket: str,
    key: str,
    upload_id: str,
    listed: Sequence[tuple[int, str]],
    *,
    found: UploadRow | None,
    checksums: CompletionChecksums | None = None,
    condition: WriteCondition | None = None,
    object_size: int | None = None,
) -> tuple[ObjectRow, list[str]]:
    """Assemble the object; return its row (with its version id) and the data ids it
    replaced (to unlink). ``found`` is the caller's read of the upload's row (None: not
    there), taken as the first attempt's; an attempt started over reads it again."""
    for _attempt in range(_ATTEMPTS):
        try:
            return await _complete_once(
                store,
                store.upload_of(found, bucket, key, upload_id),
                listed,
                checksums=checksums,
                condition=condition,
                object_size=object_size,
            )
        except _PartsChanged:
            found = store.find_upload(upload_id)
    raise BackendError(
        "ConditionalRequestConflict",
        "The parts of this upload kept changing while it was completed. Retry the "
        "completion once its UploadPart requests have ended.",
        extra={"UploadId": upload_id},
    )


async def _complete_once(
    store: MultipartStore,
    upload: UploadRow,
    listed: Sequence[tuple[int, str]],
    *,
    checksums: CompletionChecksums | None,
    condition: WriteCondition | None,
    object_size: int | None,
) -> tuple[ObjectRow, list[str]]:
    bucket, key, upload_id = upload.bucket, upload.key.decode("utf-8"), upload.upload_id
    if condition is not None:
        check_write(key, current_etag(store.db.conn, bucket, upload.key), condition)
    chosen = _choose(store, upload, listed)
    check_object_size(object_size, sum(p.size for p in chosen))
    described = [(p.part_number, p.size, json.loads(p.checksums)) for p in chosen]
    object_sums = completion_checksums(
        upload.checksum_algorithm, upload.checksum_type, described, checksums
    )
    data_id = store.files.new_data_id()
    sources = [store.files.part_file(upload_id, p.data_id) for p in chosen]
    try:
        await store.files.io.run(store.files.concatenate, sources, store.files.object_path(data_id))
    except FileNotFoundError:
        if store.find_upload(upload_id) is not None:
            raise _PartsChanged from None  # a part file replaced by an UploadPart
        raise no_such_upload(upload_id) from None  # aborted or completed meanwhile
    row = ObjectRow(
        key=upload.key,
        size=sum(p.size for p in chosen),
        etag=multipart_etag([p.etag for p in chosen]),
        last_modified=0,  # the committing transaction's time, below
        meta=upload.meta,
        checksums=checksums_to_json(object_sums),
        parts=parts_json(described),
        data_id=data_id,
        tags=upload.tags,
    )
    try:
        with store.db.write() as conn:
            state = require_state(conn, bucket)
            if store.find_upload(upload_id) is None:
                raise no_such_upload(upload_id)  # aborted or completed meanwhile
            current = {p.part_number: p.data_id for p in store.parts(upload_id)}
            if any(current.get(p.part_number) != p.data_id for p in chosen):
                raise _PartsChanged  # an UploadPart replaced one: choose again
            if condition is not None:
                check_write(
                    key, current_etag(store.db.conn, bucket, upload.key), condition, racing=True
                )
            # the time in commit order (as the group commit takes it: GroupCommitter.commit)
            row = row._replace(last_modified=now_us())
            version_id, doomed = write_version(
                conn, bucket, state, row, lock_from_json(upload.lock)
            )
            conn.execute(
                "INSERT OR REPLACE INTO completions (bucket, key, upload_id, data_id)"
                " VALUES (?, ?, ?, ?)",
                (bucket, upload.key, upload_id, data_id),
            )
            conn.execute("DELETE FROM parts WHERE upload_id = ?", (upload_id,))
            conn.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
    except BaseException:
        store.files.unlink_object(data_id)
        raise
    await store.files.drop_upload_dir(upload_id)
    return row._replace(version_id=version_id), doomed


_Described = list[tuple[int, int, Mapping[str, str]]]
"""An object's parts as its ``parts`` column holds them: (number, size, checksums)."""


def retried(
    store: MultipartStore,
    bucket: str,
    key: str,
    upload_id: str,
    listed: Sequence[tuple[int, str]],
    *,
    customer: CustomerKey | None,
    checksums: CompletionChecksums | None,
    object_size: int | None,
) -> ObjectInfo | None:
    """For a completion that found no upload (``NoSuchUpload``): the object it made when
    it is a retry of a completion that succeeded, after the checks a fresh completion
    makes; None when it is not one.

    The one rule of a retry, here and nowhere else: the key's current object is the one
    this upload made (its ``completions`` row, written by the transaction that removed
    the upload, so the upload is gone: no second look at ``uploads``) of the parts listed
    (its ETag is theirs, its parts had the numbers listed). Then, as AWS checks a retry:
    ``x-amz-mp-object-size``, the SSE-C key, the checksums named (:func:`_check_sums`).
    The object's columns are decoded once (``ObjectRow.to_info``)."""
    made = _made_by(store, bucket, key, upload_id, listed)
    if made is None:
        return None
    row, parts = made
    info = row.to_info(bucket)
    check_object_size(object_size, info.size)
    if customer is not None:
        read_key(info.meta, customer, store.keys)
    algorithm = next(iter(info.checksums), None)
    completion_key(
        info.meta, customer, store.keys, checksum_algorithm=algorithm, checksums=checksums
    )
    _check_sums(info.checksums, parts, checksums)
    return info


def _made_by(
    store: MultipartStore,
    bucket: str,
    key: str,
    upload_id: str,
    listed: Sequence[tuple[int, str]],
) -> tuple[ObjectRow, _Described] | None:
    """The key's current object and its parts when this upload made it with the parts
    listed, else None."""
    try:
        etag = multipart_etag([e.strip('"') for _, e in listed])
    except ValueError:  # an ETag that is no hex digest: never one of ours
        return None
    row = store.db.object(bucket, key.encode("utf-8"))
    if row is None or row.parts is None or row.etag != etag:
        return None
    made = store.db.conn.execute(
        "SELECT 1 FROM completions WHERE bucket = ? AND key = ? AND upload_id = ? AND data_id = ?",
        (bucket, key.encode("utf-8"), upload_id, row.data_id),
    ).fetchone()
    if made is None:
        return None  # another upload made it, or an id that never was one
    parts: _Described = [
        (int(entry[0]), int(entry[1]), entry[2] if len(entry) > 2 else {})
        for entry in json.loads(row.parts)
    ]
    if [number for number, _, _ in parts] != [n for n, _ in listed]:
        return None  # the same bytes under other part numbers: not this completion
    return row, parts


def _check_sums(
    stored: Mapping[str, str], parts: _Described, checksums: CompletionChecksums | None
) -> None:
    """The checksum rules of a fresh completion (``completion_checksums``), applied to a
    retried one with the object it made (its checksums ``stored``, its ``parts``): the
    listed part checksums must be the parts' (``InvalidPart``), the algorithm and type
    the upload's (``InvalidRequest``), a whole-object value the object's (``BadDigest``),
    as AWS compares them on a retry. The upload is gone; its algorithm is the one of the
    object's checksum, its type that value's (``-N``: COMPOSITE)."""
    algorithm = next(iter(stored), None)
    kind = None if algorithm is None else checksum_type_of(stored[algorithm])
    completion_checksums(algorithm, kind, parts, checksums)
