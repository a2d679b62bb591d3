"""The ``Backend`` interface every storage implementation provides.

Core methods (buckets, objects, listing) are abstract. Optional families (multipart,
copy, versioning, Object Lock) default to raising ``BackendError("NotImplemented")`` so a
new backend overrides only what it supports and the gateway answers S3's 501 for the rest.

Rules every implementation keeps:
- A write commits only after the body iterator ended without raising and every check
  passed (``content_md5``, size). On any failure nothing is left behind and the previous
  object (if any) is untouched.
- Bodies are never held whole in memory.
- Errors are ``BackendError`` with AWS's S3 error code.
- Server-side encryption (``encryption=``): a write asking for encryption the backend
  cannot give fails (``NotImplemented``), never silently stores plaintext; the object's
  ``meta`` reports how it was stored. An SSE-C object refuses reads without its key.
- Conditional writes (``condition=``, a ``WriteCondition``) are decided where the write
  commits, atomically with it: exactly one of several racing writes with
  ``If-None-Match: *`` creates the key (``backends.conditions.check_write``). A backend
  that cannot decide atomically refuses them (``NotImplemented``), never ignores them.
  Conditional deletes (``if_match=`` / ``etags=``) alike: decided with the delete
  (``backends.conditions.check_delete``), refused rather than ignored.
- Version ids are the backend's: it decides which ids are well formed (``InvalidArgument``
  "Invalid version id specified" otherwise) and which exist (``NoSuchVersion``).
- Versioning follows S3: in an ``Enabled`` bucket every write adds a version and a delete
  without a version id adds a delete marker; in a ``Suspended`` bucket writes and such
  deletes replace the ``null`` version; a never-versioned bucket behaves as if every
  object were its one ``null`` version (and reports ``version_id=None``). The latest
  version being a delete marker makes reads of the key answer ``NoSuchKey`` with
  ``extra={"DeleteMarker": "true", "VersionId": id}``; reading a marker by its version id
  is ``MethodNotAllowed`` with the same extra fields.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

from backends.errors import BackendError
from backends.types import (
    BucketEncryption,
    BucketInfo,
    ByteRange,
    CompletedUpload,
    CompletionChecksums,
    Conditions,
    CopiedObject,
    CopySource,
    DeleteResult,
    Encryption,
    ListPage,
    ObjectAttributes,
    ObjectInfo,
    ObjectLock,
    ObjectLockConfig,
    ObjectMeta,
    ObjectRead,
    ObjectTagging,
    Part,
    PartsPage,
    PayloadStream,
    Tags,
    Upload,
    UploadsPage,
    VersionsPage,
    WriteCondition,
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
    async def create_bucket(
        self, bucket: str, *, region: str = "us-east-1", object_lock: bool = False
    ) -> BucketInfo:
        """Raise ``BucketAlreadyOwnedByYou`` if it exists. ``object_lock=True`` creates the
        bucket with Object Lock enabled, which turns versioning on."""

    @abc.abstractmethod
    async def head_bucket(self, bucket: str) -> BucketInfo:
        """Raise ``NoSuchBucket`` if it does not exist."""

    @abc.abstractmethod
    async def delete_bucket(self, bucket: str) -> None:
        """Raise ``NoSuchBucket`` or ``BucketNotEmpty`` (objects, versions or delete
        markers). Multipart uploads in progress do not keep a bucket: they are aborted
        with it, as S3 does."""

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

    # -- versioning (optional) -------------------------------------------------------------

    async def get_bucket_versioning(self, bucket: str) -> str | None:
        """``"Enabled"``, ``"Suspended"`` or None (never versioned: the default for a
        backend without versioning)."""
        await self.head_bucket(bucket)
        return None

    async def put_bucket_versioning(self, bucket: str, status: str) -> None:
        """Set ``"Enabled"`` or ``"Suspended"``. Suspending a bucket with Object Lock is
        ``InvalidBucketState``."""
        raise _not_implemented("bucket versioning")

    async def list_object_versions(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        key_marker: str | None = None,
        version_id_marker: str | None = None,
        max_keys: int = 1000,
    ) -> VersionsPage:
        """Versions and delete markers of the keys after ``key_marker`` (or, with
        ``version_id_marker``, after that version of ``key_marker``), rolled up at
        ``delimiter`` like ``list_objects``; newest first within a key. Cost follows the
        page, not the number of keys or versions."""
        raise _not_implemented("ListObjectVersions")

    # -- Object Lock (optional) ------------------------------------------------------------

    async def get_object_lock_configuration(self, bucket: str) -> ObjectLockConfig:
        """Raise ``ObjectLockConfigurationNotFoundError`` for a bucket without Object Lock."""
        raise _not_implemented("Object Lock")

    async def put_object_lock_configuration(self, bucket: str, config: ObjectLockConfig) -> None:
        """Set the default retention. Enabling Object Lock on a bucket created without it
        needs versioning ``Enabled`` (``InvalidBucketState`` otherwise)."""
        raise _not_implemented("Object Lock")

    async def get_object_lock(
        self, bucket: str, key: str, *, version_id: str | None = None
    ) -> ObjectLock:
        """The retention and legal hold of a version. ``InvalidRequest`` "Bucket is
        missing Object Lock Configuration" for a bucket without Object Lock."""
        raise _not_implemented("Object Lock")

    async def put_object_retention(
        self,
        bucket: str,
        key: str,
        lock: ObjectLock,
        *,
        version_id: str | None = None,
        bypass_governance: bool = False,
    ) -> None:
        """Set (``lock.mode`` given) or remove the retention period of a version, by the
        rules of ``backends.locks.check_retention_change``."""
        raise _not_implemented("Object Lock")

    async def put_object_legal_hold(
        self, bucket: str, key: str, on: bool, *, version_id: str | None = None
    ) -> None:
        raise _not_implemented("Object Lock")

    # -- object tagging (optional) ---------------------------------------------------------

    async def get_object_tagging(
        self, bucket: str, key: str, *, version_id: str | None = None
    ) -> ObjectTagging:
        """The tag set of a version (None: the latest), as ``head_object`` finds it:
        ``NoSuchKey`` (a delete marker's extra fields when the latest version is one),
        ``NoSuchVersion``, ``MethodNotAllowed`` for a delete marker's id."""
        raise _not_implemented("object tagging")

    async def put_object_tagging(
        self, bucket: str, key: str, tags: Tags, *, version_id: str | None = None
    ) -> str | None:
        """Replace a version's tag set (an empty one removes it); neither the data nor
        the version changes. Returns the version id tagged (None: never versioned)."""
        raise _not_implemented("object tagging")

    async def delete_object_tagging(
        self, bucket: str, key: str, *, version_id: str | None = None
    ) -> str | None:
        """Remove a version's tag set; the version id, as ``put_object_tagging``."""
        return await self.put_object_tagging(bucket, key, (), version_id=version_id)

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
        object_lock: ObjectLock | None = None,
        condition: WriteCondition | None = None,
        tags: Tags = (),
    ) -> ObjectInfo:
        """Store ``body`` under ``key``; ETag is the MD5 hex of the bytes (SSE-C: not).

        ``content_md5`` (16 raw bytes) is checked before commit (``BadDigest``).
        Checksums from ``body.checksums`` are stored with the object. ``encryption``
        (or else the bucket's default) decides how the bytes are stored. ``object_lock``
        (retention, legal hold) needs a bucket with Object Lock; without one the bucket's
        default retention, if any, applies. ``condition`` is checked before the body is
        read and again atomically with the commit (see the module docstring). ``tags``
        become the new version's tag set. The result carries the new version id.
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
        of an SSE-C object (without it: ``InvalidRequest``; another: ``AccessDenied``).
        ``part_number`` beyond the object's parts (any but 1 for an object not made of
        parts) is ``InvalidPartNumber``."""

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

    async def describe_object(
        self, bucket: str, key: str, *, version_id: str | None = None
    ) -> ObjectInfo:
        """What ``head_object`` finds, for the gateway itself, without an SSE-C key:
        operations on an object's ACL, and the lifecycle sweeper, read an SSE-C object's
        version, ETag and date as S3 does, without its key (a ``head_object`` without it
        is ``InvalidRequest``). Never answered to a client as an object's headers. This
        default asks ``head_object``, and when the store refuses it (an SSE-C object)
        finds the version in ``list_object_versions``, which needs no key: one page per
        1,000 versions of the key before the one asked for."""
        try:
            return await self.head_object(bucket, key, version_id=version_id)
        except BackendError as exc:
            if exc.code != "InvalidRequest":
                raise
            # looked up in here, not after: a local keeping the refusal would hold it
            # and this frame (on its traceback) in a reference cycle
            try:
                found = await self._listed_version(bucket, key, version_id)
            except BackendError:
                found = None
            if found is None:
                raise
            return found

    async def _listed_version(
        self, bucket: str, key: str, version_id: str | None
    ) -> ObjectInfo | None:
        """The version (None: the latest) as a listing shows it; None when it is not
        there or is a delete marker. In a bucket never versioned the object's entry in
        ``list_objects`` (the listing the lifecycle sweeper reads there: SeaweedFS gives
        an SSE-C object another ETag in its version listing), else its entry in
        ``list_object_versions``."""
        if version_id is None and await self.get_bucket_versioning(bucket) is None:
            page = await self.list_objects(bucket, prefix=key, max_keys=1)
            return next((info for info in page.objects if info.key == key), None)
        key_marker: str | None = None
        version_marker: str | None = None
        while True:
            versions = await self.list_object_versions(
                bucket, prefix=key, key_marker=key_marker, version_id_marker=version_marker
            )
            for entry in versions.versions:
                if entry.info.key != key:
                    return None  # past the key's versions (they sort first)
                if entry.is_latest if version_id is None else entry.info.version_id == version_id:
                    return None if entry.delete_marker else entry.info
            if not versions.is_truncated or versions.next_version_id_marker is None:
                return None
            key_marker = versions.next_key_marker
            version_marker = versions.next_version_id_marker

    @abc.abstractmethod
    async def delete_object(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        bypass_governance: bool = False,
        if_match: str | None = None,
    ) -> DeleteResult:
        """Idempotent: deleting a missing key succeeds. Raises ``NoSuchBucket``; deleting
        a version that Object Lock protects raises ``AccessDenied``.

        ``if_match`` (an unquoted ETag, or ``*``; never with ``version_id``) makes the
        delete conditional on the key's current object, decided atomically with the
        delete (``backends.conditions.check_delete``): ``NoSuchKey`` when there is none
        (or the latest version is a delete marker), ``PreconditionFailed`` when its ETag
        differs. A backend that cannot decide it atomically raises ``NotImplemented``:
        it never deletes unconditionally."""

    async def delete_objects(
        self,
        bucket: str,
        keys: Sequence[tuple[str, str | None]],
        *,
        bypass_governance: bool = False,
        etags: Sequence[str | None] | None = None,
    ) -> Sequence[DeleteResult]:
        """Delete (key, version_id) pairs; one result per pair, in order. ``etags``: one
        per pair (DeleteObjects' ``<ETag>``: ``delete_object``'s ``if_match``), or None
        when no key has one; a condition that fails is that key's result."""
        results = []
        for i, (key, version_id) in enumerate(keys):
            try:
                results.append(
                    await self.delete_object(
                        bucket,
                        key,
                        version_id=version_id,
                        bypass_governance=bypass_governance,
                        if_match=None if etags is None else etags[i],
                    )
                )
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
        object_lock: ObjectLock | None = None,
        condition: WriteCondition | None = None,
        tags: Tags | None = None,
        checksum_algorithm: str | None = None,
    ) -> CopiedObject:
        """Copy (``source.version_id`` names a version, None the latest); ``meta=None``
        keeps the source's metadata (directive COPY), ``tags=None`` the source's tag set
        (``x-amz-tagging-directive: COPY``), else the copy gets ``tags``. The copy is
        encrypted as ``encryption`` (or the destination bucket's default) says, never as the
        source was;
        ``encryption.copy_source_customer`` opens an SSE-C source. The copy's Object Lock
        settings come from ``object_lock`` (or the destination's default retention), never
        from the source. ``condition`` applies to the destination key. The copy carries
        the source's checksums, except that ``checksum_algorithm`` (CopyObject's
        ``x-amz-checksum-algorithm``, an upper-case name of ``sigv4.ALGORITHMS``) gives it a
        FULL_OBJECT checksum of that algorithm instead, computed from the bytes where the
        source has none (a backend that cannot compute one raises ``NotImplemented``). The
        answer names the source version copied (``source_version_id``)."""
        raise _not_implemented("CopyObject")

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
        """The object (errors as ``head_object``) and a page of its parts: those after
        ``part_number_marker``, at most ``max_parts``. This default knows the part count
        only (``ObjectInfo.parts_count``); backends that keep parts list them."""
        info = await self.head_object(bucket, key, version_id=version_id, encryption=encryption)
        return ObjectAttributes(info=info, total_parts=info.parts_count)

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
        checksum_type: str | None = None,
        encryption: Encryption | None = None,
        object_lock: ObjectLock | None = None,
        tags: Tags = (),
    ) -> Upload:
        """``encryption`` (or the bucket's default) is fixed for every part;
        ``object_lock`` and ``tags`` are applied to the object at completion.
        ``checksum_algorithm`` and ``checksum_type`` (already checked:
        ``backends.checksums.upload_checksum``) are fixed for every part too."""
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
        checksum_algorithm: str | None = None,
    ) -> Part:
        """Raises ``NoSuchUpload``. A part re-sent with the same number replaces it (the
        old part's bytes are freed). ``encryption.customer``: the upload's SSE-C key,
        required for such uploads. ``checksum_algorithm`` is the algorithm the body's
        checksum is verified with (known before the body): an upload created with an
        algorithm refuses parts without it (``backends.checksums.check_part_algorithm``)."""
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
        checksums: CompletionChecksums | None = None,
        condition: WriteCondition | None = None,
        object_size: int | None = None,
    ) -> CompletedUpload:
        """``parts`` are (part number, unquoted ETag) as the client listed them;
        ``encryption.customer`` is an SSE-C upload's key when the client sent it (S3 does
        not require it here; another key is refused as on ``upload_part``, and without it
        the answer holds no checksum). ``checksums``: what the request says about checksums,
        checked by ``backends.checksums.completion_checksums``; ``condition`` applies to
        the key as for ``put_object``; ``object_size`` (``x-amz-mp-object-size``) is the
        size the listed parts must make, checked before anything is written
        (``backends.conditions.check_object_size``).

        Raises ``InvalidPartOrder`` (not ascending), ``InvalidPart`` (unknown part or ETag
        mismatch), ``EntityTooSmall`` (a part other than the last below 5 MiB),
        ``NoSuchUpload``. The object's ETag is ``md5(concat(part md5 digests))-N``. A
        completion retried after it succeeded (the upload is gone, the key's current
        object is the one those parts made) answers that object again, as S3 does,
        marked ``retried`` when the store can tell (the gateway then writes no row).
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
        encryption: Encryption | None = None,
    ) -> PartsPage:
        """``encryption.customer``: an SSE-C upload's key, when the client sent it. The
        parts' checksums (digests of the plaintext) are shown for such an upload only
        with its key; another key is refused as on ``upload_part``."""
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
