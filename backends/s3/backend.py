"""``S3Backend``: the gateway's storage is another S3-compatible store.

One long-lived aiobotocore client, signed with the backend's own credentials (a client's
credentials never travel upstream). Bodies stream both ways; see ``streams``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import botocore.auth
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

from backends.base import Backend
from backends.errors import BackendError
from backends.ranges import resolve_range
from backends.s3 import listing
from backends.s3.config import UpstreamConfig
from backends.s3.errors import translate, translate_error
from backends.s3.meta import meta_from_response, meta_params, utc
from backends.s3.multipart import MultipartMixin
from backends.s3.params import (
    condition_params,
    describe,
    etag_of,
    none_match_any,
    not_modified,
    parts_count,
    quote_etag,
    range_header,
)
from backends.s3.streams import DownloadBody, UploadBody, bad_digest, spool
from backends.types import (
    BucketInfo,
    ByteRange,
    Conditions,
    CopySource,
    DeleteResult,
    ListPage,
    ObjectInfo,
    ObjectMeta,
    ObjectRead,
    PayloadStream,
)

__all__ = ["S3Backend"]

log = logging.getLogger(__name__)

_EMPTY_MD5 = hashlib.md5(b"", usedforsecurity=False).hexdigest()

# Raw headers for the next upstream request of this task (botocore types ``Expires`` as a
# timestamp; S3 stores whatever string the client sent).
_extra_headers: ContextVar[Mapping[str, str] | None] = ContextVar(
    "nfyio_upstream_headers", default=None
)


# botocore's CRT signer (used whenever awscrt is installed) copies the body into a BytesIO
# to sign it, which a stream cannot allow. The pure-Python S3 signer never touches the
# body under UNSIGNED-PAYLOAD; it is registered under a name of our own.
_SIGNER = "nfyio-s3v4"
botocore.auth.AUTH_TYPE_MAPS.setdefault(_SIGNER, botocore.auth.S3SigV4Auth)


def _choose_signer(signature_version: Any = None, **_: Any) -> str | None:
    return _SIGNER if signature_version in ("s3v4", "v4") else None


def _add_extra_headers(request: Any, **_: Any) -> None:
    headers = _extra_headers.get()
    if headers:
        for name, value in headers.items():
            request.headers[name] = value


def _xml_safe(key: str) -> bool:
    return all(ch >= " " for ch in key)


def _version(version_id: str | None) -> str | None:
    """The upstream VersionId for the gateway's: none for ``null``.

    The gateway has no versioning: ``null`` names the one (current) object. Forwarded, it
    would name upstream's null version, which stores without versioning may refuse (moto
    answers HeadObject ``versionId=null`` with 400).
    """
    return None if version_id == "null" else version_id


class S3Backend(MultipartMixin, Backend):
    """Every ``Backend`` method as calls to an upstream S3-compatible store."""

    name = "s3"

    def __init__(self, config: UpstreamConfig) -> None:
        self.config = config
        self._stack: AsyncExitStack | None = None
        self._client: Any = None

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        cfg = self.config
        botocore_config = AioConfig(
            region_name=cfg.region,
            signature_version="s3v4",
            connect_timeout=cfg.connect_timeout,
            read_timeout=cfg.read_timeout,
            max_pool_connections=cfg.max_pool_connections,
            # A streamed body cannot be replayed: one attempt, errors surface at once.
            retries={"total_max_attempts": 1, "mode": "standard"},
            request_checksum_calculation=cfg.request_checksum_calculation,
            response_checksum_validation=cfg.response_checksum_validation,
            # UNSIGNED-PAYLOAD: botocore would otherwise hash the body before sending it
            # over plain HTTP, which a one-pass stream cannot allow. Integrity comes from
            # Content-MD5 (client's, or computed while spooling).
            s3={"addressing_style": cfg.addressing_style, "payload_signing_enabled": False},
            ignore_configured_endpoint_urls=True,
        )
        stack = AsyncExitStack()
        session = AioSession()
        self._client = await stack.enter_async_context(
            session.create_client(
                "s3",
                endpoint_url=cfg.endpoint_url,
                region_name=cfg.region,
                aws_access_key_id=cfg.access_key_id,
                aws_secret_access_key=cfg.secret_access_key,
                aws_session_token=None,
                config=botocore_config,
            )
        )
        self._client.meta.events.register_first("choose-signer.s3", _choose_signer)
        self._client.meta.events.register("before-sign.s3", _add_extra_headers)
        self._stack = stack

    async def close(self) -> None:
        if self._stack is not None:
            stack, self._stack, self._client = self._stack, None, None
            await stack.aclose()

    async def ready(self) -> bool:
        if self._client is None:
            return False
        try:
            await asyncio.wait_for(self._client.list_buckets(), self.config.ready_timeout)
        except TimeoutError:
            return False
        except Exception as exc:
            # Any S3 answer (even AccessDenied for ListBuckets) means upstream responds.
            return translate_error(exc).code not in ("ServiceUnavailable", "SlowDown")
        return True

    # -- plumbing ----------------------------------------------------------------------

    def _up(self, bucket: str) -> str:
        return self.config.bucket_prefix + bucket

    async def _call(
        self,
        operation: str,
        *,
        not_found: str = "NoSuchKey",
        headers: Mapping[str, str] | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        if self._client is None:
            raise BackendError("ServiceUnavailable", "the upstream backend is not started")
        token = _extra_headers.set(headers)
        try:
            with translate(not_found=not_found):
                result: dict[str, Any] = await getattr(self._client, operation)(**params)
        finally:
            _extra_headers.reset(token)
        return result

    async def _describe_not_modified(
        self, bucket: str, key: str, version_id: str | None, exc: BackendError
    ) -> BackendError:
        """A 304 carries the object's ETag and Last-Modified; fill in what the upstream
        answer left out (moto sends no Last-Modified) from an unconditional HEAD."""
        if exc.code != "NotModified" or {"ETag", "LastModified"} <= exc.extra.keys():
            return exc
        try:
            info = await self.head_object(bucket, key, version_id=version_id)
        except BackendError:
            return exc
        for name, value in describe(info).items():
            exc.extra.setdefault(name, value)
        return exc

    async def _missing_key_or_bucket(self, bucket: str, exc: BackendError) -> BackendError:
        """A bodiless 404 names neither the key nor the bucket: ask which one."""
        if exc.code != "NoSuchKey":
            return exc
        await self.head_bucket(bucket)
        return exc

    # -- buckets -----------------------------------------------------------------------

    async def list_buckets(self) -> Sequence[BucketInfo]:
        response = await self._call("list_buckets")
        prefix = self.config.bucket_prefix
        return [
            BucketInfo(
                name=b["Name"][len(prefix) :],
                created_at=utc(b.get("CreationDate")),
                region=self.config.region,
            )
            for b in response.get("Buckets", [])
            if b["Name"].startswith(prefix) and len(b["Name"]) > len(prefix)
        ]

    async def create_bucket(self, bucket: str, *, region: str = "us-east-1") -> BucketInfo:
        # AWS in us-east-1 (and moto) answer 200 when you re-create a bucket you own.
        try:
            await self.head_bucket(bucket)
        except BackendError as exc:
            if exc.code != "NoSuchBucket":
                raise
        else:
            raise BackendError("BucketAlreadyOwnedByYou", "You already own this bucket")
        params: dict[str, Any] = {"Bucket": self._up(bucket)}
        if region and region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        await self._call("create_bucket", **params)
        return BucketInfo(name=bucket, created_at=datetime.now(UTC), region=region)

    async def head_bucket(self, bucket: str) -> BucketInfo:
        response = await self._call(
            "head_bucket", not_found="NoSuchBucket", Bucket=self._up(bucket)
        )
        region = response.get("BucketRegion") or self.config.region
        # HeadBucket carries no creation date; list_buckets has the real one.
        return BucketInfo(name=bucket, created_at=datetime.now(UTC), region=region)

    async def delete_bucket(self, bucket: str) -> None:
        up = self._up(bucket)
        uploads = await self._call(
            "list_multipart_uploads", not_found="NoSuchBucket", Bucket=up, MaxUploads=1
        )
        if uploads.get("Uploads"):
            raise BackendError("BucketNotEmpty", "The bucket has multipart uploads in progress")
        await self._call("delete_bucket", not_found="NoSuchBucket", Bucket=up)

    async def bucket_stats(self, bucket: str) -> tuple[int, int]:
        """Walks the whole upstream listing: cost grows with the bucket."""
        count = total = 0
        params: dict[str, Any] = {"Bucket": self._up(bucket), "MaxKeys": 1000}
        while True:
            page = await self._call("list_objects_v2", not_found="NoSuchBucket", **params)
            for item in page.get("Contents", []):
                count += 1
                total += int(item.get("Size", 0))
            if not page.get("IsTruncated"):
                return count, total
            params["ContinuationToken"] = page["NextContinuationToken"]

    # -- objects -----------------------------------------------------------------------

    async def put_object(
        self,
        bucket: str,
        key: str,
        body: PayloadStream,
        meta: ObjectMeta,
        *,
        content_md5: bytes | None = None,
        size_hint: int | None = None,
    ) -> ObjectInfo:
        params: dict[str, Any] = {"Bucket": self._up(bucket), "Key": key}
        headers = {"Expires": meta.expires} if meta.expires else None
        if size_hint is None or size_hint <= self.config.spool_threshold:
            # Small or unknown-length: receive fully first (bounded memory), then one
            # PutObject that carries length, Content-MD5 and the verified checksums.
            spooled = await spool(body)
            try:
                if size_hint is not None and spooled.size != size_hint:
                    raise BackendError("IncompleteBody", "body length differs from its size")
                if content_md5 is not None and content_md5 != spooled.md5:
                    raise bad_digest()
                checksums = dict(body.checksums)
                md5 = spooled.md5
                response = await self._call(
                    "put_object",
                    not_found="NoSuchBucket",
                    headers=headers,
                    Body=spooled.payload(),
                    ContentLength=spooled.size,
                    ContentMD5=base64.b64encode(md5).decode(),
                    **params,
                    **meta_params(meta, checksums),
                )
            finally:
                spooled.close()
            size = spooled.size
            await self._check_stored(bucket, key, response, size)
        else:
            size = size_hint
            response = await self._put_streamed(
                params, body, meta, size, content_md5=content_md5, headers=headers
            )
            await self._check_stored(bucket, key, response, size)
            checksums = dict(body.checksums)
            if checksums and size > self.config.checksum_copy_max:
                checksums = {}  # not stored: report only what HEAD will show
            if checksums:
                await self._attach_checksums(
                    bucket, key, etag_of(response.get("ETag")), meta, checksums
                )
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=size,
            etag=etag_of(response.get("ETag")),
            last_modified=datetime.now(UTC).replace(microsecond=0),
            meta=meta,
            checksums=checksums,
            version_id=response.get("VersionId"),
        )

    async def _check_stored(
        self, bucket: str, key: str, response: Mapping[str, Any], size: int
    ) -> None:
        """Refuse a PutObject whose upstream ETag is the MD5 of no bytes although bytes
        were sent: the store dropped the body. moto does that for a form Content-Type
        (``application/x-www-form-urlencoded``, ``multipart/form-data``: werkzeug parses
        the body as a form), the default of urllib and HTML forms. The empty object is
        deleted (best effort) so it is never served in place of the client's bytes."""
        if size == 0 or etag_of(response.get("ETag")) != _EMPTY_MD5:
            return
        log.error("upstream stored no bytes for %s/%s (%d sent)", bucket, key, size)
        try:
            await self.delete_object(bucket, key)
        except BackendError as exc:
            log.warning("empty upstream object %s/%s not deleted: %s", bucket, key, exc.code)
        raise BackendError("InternalError", "the upstream store did not keep the body")

    async def _put_streamed(
        self,
        params: dict[str, Any],
        body: PayloadStream,
        meta: ObjectMeta,
        size: int,
        *,
        content_md5: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> dict[str, Any]:
        upload = UploadBody(body, size, content_md5=content_md5)
        if content_md5 is not None:
            params["ContentMD5"] = base64.b64encode(content_md5).decode()
        try:
            return await self._call(
                "put_object",
                not_found="NoSuchBucket",
                headers=headers,
                Body=upload,
                ContentLength=size,
                **params,
                **meta_params(meta, {}),
            )
        except BackendError:
            if upload.error is not None:
                raise upload.error from None
            raise

    async def _attach_checksums(
        self, bucket: str, key: str, etag: str, meta: ObjectMeta, checksums: Mapping[str, str]
    ) -> None:
        """Checksums of a streamed body are known only after it was sent: store them with a
        server-side self-copy that replaces the metadata (only if the object is unchanged)."""
        up = self._up(bucket)
        try:
            await self._call(
                "copy_object",
                headers={"Expires": meta.expires} if meta.expires else None,
                Bucket=up,
                Key=key,
                CopySource={"Bucket": up, "Key": key},
                CopySourceIfMatch=quote_etag(etag),
                MetadataDirective="REPLACE",
                **meta_params(meta, checksums),
            )
        except BackendError as exc:
            log.warning(
                "upstream checksum metadata not stored for %s/%s: %s", bucket, key, exc.code
            )

    def _info(self, bucket: str, key: str, response: Mapping[str, Any], size: int) -> ObjectInfo:
        meta, checksums = meta_from_response(response)
        etag = etag_of(response.get("ETag"))
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=size,
            etag=etag,
            last_modified=utc(response.get("LastModified")),
            meta=meta,
            checksums=checksums,
            version_id=response.get("VersionId"),
            parts_count=parts_count(etag, response),
        )

    async def head_object(
        self,
        bucket: str,
        key: str,
        *,
        conditions: Conditions | None = None,
        version_id: str | None = None,
    ) -> ObjectInfo:
        params: dict[str, Any] = {"Bucket": self._up(bucket), "Key": key}
        if _version(version_id):
            params["VersionId"] = version_id
        try:
            response = await self._call("head_object", **params, **condition_params(conditions))
        except BackendError as exc:
            exc = await self._describe_not_modified(bucket, key, version_id, exc)
            raise await self._missing_key_or_bucket(bucket, exc) from None
        info = self._info(bucket, key, response, int(response.get("ContentLength", 0)))
        if none_match_any(conditions):
            raise not_modified(info)
        return info

    async def get_object(
        self,
        bucket: str,
        key: str,
        *,
        byte_range: ByteRange | None = None,
        part_number: int | None = None,
        conditions: Conditions | None = None,
        version_id: str | None = None,
    ) -> ObjectRead:
        params: dict[str, Any] = {"Bucket": self._up(bucket), "Key": key}
        if _version(version_id):
            params["VersionId"] = version_id
        if part_number is not None:
            params["PartNumber"] = part_number
        if byte_range is not None:
            if byte_range.suffix == 0:
                # "bytes=-0" is unsatisfiable whatever the size; S3 stores differ on it.
                info = await self.head_object(bucket, key, conditions=conditions)
                resolve_range(byte_range, info.size)
            params["Range"] = range_header(byte_range)
        try:
            response = await self._call("get_object", **params, **condition_params(conditions))
        except BackendError as exc:
            if exc.code == "InvalidRange" and "ActualObjectSize" not in exc.extra:
                info = await self.head_object(bucket, key, version_id=version_id)
                exc.extra["ActualObjectSize"] = str(info.size)
            raise await self._describe_not_modified(bucket, key, version_id, exc) from None
        if none_match_any(conditions):
            response["Body"].close()
            raise not_modified(self._info(bucket, key, response, 0))
        if part_number is not None and not response.get("ContentRange"):
            etag = etag_of(response.get("ETag"))
            if part_number != 1 or parts_count(etag, {}) not in (None, 1):
                # The store ignored partNumber (moto does) and sent the whole object:
                # serving that as the part would be wrong bytes.
                response["Body"].close()
                raise BackendError("NotImplemented", "the upstream store ignores partNumber")
        return self._read(bucket, key, response, partial=part_number is not None)

    def _read(
        self, bucket: str, key: str, response: Mapping[str, Any], *, partial: bool = False
    ) -> ObjectRead:
        length = int(response.get("ContentLength", 0))
        content_range = response.get("ContentRange")
        if content_range:
            span, _, total = str(content_range).removeprefix("bytes ").partition("/")
            first_s, _, last_s = span.partition("-")
            first, last, size = int(first_s), int(last_s), int(total)
        else:
            first, last, size = 0, length - 1, length
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 200))
        return ObjectRead(
            info=self._info(bucket, key, response, size),
            body=DownloadBody(response["Body"]),
            first=first,
            last=last,
            partial=partial or bool(content_range) or status == 206,
        )

    async def delete_object(self, bucket: str, key: str, *, version_id: str | None = None) -> None:
        params: dict[str, Any] = {"Bucket": self._up(bucket), "Key": key}
        if _version(version_id):
            params["VersionId"] = version_id
        await self._call("delete_object", not_found="NoSuchBucket", **params)

    async def delete_objects(
        self, bucket: str, keys: Sequence[tuple[str, str | None]]
    ) -> Sequence[DeleteResult]:
        """DeleteObjects in batches of 1000. Keys with control characters cannot travel in
        the XML body (XML 1.0 forbids most of them, and CR/LF/TAB are normalised), so
        those are deleted one by one with DeleteObject."""
        results: dict[int, DeleteResult] = {}
        batchable = [(i, k, v) for i, (k, v) in enumerate(keys) if _xml_safe(k)]
        for i, (k, v) in enumerate(keys):
            if not _xml_safe(k):
                results[i] = await self._delete_one(bucket, k, v)
        for start in range(0, len(batchable), 1000):
            batch = batchable[start : start + 1000]
            objects = [
                {"Key": k, "VersionId": v} if _version(v) else {"Key": k} for _, k, v in batch
            ]
            response = await self._call(
                "delete_objects",
                not_found="NoSuchBucket",
                Bucket=self._up(bucket),
                Delete={"Objects": objects, "Quiet": False},
            )
            errors = {(e.get("Key"), e.get("VersionId")): e for e in response.get("Errors", [])}
            for i, k, v in batch:
                err = errors.get((k, v)) or errors.get((k, None))
                results[i] = DeleteResult(
                    key=k,
                    version_id=v,
                    error_code=None if err is None else str(err.get("Code") or "InternalError"),
                    error_message=None if err is None else str(err.get("Message") or ""),
                )
        return [results[i] for i in range(len(keys))]

    async def _delete_one(self, bucket: str, key: str, version_id: str | None) -> DeleteResult:
        try:
            await self.delete_object(bucket, key, version_id=version_id)
        except BackendError as exc:
            if exc.code == "NoSuchBucket":
                raise
            return DeleteResult(key, version_id, error_code=exc.code, error_message=exc.message)
        return DeleteResult(key=key, version_id=version_id)

    async def copy_object(
        self,
        source: CopySource,
        bucket: str,
        key: str,
        *,
        meta: ObjectMeta | None = None,
    ) -> ObjectInfo:
        params: dict[str, Any] = {
            "Bucket": self._up(bucket),
            "Key": key,
            "CopySource": self._copy_source(source),
            **condition_params(source.conditions, copy_source=True),
        }
        headers = None
        if meta is not None or source.conditions != Conditions():
            # Source conditions are evaluated by a conditional HEAD (some stores, moto
            # among them, ignore x-amz-copy-source-if-*), then the copy is pinned to the
            # ETag seen. REPLACE also needs the source's checksums: they describe the
            # bytes, not the metadata, so they are carried over.
            src = await self._head_copy_source(source)
            params["CopySourceIfMatch"] = quote_etag(src.etag)
            for name in ("CopySourceIfNoneMatch", "CopySourceIfModifiedSince"):
                params.pop(name, None)
            params.pop("CopySourceIfUnmodifiedSince", None)
        if meta is None:
            params["MetadataDirective"] = "COPY"
        else:
            params["MetadataDirective"] = "REPLACE"
            params.update(meta_params(meta, src.checksums))
            headers = {"Expires": meta.expires} if meta.expires else None
        await self._copy_call("copy_object", source, headers=headers, **params)
        return await self.head_object(bucket, key)

    def _copy_source(self, source: CopySource) -> dict[str, str]:
        result = {"Bucket": self._up(source.bucket), "Key": source.key}
        version = _version(source.version_id)
        if version:
            result["VersionId"] = version
        return result

    async def _head_copy_source(self, source: CopySource) -> ObjectInfo:
        try:
            return await self.head_object(
                source.bucket,
                source.key,
                conditions=source.conditions,
                version_id=source.version_id,
            )
        except BackendError as exc:
            if exc.code == "NotModified":
                raise BackendError(
                    "PreconditionFailed", "At least one of the preconditions failed"
                ) from None
            raise

    async def _copy_call(
        self,
        operation: str,
        source: CopySource,
        *,
        headers: Mapping[str, str] | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        try:
            return await self._call(operation, headers=headers, **params)
        except BackendError as exc:
            if exc.code == "NotModified":
                raise BackendError(
                    "PreconditionFailed", "At least one of the preconditions failed"
                ) from None
            raise

    async def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        marker: str | None = None,
        max_keys: int = 1000,
    ) -> ListPage:
        return await listing.list_objects(
            self._call,
            self._up(bucket),
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            marker=marker,
            max_keys=max_keys,
        )
