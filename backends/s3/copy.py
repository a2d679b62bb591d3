"""Server-side copies: CopyObject, and the source handling UploadPartCopy shares
(mixed into ``S3Backend``).

Source conditions are evaluated by a conditional HEAD of the source (some stores, moto
among them, ignore ``x-amz-copy-source-if-*``), then the copy is pinned to the ETag seen
with ``CopySourceIfMatch``. ``NotModified`` about a copy source is ``PreconditionFailed``.

A source that cannot be read is described as S3 describes it to a copy
(``_source_error``): a delete marker named by its version id is ``InvalidRequest``
(moto's copy says ``NoSuchVersion``, the source HEAD 405), and a source hidden by a
delete marker ``NoSuchKey`` naming the source key, with the marker's
``x-amz-delete-marker`` and ``x-amz-version-id`` (as AWS answers; moto's copy says
neither, a HEAD of the source does).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from backends.checksums import carries_checksum
from backends.errors import BackendError, delete_marker_copy_source
from backends.s3.conditional import ConditionalMixin
from backends.s3.meta import expires_header, lock_params, meta_params
from backends.s3.params import condition_params, not_modified, quote_etag, version_params
from backends.s3.sse import (
    copy_source_sse_params,
    customer_only,
    require_encrypted,
    source_only,
    sse_params,
)
from backends.s3.tagging import tagging_params
from backends.s3.versions import describe_missing
from backends.types import (
    Conditions,
    CopiedObject,
    CopySource,
    Encryption,
    ObjectInfo,
    ObjectLock,
    ObjectMeta,
    Tags,
    WriteCondition,
)

__all__ = ["CopyMixin"]


class CopyMixin(ConditionalMixin):
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
        params: dict[str, Any] = {
            "Bucket": self._up(bucket),
            "Key": key,
            "CopySource": self._copy_source(source),
            **condition_params(source.conditions, copy_source=True),
            **sse_params(encryption),
            **copy_source_sse_params(encryption),
            **lock_params(object_lock),
            **self.condition_params("CopyObject", condition),
        }
        if tags is not None:
            params["TaggingDirective"] = "REPLACE"
            params.update(tagging_params(tags))
        found_version: str | None = None  # the source version a HEAD found, if one is made
        if meta is not None or source.conditions != Conditions() or checksum_algorithm:
            # Conditions: a HEAD, then the pinned copy. REPLACE also needs the source's
            # checksums: they describe the bytes, not the metadata, so they are carried over.
            src = await self._head_copy_source(source, source_only(encryption))
            if not carries_checksum(checksum_algorithm, src.checksums):
                # Computing it means reading every byte through the gateway; the stores
                # tested keep no checksum they are asked for on a copy either.
                raise BackendError(
                    "NotImplemented",
                    f"The s3 backend cannot give a copy a {checksum_algorithm} checksum its "
                    "source does not have",
                    extra={"Header": "x-amz-checksum-algorithm"},
                )
            params["CopySourceIfMatch"] = quote_etag(src.etag)
            found_version = src.version_id
            for name in (
                "CopySourceIfNoneMatch",
                "CopySourceIfModifiedSince",
                "CopySourceIfUnmodifiedSince",
            ):
                params.pop(name, None)
        if meta is None:
            params["MetadataDirective"] = "COPY"
        else:
            params["MetadataDirective"] = "REPLACE"
            params.update(meta_params(meta, src.checksums))
        async with self.conditional_write(bucket, key, condition):
            response = await self._copy_call(
                "copy_object", bucket, source, headers=expires_header(meta), **params
            )
        await require_encrypted(self._call, self._up(bucket), key, encryption, response)
        info = await self.head_object(
            bucket, key, version_id=response.get("VersionId"), encryption=customer_only(encryption)
        )
        # the store's answer, else the version the HEAD found (the copy is pinned to its
        # ETag), as UploadPartCopy reports it: SeaweedFS answers none. A plain copy makes
        # no HEAD, and one only for this would cost a request per copy: the store's answer.
        return CopiedObject.of(info, response.get("CopySourceVersionId") or found_version)

    def _copy_source(self, source: CopySource) -> dict[str, str]:
        return {
            "Bucket": self._up(source.bucket),
            "Key": source.key,
            **version_params(source.version_id),
        }

    async def _head_copy_source(
        self, source: CopySource, encryption: Encryption | None = None
    ) -> ObjectInfo:
        try:
            with _source_preconditions():
                return await self.head_object(
                    source.bucket,
                    source.key,
                    conditions=source.conditions,
                    version_id=source.version_id,
                    encryption=encryption,
                )
        except BackendError as exc:
            raise await self._source_error(source, exc) from None

    async def _copy_call(
        self,
        operation: str,
        bucket: str,
        source: CopySource,
        *,
        headers: Mapping[str, str] | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        """The copy request. A 5xx may be a missing destination bucket (SeaweedFS answers
        CopyObject into a missing bucket with 500): a HeadBucket tells which."""
        try:
            with _source_preconditions():
                return await self._call(operation, headers=headers, **params)
        except BackendError as exc:
            if exc.code == "ServiceUnavailable":
                await self.head_bucket(bucket)
            raise await self._source_error(source, exc) from None

    async def _source_error(self, source: CopySource, exc: BackendError) -> BackendError:
        """What a copy answers when reading its source failed with ``exc`` (see the
        module's docstring). A HeadObject of the source is asked only when the store
        said the version or key is missing without saying whether a marker hides it."""
        if exc.code in ("NoSuchKey", "NoSuchVersion"):
            exc = await describe_missing(self, source.bucket, source.key, source.version_id, exc)
        if exc.code == "MethodNotAllowed" and "DeleteMarker" in exc.extra:
            return delete_marker_copy_source()
        if exc.code == "NoSuchKey":
            exc.extra["Key"] = source.key
        return exc


@contextmanager
def _source_preconditions() -> Iterator[None]:
    """``NotModified`` about a copy source is ``PreconditionFailed``."""
    try:
        yield
    except BackendError as exc:
        if exc.code == "NotModified":
            raise not_modified(copy_source=True) from None
        raise
