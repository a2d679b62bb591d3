"""Objects: put, head, get, delete, list (mixed into ``S3Backend``)."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from backends.conditions import version_condition_refused
from backends.errors import BackendError
from backends.ranges import range_header, resolve_range
from backends.s3 import listing
from backends.s3.client import Answer, UpstreamClient
from backends.s3.conditional import ConditionalMixin, invalid_part_number, not_decided
from backends.s3.meta import (
    expires_header,
    lock_params,
    meta_params,
    object_info,
    part_checksums,
)
from backends.s3.params import (
    condition_params,
    describe,
    etag_of,
    etag_parts,
    none_match_any,
    not_modified,
    quote_etag,
    version_params,
)
from backends.s3.sse import (
    customer_only,
    key_refused,
    require_encrypted,
    self_copy_sse_params,
    sse_params,
    with_sse,
)
from backends.s3.streams import DownloadBody, send_spooled, send_streamed
from backends.s3.tagging import tagging_params
from backends.s3.versions import describe_missing
from backends.types import (
    ByteRange,
    Conditions,
    DeleteResult,
    Encryption,
    ListPage,
    ObjectInfo,
    ObjectLock,
    ObjectMeta,
    ObjectRead,
    PayloadStream,
    Tags,
    WriteCondition,
)

__all__ = ["ObjectsMixin"]

log = logging.getLogger(__name__)

_EMPTY_MD5 = hashlib.md5(b"", usedforsecurity=False).hexdigest()


def _length(answer: Answer) -> int | None:
    """The answer's Content-Length; None without one (or with one that is not a number)."""
    value = answer.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


def _xml_safe(key: str) -> bool:
    return all(ch >= " " for ch in key)


def _bypass(bypass_governance: bool) -> dict[str, Any]:
    return {"BypassGovernanceRetention": True} if bypass_governance else {}


def _etag_param(etag: str | None) -> dict[str, Any]:
    return {} if etag is None else {"ETag": quote_etag(etag)}


def _no_such_key(key: str) -> BackendError:
    return BackendError("NoSuchKey", "The specified key does not exist.", extra={"Key": key})


def _versioned(response: Mapping[str, Any]) -> bool:
    """Whether a PutObject answer comes from a versioning-enabled bucket."""
    return response.get("VersionId") not in (None, "", "null")


class ObjectsMixin(ConditionalMixin, UpstreamClient):
    # -- put ---------------------------------------------------------------------------

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
        params: dict[str, Any] = {"Bucket": self._up(bucket), "Key": key}
        params.update(sse_params(encryption))
        params.update(lock_params(object_lock))
        params.update(tagging_params(tags))
        params.update(self.condition_params("PutObject", condition))
        async with self.conditional_write(bucket, key, condition):
            info = await self._put_object(
                bucket, key, body, meta, params, content_md5, size_hint, encryption
            )
        return dataclasses.replace(info, tag_count=len(tags)) if tags else info

    async def _put_object(
        self,
        bucket: str,
        key: str,
        body: PayloadStream,
        meta: ObjectMeta,
        params: dict[str, Any],
        content_md5: bytes | None,
        size_hint: int | None,
        encryption: Encryption | None,
    ) -> ObjectInfo:
        if size_hint is None or size_hint <= self.config.spool_threshold:
            # Small or unknown-length: receive fully first (bounded memory), then one
            # PutObject that carries length, Content-MD5 and the verified checksums.
            response, size = await send_spooled(
                self._call,
                "put_object",
                params,
                body,
                not_found="NoSuchBucket",
                size_hint=size_hint,
                content_md5=content_md5,
                meta=meta,
                native_checksums=self.config.native_checksums,
                request_crc32=self.config.request_checksum_calculation == "when_supported",
            )
            checksums = dict(body.checksums)
            await self._check_stored(bucket, key, response, size)
            await require_encrypted(self._call, self._up(bucket), key, encryption, response)
        else:
            size = size_hint
            response = await send_streamed(
                self._call,
                "put_object",
                params,
                body,
                size,
                not_found="NoSuchBucket",
                content_md5=content_md5,
                send_timeout=self.config.read_timeout,
                meta=meta,
            )
            await self._check_stored(bucket, key, response, size)
            await require_encrypted(self._call, self._up(bucket), key, encryption, response)
            checksums = dict(body.checksums)
            if checksums and (size > self.config.checksum_copy_max or _versioned(response)):
                # not stored: report only what HEAD will show (in a versioned bucket the
                # self-copy below would add a second version)
                checksums = {}
            if checksums:
                await self._attach_checksums(
                    bucket, key, etag_of(response.get("ETag")), meta, checksums, encryption
                )
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=size,
            etag=etag_of(response.get("ETag")),
            last_modified=datetime.now(UTC).replace(microsecond=0),
            meta=with_sse(meta, response),
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
            await self.delete_object(bucket, key, version_id=response.get("VersionId"))
        except BackendError as exc:
            log.warning("empty upstream object %s/%s not deleted: %s", bucket, key, exc.code)
        raise BackendError("InternalError", "the upstream store did not keep the body")

    async def _attach_checksums(
        self,
        bucket: str,
        key: str,
        etag: str,
        meta: ObjectMeta,
        checksums: Mapping[str, str],
        encryption: Encryption | None = None,
    ) -> None:
        """Checksums of a streamed body are known only after it was sent: store them with a
        server-side self-copy that replaces the metadata (only if the object is unchanged)."""
        up = self._up(bucket)
        try:
            await self._call(
                "copy_object",
                headers=expires_header(meta),
                Bucket=up,
                Key=key,
                CopySource={"Bucket": up, "Key": key},
                CopySourceIfMatch=quote_etag(etag),
                MetadataDirective="REPLACE",
                **meta_params(meta, checksums),
                # the self-copy keeps the encryption asked for (and opens an SSE-C source)
                **self_copy_sse_params(encryption),
            )
        except BackendError as exc:
            log.warning(
                "upstream checksum metadata not stored for %s/%s: %s", bucket, key, exc.code
            )

    # -- head, get ---------------------------------------------------------------------

    def _read_params(
        self, bucket: str, key: str, version_id: str | None, encryption: Encryption | None
    ) -> dict[str, Any]:
        """A HeadObject's or GetObject's ``Bucket``, ``Key``, ``VersionId``, SSE-C key and
        ``ChecksumMode``, in that order; the helpers are called only for what a request
        has (every proxied HEAD and GET builds these)."""
        params: dict[str, Any] = {"Bucket": self._up(bucket), "Key": key}
        if version_id:
            params.update(version_params(version_id))
        if encryption is not None:
            params.update(sse_params(customer_only(encryption)))
        if self.config.native_checksums:
            params.update(self.checksum_mode())
        return params

    async def head_object(
        self,
        bucket: str,
        key: str,
        *,
        conditions: Conditions | None = None,
        version_id: str | None = None,
        encryption: Encryption | None = None,
    ) -> ObjectInfo:
        params = self._read_params(bucket, key, version_id, encryption)
        if conditions is not None:
            params.update(condition_params(conditions))
        try:
            answer = await self._answer(
                "head_object",
                not_found="NoSuchVersion" if version_id else "NoSuchKey",  # a bodiless 404
                **params,
            )
        except BackendError as exc:
            if version_id == "null" and exc.code == "InvalidRequest":
                # moto refuses HeadObject versionId=null on a never-versioned bucket,
                # where AWS answers with the object: ask for the object itself.
                return await self.head_object(bucket, key, conditions=conditions)
            exc = await self._describe_not_modified(bucket, key, version_id, exc)
            exc = key_refused(exc, encryption)
            raise await self._missing_key_or_bucket(bucket, exc) from None
        info = object_info(bucket, key, answer.headers, _length(answer) or 0)
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
        encryption: Encryption | None = None,
    ) -> ObjectRead:
        params = self._read_params(bucket, key, version_id, encryption)
        if part_number is not None:
            params["PartNumber"] = part_number
        if byte_range is not None:
            if byte_range.suffix == 0:
                # "bytes=-0" is unsatisfiable whatever the size; S3 stores differ on it.
                info = await self.head_object(
                    bucket, key, conditions=conditions, encryption=encryption
                )
                resolve_range(byte_range, info.size)
            params["Range"] = range_header(byte_range)
        try:
            if conditions is not None:
                params.update(condition_params(conditions))
            answer = await self._answer("get_object", **params)
        except BackendError as exc:
            if part_number is not None and exc.code in ("InvalidRange", "ServiceUnavailable"):
                # a part beyond the object's (416 from SeaweedFS, 500 from moto)
                await self._check_part_number(bucket, key, version_id, encryption, part_number)
            if exc.code == "InvalidRange" and "ActualObjectSize" not in exc.extra:
                info = await self.head_object(
                    bucket, key, version_id=version_id, encryption=encryption
                )
                exc.extra["ActualObjectSize"] = str(info.size)
            if exc.code == "InvalidRange" and byte_range is not None:
                exc.extra["RangeRequested"] = exc.extra.get("RangeRequested") or range_header(
                    byte_range
                )
            exc = key_refused(exc, encryption)
            exc = await describe_missing(self, bucket, key, version_id, exc)
            raise await self._describe_not_modified(bucket, key, version_id, exc) from None
        if none_match_any(conditions):
            answer.body.close()
            raise not_modified(object_info(bucket, key, answer.headers, 0))
        served = _length(answer) if byte_range is not None and answer.status == 200 else None
        if served is not None and byte_range is not None:
            # The store served the whole object for a range: satisfiable ranges it may
            # serve so, but one no byte of the object satisfies (any range of an empty
            # object: moto serves it) is S3's 416.
            try:
                resolve_range(byte_range, served)
            except BackendError:
                answer.body.close()
                raise
        if part_number is not None and not answer.headers.get("content-range"):
            count = etag_parts(etag_of(answer.headers.get("etag"))) or 1
            if part_number != 1 or count != 1:
                # The store ignored partNumber (moto does) and sent the whole object:
                # serving that as the part would be wrong bytes.
                answer.body.close()
                if part_number > count:
                    raise invalid_part_number(part_number, count)
                raise BackendError("NotImplemented", "the upstream store ignores partNumber")
        read = self._read(bucket, key, answer, partial=part_number is not None)
        if part_number is not None:
            read.part_checksums = part_checksums(answer.headers)
        return read

    async def _check_part_number(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        encryption: Encryption | None,
        part_number: int,
    ) -> None:
        """Raise ``InvalidPartNumber`` when the object has fewer parts than asked for."""
        try:
            info = await self.head_object(bucket, key, version_id=version_id, encryption=encryption)
        except BackendError:
            return  # the GET's own error says it better
        count = info.parts_count or 1
        if part_number > count:
            raise invalid_part_number(part_number, count)

    def _read(self, bucket: str, key: str, answer: Answer, *, partial: bool = False) -> ObjectRead:
        declared = _length(answer)
        length = declared or 0
        content_range = answer.headers.get("content-range")
        if content_range:
            span, _, total = str(content_range).removeprefix("bytes ").partition("/")
            first_s, _, last_s = span.partition("-")
            first, last, size = int(first_s), int(last_s), int(total)
        else:
            first, last, size = 0, length - 1, length
        partial = partial or bool(content_range) or answer.status == 206
        return ObjectRead(
            info=object_info(bucket, key, answer.headers, size),
            body=DownloadBody(answer.body, length=declared, whole=not partial),
            first=first,
            last=last,
            partial=partial,
        )

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

    # -- delete, list ------------------------------------------------------------------

    async def delete_object(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        bypass_governance: bool = False,
        if_match: str | None = None,
    ) -> DeleteResult:
        condition: dict[str, Any] = {}
        if if_match is not None:
            condition = await self._delete_condition(bucket, key, version_id, if_match)
        try:
            response = await self._call(
                "delete_object",
                not_found="NoSuchBucket",
                denied="AccessDenied",  # a version Object Lock protects
                Bucket=self._up(bucket),
                Key=key,
                **version_params(version_id),
                **_bypass(bypass_governance),
                **condition,
            )
        except BackendError as exc:
            if if_match is None:
                raise
            raise await self._delete_refusal(bucket, key, exc, any_etag=if_match == "*") from None
        marker = bool(response.get("DeleteMarker"))
        return DeleteResult(
            key,
            version_id,
            delete_marker=marker,
            delete_marker_version_id=response.get("VersionId") if marker else None,
        )

    async def _delete_condition(
        self, bucket: str, key: str, version_id: str | None, if_match: str
    ) -> dict[str, Any]:
        """``IfMatch`` for a conditional DeleteObject, where the store decides it.

        ``*`` travels as the current object's ETag (one HEAD first; moto compares ``*``
        literally): the store still decides atomically, and a 412 then means the object
        was replaced meanwhile (``ConditionalRequestConflict``)."""
        if version_id is not None:
            raise version_condition_refused()
        if not self.config.conditional("DeleteObject", "If-Match"):
            raise not_decided("DeleteObject", "If-Match")
        etag = if_match
        if if_match == "*":
            try:
                etag = (await self.describe_object(bucket, key)).etag  # no SSE-C key
            except BackendError as exc:
                if exc.code == "NoSuchKey":
                    raise _no_such_key(key) from None
                raise
        return {"IfMatch": quote_etag(etag)}

    async def _delete_refusal(
        self, bucket: str, key: str, exc: BackendError, *, any_etag: bool
    ) -> BackendError:
        """A conditional delete's failure in S3's words: a 412 on a key that is gone is
        ``NoSuchKey`` (SeaweedFS answers 412; one HEAD, on that failure only); after
        ``If-Match: *`` (sent as the ETag a HEAD just read) a 412 means another write
        replaced the object meanwhile (409); a 412 names its ``Condition``."""
        if exc.code == "NoSuchKey":
            return _no_such_key(key)
        if exc.code != "PreconditionFailed":
            return exc
        try:
            await self.head_object(bucket, key)
        except BackendError as missing:
            if missing.code == "NoSuchKey":
                return _no_such_key(key)
        if any_etag:
            return BackendError(
                "ConditionalRequestConflict",
                "The conditional request cannot succeed due to a conflicting operation "
                "against this resource.",
                extra={"Condition": "If-Match", "Key": key},
            )
        # the store's own fields are not passed on: its BucketName is the prefixed one
        return BackendError(exc.code, exc.message, extra={"Condition": "If-Match"})

    async def delete_objects(
        self,
        bucket: str,
        keys: Sequence[tuple[str, str | None]],
        *,
        bypass_governance: bool = False,
        etags: Sequence[str | None] | None = None,
    ) -> Sequence[DeleteResult]:
        """DeleteObjects in batches of 1000. Keys with control characters cannot travel in
        the XML body (XML 1.0 forbids most of them, and CR/LF/TAB are normalised), so
        those are deleted one by one with DeleteObject. So are keys with an ``<ETag>``
        when the store decides DeleteObject's ``If-Match`` but not DeleteObjects'
        (``conditional_writes``), and keys with ``*`` (``delete_object``); with neither,
        a request with an ``<ETag>`` is ``NotImplemented`` before anything is deleted."""
        conditions: Sequence[str | None] = etags or [None] * len(keys)
        batch_decides = True
        if any(e is not None for e in conditions):
            batch_decides = self.config.conditional("DeleteObjects", "If-Match")
            if not batch_decides and not self.config.conditional("DeleteObject", "If-Match"):
                raise not_decided("DeleteObjects", "If-Match")
        results: dict[int, DeleteResult] = {}
        batchable: list[tuple[int, str, str | None, str | None]] = []
        for i, (k, v) in enumerate(keys):
            etag = conditions[i]
            if _xml_safe(k) and (etag is None or (batch_decides and etag != "*" and v is None)):
                batchable.append((i, k, v, etag))
            else:
                results[i] = await self._delete_one(bucket, k, v, bypass_governance, etag)
        for start in range(0, len(batchable), 1000):
            batch = batchable[start : start + 1000]
            response = await self._call(
                "delete_objects",
                not_found="NoSuchBucket",
                Bucket=self._up(bucket),
                Delete={
                    "Objects": [
                        {"Key": k, **version_params(v), **_etag_param(e)} for _, k, v, e in batch
                    ],
                    "Quiet": False,
                },
                **_bypass(bypass_governance),
            )
            errors = {(e.get("Key"), e.get("VersionId")): e for e in response.get("Errors", [])}
            done = {(d.get("Key"), d.get("VersionId")): d for d in response.get("Deleted", [])}
            for i, k, v, _ in batch:
                err = errors.get((k, v)) or errors.get((k, None))
                deleted = done.get((k, v)) or done.get((k, None)) or {}
                results[i] = DeleteResult(
                    key=k,
                    version_id=v,
                    error_code=None if err is None else str(err.get("Code") or "InternalError"),
                    error_message=None if err is None else str(err.get("Message") or ""),
                    delete_marker=bool(deleted.get("DeleteMarker")),
                    delete_marker_version_id=deleted.get("DeleteMarkerVersionId"),
                )
        return [results[i] for i in range(len(keys))]

    async def _delete_one(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        bypass_governance: bool,
        if_match: str | None = None,
    ) -> DeleteResult:
        try:
            return await self.delete_object(
                bucket,
                key,
                version_id=version_id,
                bypass_governance=bypass_governance,
                if_match=if_match,
            )
        except BackendError as exc:
            if exc.code == "NoSuchBucket":
                raise
            return DeleteResult(key, version_id, error_code=exc.code, error_message=exc.message)

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
