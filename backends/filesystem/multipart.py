"""Multipart uploads for the filesystem backend.

An upload is a row in ``uploads``; each part a row in ``parts`` plus a file
``parts/<upload id>/<random id>``. Completion concatenates the listed part files into one
new object data file (in a thread), then in one transaction removes the upload and writes
the object row with its part boundaries (for GET ``partNumber``).

Upload ids are ``<16 hex digits of nanoseconds><16 random hex digits>``, so sorting by id
within a key is sorting by initiation time, which is the order S3 lists uploads of one key
in and the order its ``upload-id-marker`` compares in.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import itertools
import json
import secrets
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from backends.errors import BackendError
from backends.filesystem.encryption import KeySet, ReadAt
from backends.filesystem.files import DataStore, new_id
from backends.filesystem.listing import Cursor, common_prefix, list_page, start_after
from backends.filesystem.metadb import (
    MetaDB,
    ObjectRow,
    checksums_to_json,
    from_us,
    lock_from_json,
    lock_to_json,
    meta_from_json,
    meta_to_json,
    now_us,
)
from backends.filesystem.sse import PLAIN, Plan, stored_plan
from backends.filesystem.versions import bucket_state, write_version
from backends.types import (
    CustomerKey,
    ObjectLock,
    ObjectMeta,
    Part,
    PartsPage,
    PayloadStream,
    Upload,
    UploadsPage,
)

UPLOAD_COLUMNS = "upload_id, bucket, key, initiated, meta, checksum_algorithm, lock"
PART_COLUMNS = "part_number, etag, size, last_modified, checksums, data_id"


@dataclass(frozen=True, slots=True)
class UploadRow:
    upload_id: str
    bucket: str
    key: bytes
    initiated: int
    meta: str
    checksum_algorithm: str | None
    lock: str | None
    """The Object Lock settings CreateMultipartUpload asked for (``lock_to_json``)."""

    def to_upload(self) -> Upload:
        return Upload(
            bucket=self.bucket,
            key=self.key.decode("utf-8"),
            upload_id=self.upload_id,
            initiated=from_us(self.initiated),
            meta=meta_from_json(self.meta),
            checksum_algorithm=self.checksum_algorithm,
        )


@dataclass(frozen=True, slots=True)
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


def composite_checksum(algorithm: str, values: Sequence[str]) -> str | None:
    """S3's composite checksum: the checksum of the concatenated part checksums, ``-N``."""
    raw = b"".join(base64.b64decode(v) for v in values)
    digest: bytes
    if algorithm == "SHA1":
        digest = hashlib.sha1(raw, usedforsecurity=False).digest()
    elif algorithm == "SHA256":
        digest = hashlib.sha256(raw).digest()
    elif algorithm == "CRC32":
        digest = zlib.crc32(raw).to_bytes(4, "big")
    elif algorithm == "CRC32C":
        try:
            from awscrt import checksums  # type: ignore[import-not-found,unused-ignore]
        except ImportError:  # pragma: no cover - awscrt is a dependency
            return None
        digest = int(checksums.crc32c(raw)).to_bytes(4, "big")
    else:
        return None  # CRC64NVME objects carry full-object checksums only
    return f"{base64.b64encode(digest).decode('ascii')}-{len(values)}"


class MultipartStore:
    """Multipart operations over the backend's database and data store."""

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
        object_lock: ObjectLock | None = None,
    ) -> Upload:
        upload_id = f"{time.time_ns():016x}{secrets.token_hex(8)}"
        initiated = now_us()
        self.files.make_upload_dir(upload_id)
        try:
            with self.db.write() as conn:
                self.db.require_bucket(bucket)
                conn.execute(
                    f"INSERT INTO uploads ({UPLOAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        upload_id,
                        bucket,
                        key.encode("utf-8"),
                        initiated,
                        meta_to_json(meta),
                        checksum_algorithm,
                        lock_to_json(object_lock),
                    ),
                )
        except BaseException:
            self.files.remove_upload_dir(upload_id)
            raise
        return Upload(bucket, key, upload_id, from_us(initiated), meta, checksum_algorithm)

    def find_upload(self, upload_id: str) -> UploadRow | None:
        row = self.db.conn.execute(
            f"SELECT {UPLOAD_COLUMNS} FROM uploads WHERE upload_id = ?", (upload_id,)
        ).fetchone()
        return None if row is None else UploadRow(*row)

    def require_upload(self, bucket: str, key: str, upload_id: str) -> UploadRow:
        row = self.find_upload(upload_id)
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
    ) -> Part:
        upload = self.require_upload(bucket, key, upload_id)
        # every part is encrypted as the upload was created to be (SSE-C: same key)
        plan = stored_plan(meta_from_json(upload.meta), customer, self.keys)
        data_id = new_id()
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
        self._commit_part(upload_id, row)
        return row.to_part()

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
    ) -> Part:
        """UploadPartCopy's part: ``n`` plaintext bytes of ``source`` from ``first``, stored
        as the upload's ``plan`` says."""
        data_id = new_id()
        dest = self.files.part_path(upload_id, data_id)
        sealer = plan.sealer(self.keys)
        try:
            md5 = await self.files.io.run(
                functools.partial(self.files.copy_range, sealer=sealer), source, first, n, dest
            )
        except FileNotFoundError:
            raise no_such_upload(upload_id) from None
        row = PartRow(part_number, plan.etag(md5.hex()), n, now_us(), "{}", data_id)
        self._commit_part(upload_id, row)
        return row.to_part()

    def _commit_part(self, upload_id: str, row: PartRow) -> None:
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
        if old is not None:
            with contextlib.suppress(FileNotFoundError):
                self.files.part_path(upload_id, old[0]).unlink()

    # -- completion ----------------------------------------------------------------------

    async def complete(
        self, bucket: str, key: str, upload_id: str, listed: Sequence[tuple[int, str]]
    ) -> tuple[ObjectRow, list[str]]:
        """Assemble the object; return its row (with its version id) and the data ids it
        replaced (to unlink)."""
        upload = self.require_upload(bucket, key, upload_id)
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
        stored = {p.part_number: p for p in self.parts(upload_id)}
        chosen: list[PartRow] = []
        for number, etag in listed:
            part = stored.get(number)
            if part is None or part.etag != etag.strip('"'):
                raise invalid_part(number, etag)
            chosen.append(part)
        for part in chosen[:-1]:
            if part.size < self.min_part_size:
                raise BackendError(
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed object size.",
                    extra={
                        "ProposedSize": str(part.size),
                        "MinSizeAllowed": str(self.min_part_size),
                        "PartNumber": str(part.part_number),
                        "ETag": part.etag,
                    },
                )
        data_id = new_id()
        sources = [self.files.part_path(upload_id, p.data_id) for p in chosen]
        try:
            await self.files.io.run(
                self.files.concatenate, sources, self.files.object_path(data_id)
            )
        except FileNotFoundError:
            raise no_such_upload(upload_id) from None  # aborted or completed meanwhile
        row = ObjectRow(
            key=upload.key,
            size=sum(p.size for p in chosen),
            etag=multipart_etag([p.etag for p in chosen]),
            last_modified=now_us(),
            meta=upload.meta,
            checksums=self._checksums(upload, chosen),
            parts=json.dumps([[p.part_number, p.size] for p in chosen], separators=(",", ":")),
            data_id=data_id,
        )
        try:
            with self.db.write() as conn:
                state = bucket_state(conn, bucket)
                if state is None:
                    self.db.require_bucket(bucket)
                    raise AssertionError("unreachable")
                current = {p.part_number: p.data_id for p in self.parts(upload_id)}
                if any(current.get(p.part_number) != p.data_id for p in chosen):
                    raise no_such_upload(upload_id)  # parts changed or upload gone
                version_id, doomed = write_version(
                    conn, bucket, state, row, lock_from_json(upload.lock)
                )
                conn.execute("DELETE FROM parts WHERE upload_id = ?", (upload_id,))
                conn.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
        except BaseException:
            self.files.unlink_object(data_id)
            raise
        self.files.remove_upload_dir(upload_id)
        return row._replace(version_id=version_id), doomed

    @staticmethod
    def _checksums(upload: UploadRow, chosen: Sequence[PartRow]) -> str:
        algorithm = upload.checksum_algorithm
        if algorithm is None:
            return "{}"
        values: list[Any] = [json.loads(p.checksums).get(algorithm) for p in chosen]
        if any(v is None for v in values):
            return "{}"
        value = composite_checksum(algorithm, values)
        return "{}" if value is None else checksums_to_json({algorithm: value})

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        with self.db.write() as conn:
            self.require_upload(bucket, key, upload_id)
            conn.execute("DELETE FROM parts WHERE upload_id = ?", (upload_id,))
            conn.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
        self.files.remove_upload_dir(upload_id)

    # -- listing -------------------------------------------------------------------------

    def list_parts(
        self, bucket: str, key: str, upload_id: str, *, part_number_marker: int, max_parts: int
    ) -> PartsPage:
        upload = self.require_upload(bucket, key, upload_id)
        rows = self.parts(upload_id, after=part_number_marker, limit=max(max_parts, 0) + 1)
        page = rows[: max(max_parts, 0)]
        return PartsPage(
            upload=upload.to_upload(),
            parts=tuple(p.to_part() for p in page),
            is_truncated=len(rows) > len(page),
            next_part_number_marker=page[-1].part_number if page else None,
        )

    def list_uploads(
        self,
        bucket: str,
        *,
        prefix: str,
        delimiter: str | None,
        key_marker: str | None,
        upload_id_marker: str | None,
        max_uploads: int,
    ) -> UploadsPage:
        self.db.require_bucket(bucket)
        conn = self.db.conn
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
