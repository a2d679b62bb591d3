"""Multipart uploads passed through part by part (mixed into ``S3Backend``)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from backends.conditions import check_object_size
from backends.errors import BackendError
from backends.ranges import check_part_copy_size, part_copy_range
from backends.s3.copy import CopyMixin
from backends.s3.meta import (
    checksum_params,
    expires_header,
    lock_params,
    meta_params,
    native_checksums,
    utc,
)
from backends.s3.params import etag_of, quote_etag
from backends.s3.sse import (
    copy_source_sse_params,
    customer_only,
    not_applied,
    source_only,
    sse_params,
    unapplied,
    with_sse,
)
from backends.s3.streams import send_spooled, send_streamed
from backends.s3.tagging import tagging_params
from backends.types import (
    CompletedUpload,
    CompletionChecksums,
    CopySource,
    Encryption,
    ObjectLock,
    ObjectMeta,
    Part,
    PartsPage,
    PayloadStream,
    Tags,
    Upload,
    UploadsPage,
    WriteCondition,
)

__all__ = ["MultipartMixin"]

_MAX_UPLOADS_SCANNED = 10_000
"""ListMultipartUploads reads at most this many uploads in progress from upstream."""

_RECENT_ALGORITHMS = frozenset({"SHA512", "MD5", "XXHASH64", "XXHASH3", "XXHASH128"})
"""S3's 2026 checksum algorithms. A store that keeps checksums may not know them yet
(SeaweedFS 4.x answers a bare ``InvalidRequest`` to a CreateMultipartUpload naming one):
with native checksums such a refusal is ``NotImplemented`` naming the algorithm."""


def _algorithm_refused(exc: BackendError, algorithm: str | None) -> BackendError | None:
    """``NotImplemented`` naming the algorithm when the store refused a CreateMultipartUpload
    that carried one of the 2026 algorithms as invalid (the gateway checked the algorithm
    and type already; in native mode a multipart checksum lives only in the store, so
    there is nowhere else to keep it); None for any other refusal (answered as is)."""
    if exc.code != "InvalidRequest" or algorithm not in _RECENT_ALGORITHMS:
        return None
    return BackendError(
        "NotImplemented",
        f"The upstream store does not support multipart uploads with the {algorithm} "
        f"checksum algorithm ({exc.message})",
        extra={"Header": "x-amz-checksum-algorithm"},
    )


class MultipartMixin(CopyMixin):
    """UploadPartCopy shares the copy source handling of ``CopyMixin``."""

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
        # The checksum algorithm and type go upstream only with native checksums: the
        # store then demands a checksum of every part, which the gateway forwards (see
        # docs/upstream-backend.md).
        checksums: dict[str, Any] = {}
        if self.config.native_checksums and checksum_algorithm is not None:
            checksums = {"ChecksumAlgorithm": checksum_algorithm, "ChecksumType": checksum_type}
        try:
            response = await self._call(
                "create_multipart_upload",
                not_found="NoSuchBucket",
                headers=expires_header(meta),
                Bucket=self._up(bucket),
                Key=key,
                **meta_params(meta, {}),
                **sse_params(encryption),
                **lock_params(object_lock),
                **checksums,
                **tagging_params(tags),
            )
        except BackendError as exc:
            refused = _algorithm_refused(exc, checksum_algorithm) if checksums else None
            if refused is None:
                raise
            try:
                raise refused from exc
            finally:
                del refused  # this frame is on its traceback: no cycle through the local
        what = unapplied(encryption, response)
        if what is not None:
            await self._call(
                "abort_multipart_upload",
                Bucket=self._up(bucket),
                Key=key,
                UploadId=str(response["UploadId"]),
            )
            raise not_applied(what)
        return Upload(
            bucket=bucket,
            key=key,
            upload_id=str(response["UploadId"]),
            initiated=datetime.now(UTC),
            meta=with_sse(meta, response),
            checksum_algorithm=checksum_algorithm,
            checksum_type=checksum_type,
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
        params: dict[str, Any] = {
            "Bucket": self._up(bucket),
            "Key": key,
            "UploadId": upload_id,
            "PartNumber": part_number,
            **sse_params(customer_only(encryption)),
        }
        native = self.config.native_checksums
        if size_hint is None or (native and checksum_algorithm is not None):
            # native checksums: the part's checksum (known once its body ended) must
            # travel with it, so the part is received first (bounded memory, then disk)
            response, size = await send_spooled(
                self._call,
                "upload_part",
                params,
                body,
                not_found="NoSuchUpload",
                size_hint=size_hint,
                content_md5=content_md5,
                native_checksums=native,
                request_crc32=self.config.request_checksum_calculation == "when_supported",
            )
        else:
            size = size_hint
            response = await send_streamed(
                self._call,
                "upload_part",
                params,
                body,
                size,
                not_found="NoSuchUpload",
                content_md5=content_md5,
                send_timeout=self.config.read_timeout,
            )
        return Part(
            part_number=part_number,
            etag=etag_of(response.get("ETag")),
            size=size,
            last_modified=datetime.now(UTC).replace(microsecond=0),
            checksums=dict(body.checksums),
            server_side_encryption=response.get("ServerSideEncryption") or None,
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
        params: dict[str, Any] = {
            "Bucket": self._up(bucket),
            "Key": key,
            "UploadId": upload_id,
            "PartNumber": part_number,
            "CopySource": self._copy_source(source),
            **sse_params(customer_only(encryption)),
            **copy_source_sse_params(encryption),
        }
        # Conditions checked by a HEAD, then the copy pinned to that ETag (as in
        # ``copy_object``). The HEAD also gives the part size, and checks the range: some
        # stores (moto) copy a range beyond the source as an empty part.
        src = await self._head_copy_source(source, source_only(encryption))
        size = src.size
        params["CopySourceIfMatch"] = quote_etag(src.etag)
        if source.byte_range is not None:
            first, last = part_copy_range(source.byte_range, src.size)
            params["CopySourceRange"] = f"bytes={first}-{last}"
            size = last - first + 1
        check_part_copy_size(size)
        response = await self._copy_call("upload_part_copy", bucket, source, **params)
        result = response.get("CopyPartResult", {})
        return Part(
            part_number=part_number,
            etag=etag_of(result.get("ETag")),
            size=size,
            last_modified=utc(result.get("LastModified")),
            checksums=native_checksums(result),
            server_side_encryption=response.get("ServerSideEncryption") or None,
            # the store's answer, else the version the HEAD found (the copy is pinned to
            # its ETag): moto and SeaweedFS answer none
            source_version_id=response.get("CopySourceVersionId") or src.version_id,
        )

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
        numbers = [n for n, _ in parts]
        if any(b <= a for a, b in itertools.pairwise(numbers)):
            raise BackendError("InvalidPartOrder", "The list of parts was not in ascending order")
        retried = False
        if object_size is not None:
            # Checked here, not left to the store (moto and SeaweedFS ignore the header):
            # one ListParts walk, only when the client sent it. The listed ETags pin each
            # part's bytes, so the sizes cannot change before the completion.
            try:
                sizes = await self._check_parts_exist(bucket, key, upload_id, parts)
            except BackendError as exc:
                if exc.code != "NoSuchUpload":
                    raise
                # Gone: completed (a retry, which the store answers with the object it
                # made, writing nothing; the size is checked against that object) or
                # never there (the store's NoSuchUpload)
                retried = True
            else:
                check_object_size(object_size, sum(sizes))
        listed, whole = self._completion_checksums(checksums)
        try:
            async with self.conditional_write(bucket, key, condition):
                response = await self._call(
                    "complete_multipart_upload",
                    not_found="NoSuchUpload",
                    Bucket=self._up(bucket),
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={
                        "Parts": [
                            {
                                "PartNumber": n,
                                "ETag": f'"{e.strip(chr(34))}"',
                                **checksum_params(listed.get(n, {})),
                            }
                            for n, e in parts
                        ]
                    },
                    **sse_params(customer_only(encryption)),
                    **self.condition_params("CompleteMultipartUpload", condition),
                    **whole,
                )
        except BackendError as exc:
            if exc.code == "EntityTooSmall":
                # S3 names a missing or mismatched part first; SeaweedFS checks sizes first.
                await self._check_parts_exist(bucket, key, upload_id, parts)
            raise
        try:
            made = await self.head_object(
                bucket,
                key,
                version_id=response.get("VersionId"),
                encryption=customer_only(encryption),
            )
        except BackendError as exc:
            if exc.code != "InvalidRequest" or response.get("SSECustomerAlgorithm") is None:
                raise
            # an SSE-C object completed without its key cannot be read back: answer with
            # what the completion reported (the size is not part of that answer, so a
            # retry's x-amz-mp-object-size goes unchecked)
            return CompletedUpload(
                bucket=bucket,
                key=key,
                size=0,
                etag=etag_of(response.get("ETag")),
                last_modified=datetime.now(UTC).replace(microsecond=0),
                meta=with_sse(ObjectMeta(), response),
                version_id=response.get("VersionId"),
                retried=retried,
            )
        if retried and object_size is not None:
            check_object_size(object_size, made.size)  # nothing was written: refused as is
        return CompletedUpload.of(made, retried=retried)

    def _completion_checksums(
        self, checksums: CompletionChecksums | None
    ) -> tuple[Mapping[int, Mapping[str, str]], dict[str, Any]]:
        """(part checksums, whole-object parameters) to forward: with native checksums
        the store checks them against the parts it kept; without, it never saw any."""
        if checksums is None or not self.config.native_checksums:
            return {}, {}
        whole: dict[str, Any] = {}
        if checksums.algorithm is not None and checksums.value is not None:
            whole[f"Checksum{checksums.algorithm}"] = checksums.value
        if checksums.checksum_type is not None:
            whole["ChecksumType"] = checksums.checksum_type
        return checksums.parts, whole

    async def _check_parts_exist(
        self, bucket: str, key: str, upload_id: str, parts: Sequence[tuple[int, str]]
    ) -> list[int]:
        """Raise ``InvalidPart`` if a listed part was not uploaded with that ETag; else
        the listed parts' sizes."""
        uploaded: dict[int, Part] = {}
        marker = 0
        while True:
            page = await self.list_parts(bucket, key, upload_id, part_number_marker=marker)
            uploaded.update((p.part_number, p) for p in page.parts)
            if not page.is_truncated or page.next_part_number_marker is None:
                break
            marker = page.next_part_number_marker
        sizes = []
        for number, etag in parts:
            part = uploaded.get(number)
            if part is None or part.etag != etag.strip('"'):
                raise BackendError(
                    "InvalidPart",
                    "One or more of the specified parts could not be found or its ETag differs",
                )
            sizes.append(part.size)
        return sizes

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        await self._call(
            "abort_multipart_upload",
            not_found="NoSuchUpload",
            Bucket=self._up(bucket),
            Key=key,
            UploadId=upload_id,
        )

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
        response = await self._call(
            "list_parts",
            not_found="NoSuchUpload",
            Bucket=self._up(bucket),
            Key=key,
            UploadId=upload_id,
            PartNumberMarker=part_number_marker,
            MaxParts=max_parts,
            **sse_params(customer_only(encryption)),
        )
        parts = _latest_parts(
            Part(
                part_number=int(p["PartNumber"]),
                etag=etag_of(p.get("ETag")),
                size=int(p.get("Size", 0)),
                last_modified=utc(p.get("LastModified")),
                checksums=native_checksums(p),
            )
            for p in response.get("Parts", [])
        )
        truncated = bool(response.get("IsTruncated"))
        next_marker = response.get("NextPartNumberMarker")
        return PartsPage(
            upload=Upload(
                bucket=bucket,
                key=key,
                upload_id=upload_id,
                initiated=None,  # S3's ListParts answer has no Initiated
                checksum_algorithm=response.get("ChecksumAlgorithm") or None,
                checksum_type=response.get("ChecksumType") or None,
            ),
            parts=parts,
            is_truncated=truncated,
            next_part_number_marker=int(next_marker) if truncated and next_marker else None,
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
        """Every upload in progress under ``prefix`` is fetched (up to
        ``_MAX_UPLOADS_SCANNED``), then ordered, filtered after the markers, rolled up and
        cut here: stores disagree on all four (moto ignores MaxUploads, KeyMarker and
        Delimiter and lists in creation order; SeaweedFS lists by upload id and cuts the
        page before ordering by key)."""
        uploads = await self._all_uploads(bucket, prefix)
        # S3 lists uploads by key (UTF-8 bytes), then by initiation. Stable: uploads of one
        # key started in the same second keep upstream's order.
        uploads.sort(key=lambda u: (u.key.encode(), u.initiated))
        prefixes: list[str] = []
        if delimiter:
            uploads, prefixes = _roll_up(uploads, [], prefix, delimiter)
        if key_marker:
            uploads, prefixes = _after_marker(uploads, prefixes, key_marker, upload_id_marker)
        entries = sorted(
            [(u.key.encode(), u) for u in uploads] + [(p.encode(), p) for p in prefixes],
            key=lambda e: e[0],
        )
        truncated = len(entries) > max_uploads
        entries = entries[:max_uploads]
        last = entries[-1][1] if entries else None
        return UploadsPage(
            uploads=tuple(u for _, u in entries if isinstance(u, Upload)),
            common_prefixes=tuple(p for _, p in entries if isinstance(p, str)),
            is_truncated=truncated,
            next_key_marker=(last.key if isinstance(last, Upload) else last) if truncated else None,
            next_upload_id_marker=(
                last.upload_id if truncated and isinstance(last, Upload) else None
            ),
        )

    async def _all_uploads(self, bucket: str, prefix: str) -> list[Upload]:
        params: dict[str, Any] = {"Bucket": self._up(bucket), "MaxUploads": 1000}
        if prefix:
            params["Prefix"] = prefix
        uploads: list[Upload] = []
        while len(uploads) < _MAX_UPLOADS_SCANNED:
            response = await self._call(
                "list_multipart_uploads", not_found="NoSuchBucket", **params
            )
            uploads += [
                Upload(
                    bucket=bucket,
                    key=u["Key"],
                    upload_id=str(u["UploadId"]),
                    initiated=utc(u.get("Initiated")),
                )
                for u in response.get("Uploads", [])
                if str(u["Key"]).startswith(prefix)
            ]
            next_key, next_id = response.get("NextKeyMarker"), response.get("NextUploadIdMarker")
            if not response.get("IsTruncated") or not next_key:
                break
            if (next_key, next_id) == (params.get("KeyMarker"), params.get("UploadIdMarker")):
                break  # a store that ignores the markers would repeat this page forever
            params["KeyMarker"], params["UploadIdMarker"] = next_key, next_id
        return uploads


def _latest_parts(parts: Iterable[Part]) -> tuple[Part, ...]:
    """One entry per part number: the latest upload of it. SeaweedFS lists every upload of
    a re-sent part; S3 lists only the one that replaced the others."""
    latest: dict[int, Part] = {}
    for part in parts:
        known = latest.get(part.part_number)
        if known is None or part.last_modified >= known.last_modified:
            latest[part.part_number] = part
    return tuple(sorted(latest.values(), key=lambda p: p.part_number))


def _after_marker(
    uploads: list[Upload], prefixes: list[str], key_marker: str, upload_id_marker: str | None
) -> tuple[list[Upload], list[str]]:
    """Entries after (key_marker, upload_id_marker), as S3 pages ListMultipartUploads."""
    marker = key_marker.encode()
    kept: list[Upload] = []
    passed_id = upload_id_marker is None
    for upload in uploads:
        key = upload.key.encode()
        if key > marker:
            kept.append(upload)
        elif key == marker and upload_id_marker is not None:
            if passed_id:
                kept.append(upload)
            passed_id = passed_id or upload.upload_id == upload_id_marker
    return kept, [p for p in prefixes if p.encode() > marker]


def _roll_up(
    uploads: list[Upload], prefixes: list[str], prefix: str, delimiter: str
) -> tuple[list[Upload], list[str]]:
    """Group keys at the delimiter into common prefixes."""
    kept: list[Upload] = []
    groups = dict.fromkeys(prefixes)
    for upload in uploads:
        rest = upload.key[len(prefix) :]
        cut = rest.find(delimiter)
        if cut < 0:
            kept.append(upload)
        else:
            groups.setdefault(prefix + rest[: cut + len(delimiter)])
    return kept, sorted(groups, key=str.encode)
