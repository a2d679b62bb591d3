"""The multipart operations of ``FilesystemBackend`` (a mixin over ``multipart.py``,
``completion.py`` and ``upload_listing.py``), and GetObjectAttributes, which lists the
parts a completion recorded."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from backends.conditions import check_conditions
from backends.errors import BackendError
from backends.filesystem.bodies import open_for_read
from backends.filesystem.columns import meta_from_json
from backends.filesystem.completion import complete, retried
from backends.filesystem.encryption import KeySet
from backends.filesystem.files import DataStore
from backends.filesystem.inline import is_inline
from backends.filesystem.metadb import MetaDB, ObjectRow
from backends.filesystem.multipart import MultipartStore
from backends.filesystem.objects import (
    COPY_ATTEMPTS,
    check_source_data,
    source_kept_changing,
    source_reader,
)
from backends.filesystem.sse import (
    completion_key,
    default_algorithm,
    read_key,
    request_customer,
    source_customer,
    stored_plan,
    write_plan,
)
from backends.filesystem.upload_listing import list_uploads
from backends.ranges import MAX_PART_SIZE, check_part_copy_size, part_copy_range
from backends.types import (
    BucketEncryption,
    CompletedUpload,
    CompletionChecksums,
    CopySource,
    CustomerKey,
    Encryption,
    ObjectAttributes,
    ObjectInfo,
    ObjectLock,
    ObjectMeta,
    ObjectPart,
    Part,
    PartsPage,
    PayloadStream,
    Tags,
    Upload,
    UploadsPage,
    WriteCondition,
)

__all__ = ["MultipartMixin", "object_parts"]


def object_parts(row: ObjectRow) -> list[ObjectPart]:
    """The parts a completion recorded in the row (none for an object not made of parts)."""
    if row.parts is None:
        return []
    return [
        ObjectPart(int(entry[0]), int(entry[1]), entry[2] if len(entry) > 2 else {})
        for entry in json.loads(row.parts)
    ]


def _shown(info: ObjectInfo, customer: CustomerKey | None) -> ObjectInfo:
    """A completion's answer: an SSE-C object's checksums only with its key."""
    if customer is None and info.meta.sse_customer_algorithm is not None:
        return dataclasses.replace(info, checksums={})
    return info


class MultipartMixin:
    """Needs the backend's ``db``, ``mp``, ``files``, ``keys``, ``write_settings``, ``find`` and
    ``find_copy_source``."""

    keys: KeySet | None
    files: DataStore
    max_part_copy: int = MAX_PART_SIZE
    """The largest source (range) an UploadPartCopy or a CopyObject takes (a test lowers
    it)."""

    if TYPE_CHECKING:  # provided by FilesystemBackend and VersioningMixin

        @property
        def db(self) -> MetaDB: ...

        @property
        def mp(self) -> MultipartStore: ...

        def write_settings(
            self, bucket: str, object_lock: ObjectLock | None
        ) -> tuple[BucketEncryption | None, int]: ...

        def find(self, bucket: str, key: str, version_id: str | None = None) -> ObjectRow: ...

        def find_copy_source(self, source: CopySource) -> ObjectRow: ...

    async def create_multipart_upload(
        self,
        bucket: str,
        key: str,
        meta: ObjectMeta,
        *,
        checksum_algorithm: str | None = None,
        checksum_type: str | None = None,
        encryption: Encryption | None = None,
        object_lock: ObjectLock | None = None,
        tags: Tags = (),
    ) -> Upload:
        default, made = self.write_settings(bucket, object_lock)
        plan = write_plan(encryption, default_algorithm(default), self.keys)
        meta = plan.apply(meta, self.keys)
        return self.mp.create(
            bucket,
            key,
            meta,
            checksum_algorithm=checksum_algorithm,
            checksum_type=checksum_type,
            object_lock=object_lock,
            tags=tags,
            incarnation=made,
        )

    async def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        body: PayloadStream,
        *,
        content_md5: bytes | None = None,
        size_hint: int | None = None,
        encryption: Encryption | None = None,
        checksum_algorithm: str | None = None,
    ) -> Part:
        return await self.mp.upload_part(
            bucket,
            key,
            upload_id,
            part_number,
            body,
            content_md5=content_md5,
            customer=request_customer(encryption),
            checksum_algorithm=checksum_algorithm,
        )

    async def upload_part_copy(
        self,
        source: CopySource,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        *,
        encryption: Encryption | None = None,
    ) -> Part:
        upload = self.mp.require_upload(bucket, key, upload_id)
        plan = stored_plan(meta_from_json(upload.meta), request_customer(encryption), self.keys)
        missing: set[str] = set()
        for _attempt in range(COPY_ATTEMPTS):
            src = self.find_copy_source(source)
            check_source_data(src.data_id, missing)
            src_meta = meta_from_json(src.meta)
            src_key = read_key(src_meta, source_customer(encryption), self.keys)
            check_conditions(src.to_info(source.bucket), source.conditions, is_copy_source=True)
            first, last = part_copy_range(source.byte_range, src.size)
            check_part_copy_size(last - first + 1, self.max_part_copy)
            if is_inline(src.data_id):
                data = self.db.inline(src.data_id)
                if data is None:
                    continue  # the source was replaced meanwhile: read it again
                part = await self.mp.store_part_copy(
                    bucket,
                    key,
                    upload_id,
                    part_number,
                    source_reader(data, src, src_meta, self.keys, src_key),
                    first,
                    last - first + 1,
                    plan,
                    checksum_algorithm=upload.checksum_algorithm,
                )
                return dataclasses.replace(part, source_version_id=src.version_id)
            try:
                fd = open_for_read(self.files.object_path(src.data_id))
            except FileNotFoundError:
                continue
            try:
                reader = source_reader(fd, src, src_meta, self.keys, src_key)
                part = await self.mp.store_part_copy(
                    bucket,
                    key,
                    upload_id,
                    part_number,
                    reader,
                    first,
                    last - first + 1,
                    plan,
                    checksum_algorithm=upload.checksum_algorithm,
                )
                return dataclasses.replace(part, source_version_id=src.version_id)
            finally:
                os.close(fd)
        raise source_kept_changing()

    async def complete_multipart_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[tuple[int, str]],
        *,
        encryption: Encryption | None = None,
        checksums: CompletionChecksums | None = None,
        condition: WriteCondition | None = None,
        object_size: int | None = None,
    ) -> CompletedUpload:
        # an SSE-C upload: a key given must be the upload's; without it, no checksum is
        # compared (refused) nor shown (sse.completion_key)
        customer = request_customer(encryption)
        upload = self.mp.find_upload(upload_id)
        if upload is not None:
            completion_key(
                meta_from_json(upload.meta),
                customer,
                self.keys,
                checksum_algorithm=upload.checksum_algorithm,
                checksums=checksums,
            )
        try:
            row, doomed = await complete(
                self.mp,
                bucket,
                key,
                upload_id,
                parts,
                found=upload,
                checksums=checksums,
                condition=condition,
                object_size=object_size,
            )
        except BackendError as exc:
            if exc.code != "NoSuchUpload":
                raise
            done = retried(
                self.mp,
                bucket,
                key,
                upload_id,
                parts,
                customer=customer,
                checksums=checksums,
                object_size=object_size,
            )
            if done is None:
                raise
            return CompletedUpload.of(_shown(done, customer), retried=True)
        await self.files.drop_files(self.files.object_files(doomed))
        return CompletedUpload.of(_shown(row.to_info(bucket), customer), retried=False)

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        await self.mp.abort(bucket, key, upload_id)

    async def list_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        *,
        part_number_marker: int = 0,
        max_parts: int = 1000,
        encryption: Encryption | None = None,
    ) -> PartsPage:
        return self.mp.list_parts(
            bucket,
            key,
            upload_id,
            part_number_marker=part_number_marker,
            max_parts=max_parts,
            customer=request_customer(encryption),
        )

    async def list_multipart_uploads(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        key_marker: str | None = None,
        upload_id_marker: str | None = None,
        max_uploads: int = 1000,
    ) -> UploadsPage:
        return list_uploads(
            self.db,
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            upload_id_marker=upload_id_marker,
            max_uploads=max_uploads,
        )

    async def get_object_attributes(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        encryption: Encryption | None = None,
        max_parts: int = 1000,
        part_number_marker: int = 0,
    ) -> ObjectAttributes:
        row = self.find(bucket, key, version_id)
        info = row.to_info(bucket)
        read_key(info.meta, request_customer(encryption), self.keys)
        if row.parts is None:
            return ObjectAttributes(info=info)
        parts = object_parts(row)
        after = [p for p in parts if p.part_number > part_number_marker]
        page = after[: max(max_parts, 0)]
        return ObjectAttributes(
            info=info,
            total_parts=len(parts),
            parts=tuple(page),
            is_truncated=len(after) > len(page),
            next_part_number_marker=page[-1].part_number if page else None,
        )
