"""The ``Backend`` interface every storage implementation provides.

Core methods (buckets, objects, listing) are abstract. Optional families (multipart,
copy) default to raising ``BackendError("NotImplemented")`` so a new backend overrides
only what it supports and the gateway answers S3's 501 for the rest.

Rules every implementation keeps:
- A write commits only after the body iterator ended without raising and every check
  passed (``content_md5``, size). On any failure nothing is left behind and the previous
  object (if any) is untouched.
- Bodies are never held whole in memory.
- Errors are ``BackendError`` with AWS's S3 error code.
- Server-side encryption (``encryption=``): a write asking for encryption the backend
  cannot give fails (``NotImplemented``), never silently stores plaintext; the object's
  ``meta`` reports how it was stored. An SSE-C object refuses reads without its key.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

from backends.errors import BackendError
from backends.types import (
    BucketEncryption,
    BucketInfo,
    ByteRange,
    Conditions,
    CopySource,
    DeleteResult,
    Encryption,
    ListPage,
    ObjectInfo,
    ObjectMeta,
    ObjectRead,
    Part,
    PartsPage,
    PayloadStream,
    Upload,
    UploadsPage,
)


def _not_implemented(what: str) -> BackendError:
    return BackendError("NotImplemented", f"{what} is not implemented by this backend")


class Backend(abc.ABC):
    """A place objects live. One instance per gateway process."""

    name: str = "abstract"

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open connections, recover from a crash (temp files, orphans)."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; called once at shutdown."""

    async def ready(self) -> bool:
        """Whether the backend can serve requests now (for ``/ready``)."""
        return True

    # -- buckets -----------------------------------------------------------------------

    @abc.abstractmethod
    async def list_buckets(self) -> Sequence[BucketInfo]: ...

    @abc.abstractmethod
    async def create_bucket(self, bucket: str, *, region: str = "us-east-1") -> BucketInfo:
        """Raise ``BucketAlreadyOwnedByYou`` if it exists."""

    @abc.abstractmethod
    async def head_bucket(self, bucket: str) -> BucketInfo:
        """Raise ``NoSuchBucket`` if it does not exist."""

    @abc.abstractmethod
    async def delete_bucket(self, bucket: str) -> None:
        """Raise ``NoSuchBucket`` or ``BucketNotEmpty`` (objects or uploads in progress)."""

    async def bucket_stats(self, bucket: str) -> tuple[int, int]:
        """(object count, total bytes)."""
        raise _not_implemented("bucket statistics")

    # -- default encryption (optional) -------------------------------------------------

    async def get_bucket_encryption(self, bucket: str) -> BucketEncryption:
        """Raise ``ServerSideEncryptionConfigurationNotFoundError`` when unset."""
        raise _not_implemented("bucket encryption")

    async def put_bucket_encryption(self, bucket: str, config: BucketEncryption) -> None:
        raise _not_implemented("bucket encryption")

    async def delete_bucket_encryption(self, bucket: str) -> None:
        """Idempotent: removing an unset default succeeds."""
        raise _not_implemented("bucket encryption")

    # -- objects -----------------------------------------------------------------------

    @abc.abstractmethod
    async def put_object(
        self,
        bucket: str,
        key: str,
        body: PayloadStream,
        meta: ObjectMeta,
        *,
        content_md5: bytes | None = None,
        size_hint: int | None = None,
        encryption: Encryption | None = None,
    ) -> ObjectInfo:
        """Store ``body`` under ``key``; ETag is the MD5 hex of the bytes (SSE-C: not).

        ``content_md5`` (16 raw bytes) is checked before commit (``BadDigest``).
        Checksums from ``body.checksums`` are stored with the object. ``encryption``
        (or else the bucket's default) decides how the bytes are stored.
        """

    @abc.abstractmethod
    async def get_object(
        self,
        bucket: str,
        key: str,
        *,
        byte_range: ByteRange | None = None,
        part_number: int | None = None,
        conditions: Conditions | None = None,
        version_id: str | None = None,
        encryption: Encryption | None = None,
    ) -> ObjectRead:
        """Open the object. Raises ``NoSuchBucket``, ``NoSuchKey``, ``InvalidRange``
        (with ``extra={"ActualObjectSize": size}``), ``PreconditionFailed`` or
        ``NotModified`` (see ``backends.conditions``). ``encryption.customer`` is the key
        of an SSE-C object (without it: ``InvalidRequest``; another: ``AccessDenied``)."""

    @abc.abstractmethod
    async def head_object(
        self,
        bucket: str,
        key: str,
        *,
        conditions: Conditions | None = None,
        version_id: str | None = None,
        encryption: Encryption | None = None,
    ) -> ObjectInfo: ...

    @abc.abstractmethod
    async def delete_object(self, bucket: str, key: str, *, version_id: str | None = None) -> None:
        """Idempotent: deleting a missing key succeeds. Raises ``NoSuchBucket``."""

    async def delete_objects(
        self, bucket: str, keys: Sequence[tuple[str, str | None]]
    ) -> Sequence[DeleteResult]:
        """Delete (key, version_id) pairs; one result per pair, in order."""
        results = []
        for key, version_id in keys:
            try:
                await self.delete_object(bucket, key, version_id=version_id)
                results.append(DeleteResult(key=key, version_id=version_id))
            except BackendError as exc:
                if exc.code == "NoSuchBucket":
                    raise
                results.append(
                    DeleteResult(
                        key=key,
                        version_id=version_id,
                        error_code=exc.code,
                        error_message=exc.message,
                    )
                )
        return results

    async def copy_object(
        self,
        source: CopySource,
        bucket: str,
        key: str,
        *,
        meta: ObjectMeta | None = None,
        encryption: Encryption | None = None,
    ) -> ObjectInfo:
        """Copy; ``meta=None`` keeps the source's metadata (directive COPY). The copy is
        encrypted as ``encryption`` (or the destination bucket's default) says, never as
        the source was; ``encryption.copy_source_customer`` opens an SSE-C source."""
        raise _not_implemented("CopyObject")

    @abc.abstractmethod
    async def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        marker: str | None = None,
        max_keys: int = 1000,
    ) -> ListPage:
        """Keys > ``marker`` in UTF-8 byte order, rolled up at ``delimiter`` after ``prefix``.

        When ``marker`` is itself a common prefix (ends with the delimiter and extends
        ``prefix``), every key under it is skipped: a page never restarts inside a
        group already returned. Cost is proportional to the page, not the bucket.
        """

    # -- multipart -----------------------------------------------------------------------

    async def create_multipart_upload(
        self,
        bucket: str,
        key: str,
        meta: ObjectMeta,
        *,
        checksum_algorithm: str | None = None,
        encryption: Encryption | None = None,
    ) -> Upload:
        """``encryption`` (or the bucket's default) is fixed for every part."""
        raise _not_implemented("multipart upload")

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
    ) -> Part:
        """Raises ``NoSuchUpload``. A part re-sent with the same number replaces it.
        ``encryption.customer``: the upload's SSE-C key, required for such uploads."""
        raise _not_implemented("multipart upload")

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
        raise _not_implemented("UploadPartCopy")

    async def complete_multipart_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[tuple[int, str]],
        *,
        encryption: Encryption | None = None,
    ) -> ObjectInfo:
        """``parts`` are (part number, unquoted ETag) as the client listed them;
        ``encryption.customer`` is an SSE-C upload's key when the client sent it (S3 does
        not require it here).

        Raises ``InvalidPartOrder`` (not ascending), ``InvalidPart`` (unknown part or ETag
        mismatch), ``EntityTooSmall`` (a part other than the last below 5 MiB),
        ``NoSuchUpload``. The object's ETag is ``md5(concat(part md5 digests))-N``.
        """
        raise _not_implemented("multipart upload")

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        raise _not_implemented("multipart upload")

    async def list_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        *,
        part_number_marker: int = 0,
        max_parts: int = 1000,
    ) -> PartsPage:
        raise _not_implemented("multipart upload")

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
        raise _not_implemented("multipart upload")
