"""Multipart uploads for the filesystem backend.

An upload is a row in ``uploads``; each part a row in ``parts`` plus a file
``parts/<upload id>/<random id>``. Completion (``completion.py``) concatenates the listed
part files into one new object data file (in a thread), then in one transaction removes
the upload and writes the object row with its part boundaries and part checksums (GET
``partNumber``, GetObjectAttributes). Listing uploads: ``upload_listing.py``.

Upload ids are ``<16 hex digits of nanoseconds><16 random hex digits>``, so sorting by id
within a key is sorting by initiation time, which is the order S3 lists uploads of one key
in and the order its ``upload-id-marker`` compares in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import secrets
import sqlite3
import time
from collections.abc import Sequence

from backends.checksums import check_part_algorithm, upload_checksum
from backends.errors import BackendError
from backends.filesystem.columns import (
    checksums_to_json,
    from_us,
    lock_to_json,
    meta_from_json,
    meta_to_json,
    now_us,
    tags_to_json,
)
from backends.filesystem.encryption import KeySet, ReadAt
from backends.filesystem.files import DataStore
from backends.filesystem.metadb import MetaDB
from backends.filesystem.sse import PLAIN, Plan, checksums_shown, stored_plan
from backends.filesystem.versions import require_state
from backends.ranges import MAX_OBJECT_SIZE
from backends.types import (
    CustomerKey,
    ObjectLock,
    ObjectMeta,
    Part,
    PartsPage,
    PayloadStream,
    Tags,
    Upload,
)
from sigv4 import new_checksum
from sigv4.records import record

UPLOAD_COLUMNS = (
    "upload_id, bucket, key, initiated, meta, checksum_algorithm, lock, checksum_type, tags"
)
PART_COLUMNS = "part_number, etag, size, last_modified, checksums, data_id"


@record
class UploadRow:
    upload_id: str
    bucket: str
    key: bytes
    initiated: int
    meta: str
    checksum_algorithm: str | None
    lock: str | None
    """The Object Lock settings CreateMultipartUpload asked for (``lock_to_json``)."""
    stored_type: str | None = None
    """COMPOSITE / FULL_OBJECT; None for uploads created before the column existed."""
    tags: str | None = None
    """The tag set the object gets at completion (``tags_to_json``)."""

    @property
    def checksum_type(self) -> str | None:
        """The upload's checksum type (uploads from before the column: the default)."""
        return self.stored_type or upload_checksum(self.checksum_algorithm, None)

    def to_upload(self) -> Upload:
        return Upload(
            bucket=self.bucket,
            key=self.key.decode("utf-8"),
            upload_id=self.upload_id,
            initiated=from_us(self.initiated),
            meta=meta_from_json(self.meta),
            checksum_algorithm=self.checksum_algorithm,
            checksum_type=self.checksum_type,
        )


@record
class PartRow:
    part_number: int
    etag: str
    size: int
    last_modified: int
    checksums: str
    data_id: str

    def to_part(self) -> Part:
        return Part(
            part_number=self.part_number,
            etag=self.etag,
            size=self.size,
            last_modified=from_us(self.last_modified),
            checksums=json.loads(self.checksums),
        )


def no_such_upload(upload_id: str) -> BackendError:
    return BackendError(
        "NoSuchUpload",
        "The specified multipart upload does not exist. The upload ID might not be valid, "
        "or the multipart upload might have been aborted or completed.",
        extra={"UploadId": upload_id},
    )


def invalid_part(number: int, etag: str) -> BackendError:
    return BackendError(
        "InvalidPart",
        "One or more of the specified parts could not be found. The part may not have been "
        "uploaded, or the specified entity tag may not match the part's entity tag.",
        extra={"PartNumber": str(number), "ETag": etag},
    )


def multipart_etag(part_etags: Sequence[str]) -> str:
    """``md5(concat(binary part md5s))-N``, S3's multipart ETag (unquoted)."""
    digest = hashlib.md5(usedforsecurity=False)
    for etag in part_etags:
        digest.update(bytes.fromhex(etag))
    return f"{digest.hexdigest()}-{len(part_etags)}"


class MultipartStore:
    """Multipart operations over the backend's database and data store."""

    max_object_size: int = MAX_OBJECT_SIZE
    """The largest object a completion makes (5 TiB, as S3; a test lowers it)."""

    def __init__(
        self, db: MetaDB, files: DataStore, *, min_part_size: int, keys: KeySet | None = None
    ) -> None:
        self.db = db
        self.files = files
        self.min_part_size = min_part_size
        self.keys = keys

    def create(
        self,
        bucket: str,
        key: str,
        meta: ObjectMeta,
        *,
        checksum_algorithm: str | None,
        checksum_type: str | None = None,
        object_lock: ObjectLock | None = None,
        tags: Tags = (),
        incarnation: int | None = None,
    ) -> Upload:
        """``incarnation``: the ``created_at`` of the bucket the request's settings were
        read from; the upload is made only in that bucket, not in one made again under
        its name meanwhile (by another worker: nothing here awaits)."""
        checksum_type = upload_checksum(checksum_algorithm, checksum_type)
        upload_id = f"{time.time_ns():016x}{secrets.token_hex(8)}"
        initiated = now_us()
        self.files.make_upload_dir(upload_id)
        try:
            with self.db.write() as conn:
                require_state(conn, bucket, incarnation)
                conn.execute(
                    f"INSERT INTO uploads ({UPLOAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        upload_id,
                        bucket,
                        key.encode("utf-8"),
                        initiated,
                        meta_to_json(meta),
                        checksum_algorithm,
                        lock_to_json(object_lock),
                        checksum_type,
                        tags_to_json(tags),
                    ),
                )
        except BaseException:
            self.files.remove_upload_dir(upload_id)
            raise
        return Upload(
            bucket, key, upload_id, from_us(initiated), meta, checksum_algorithm, checksum_type
        )

    def find_upload(self, upload_id: str) -> UploadRow | None:
        row = self.db.conn.execute(
            f"SELECT {UPLOAD_COLUMNS} FROM uploads WHERE upload_id = ?", (upload_id,)
        ).fetchone()
        return None if row is None else UploadRow(*row)

    def require_upload(self, bucket: str, key: str, upload_id: str) -> UploadRow:
        return self.upload_of(self.find_upload(upload_id), bucket, key, upload_id)

    def upload_of(self, row: UploadRow | None, bucket: str, key: str, upload_id: str) -> UploadRow:
        """``row`` (what :meth:`find_upload` found of ``upload_id``) if it is an upload of
        ``key`` in ``bucket``; else ``NoSuchUpload`` (``NoSuchBucket`` for a bucket gone)."""
        if row is None or row.bucket != bucket or row.key != key.encode("utf-8"):
            self.db.require_bucket(bucket)
            raise no_such_upload(upload_id)
        return row

    def parts(self, upload_id: str, *, after: int = 0, limit: int = -1) -> list[PartRow]:
        rows = self.db.conn.execute(
            f"SELECT {PART_COLUMNS} FROM parts WHERE upload_id = ? AND part_number > ?"
            " ORDER BY part_number LIMIT ?",
            (upload_id, after, limit),
        )
        return [PartRow(*r) for r in rows]

    # -- parts ---------------------------------------------------------------------------

    async def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        body: PayloadStream,
        *,
        content_md5: bytes | None,
        customer: CustomerKey | None = None,
        checksum_algorithm: str | None = None,
    ) -> Part:
        upload = self.require_upload(bucket, key, upload_id)
        if upload.lock is not None and content_md5 is None and checksum_algorithm is None:
            # S3: a part of an upload created with Object Lock settings must come with a
            # digest, as a PutObject with them must (a bucket's default retention alone
            # asks for none, as for PutObject: docs/architecture.md)
            raise BackendError(
                "InvalidRequest",
                "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Part "
                "requests with Object Lock parameters",
            )
        check_part_algorithm(upload.checksum_algorithm, checksum_algorithm)
        # every part is encrypted as the upload was created to be (SSE-C: same key)
        plan = stored_plan(meta_from_json(upload.meta), customer, self.keys)
        data_id = self.files.new_data_id()
        dest = self.files.part_path(upload_id, data_id)
        try:
            received = await self.files.receive(
                body, dest, content_md5=content_md5, sealer=plan.sealer(self.keys)
            )
        except FileNotFoundError:
            raise no_such_upload(upload_id) from None  # aborted while receiving
        row = PartRow(
            part_number,
            plan.etag(received.etag),
            received.size,
            now_us(),
            checksums_to_json(received.checksums),
            data_id,
        )
        await self._commit_part(upload_id, row)
        return plan.describe(row.to_part())

    async def store_part_copy(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        source: ReadAt | int,
        first: int,
        n: int,
        plan: Plan = PLAIN,
        checksum_algorithm: str | None = None,
    ) -> Part:
        """UploadPartCopy's part: ``n`` plaintext bytes of ``source`` from ``first``, stored
        as the upload's ``plan`` says, with the checksum of the upload's algorithm (S3
        computes it for a copied part)."""
        data_id = self.files.new_data_id()
        dest = self.files.part_path(upload_id, data_id)
        sealer = plan.sealer(self.keys)
        checksum = None if checksum_algorithm is None else new_checksum(checksum_algorithm)
        copy = functools.partial(self.files.copy_range, sealer=sealer, checksum=checksum)
        try:
            md5 = await self.files.io.run(copy, source, first, n, dest)
        except FileNotFoundError:
            raise no_such_upload(upload_id) from None
        sums = {}
        if checksum is not None and checksum_algorithm is not None:
            sums[checksum_algorithm] = checksum.b64digest()
        row = PartRow(
            part_number, plan.etag(md5.hex()), n, now_us(), checksums_to_json(sums), data_id
        )
        await self._commit_part(upload_id, row)
        return plan.describe(row.to_part())

    async def _commit_part(self, upload_id: str, row: PartRow) -> None:
        dest = self.files.part_path(upload_id, row.data_id)
        try:
            with self.db.write() as conn:
                if self.find_upload(upload_id) is None:
                    raise no_such_upload(upload_id)
                old = conn.execute(
                    "SELECT data_id FROM parts WHERE upload_id = ? AND part_number = ?",
                    (upload_id, row.part_number),
                ).fetchone()
                conn.execute(
                    f"INSERT OR REPLACE INTO parts (upload_id, {PART_COLUMNS})"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        upload_id,
                        row.part_number,
                        row.etag,
                        row.size,
                        row.last_modified,
                        row.checksums,
                        row.data_id,
                    ),
                )
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                dest.unlink()
            raise
        if old is not None:  # the part uploaded before under this number
            await self.files.drop_files([self.files.part_file(upload_id, old[0])])

    async def abort(self, bucket: str, key: str, upload_id: str) -> None:
        """Like a delete, an abort makes room, so a full disk does not refuse it
        (``MetaDB.freeing``)."""

        def drop(conn: sqlite3.Connection) -> None:
            self.require_upload(bucket, key, upload_id)
            conn.execute("DELETE FROM parts WHERE upload_id = ?", (upload_id,))
            conn.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))

        self.db.freeing(drop, self.files.reserve_released)
        await self.files.drop_upload_dir(upload_id, refill=True)

    # -- listing -------------------------------------------------------------------------

    def list_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        *,
        part_number_marker: int,
        max_parts: int,
        customer: CustomerKey | None = None,
    ) -> PartsPage:
        upload = self.require_upload(bucket, key, upload_id)
        shown = checksums_shown(
            meta_from_json(upload.meta),
            customer,
            self.keys,
            checksum_algorithm=upload.checksum_algorithm,
        )
        rows = self.parts(upload_id, after=part_number_marker, limit=max(max_parts, 0) + 1)
        page = rows[: max(max_parts, 0)]
        parts = (p.to_part() for p in page)
        return PartsPage(
            upload=upload.to_upload(),
            parts=tuple(p if shown else dataclasses.replace(p, checksums={}) for p in parts),
            is_truncated=len(rows) > len(page),
            next_part_number_marker=page[-1].part_number if page else None,
        )


def drop_bucket_uploads(conn: sqlite3.Connection, bucket: str) -> list[str]:
    """Remove every upload of ``bucket`` and its parts inside the caller's write
    transaction (DeleteBucket); return their ids, whose directories the caller removes
    after the commit."""
    ids = [
        str(r[0]) for r in conn.execute("SELECT upload_id FROM uploads WHERE bucket = ?", (bucket,))
    ]
    for upload_id in ids:
        conn.execute("DELETE FROM parts WHERE upload_id = ?", (upload_id,))
    conn.execute("DELETE FROM uploads WHERE bucket = ?", (bucket,))
    return ids
