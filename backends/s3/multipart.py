"""Multipart uploads passed through part by part (mixed into ``S3Backend``)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from backends.errors import BackendError
from backends.s3.copy import CopyMixin
from backends.s3.meta import expires_header, lock_params, meta_params, utc
from backends.s3.params import etag_of, quote_etag
from backends.s3.streams import send_spooled, send_streamed
from backends.types import (
    CopySource,
    ObjectInfo,
    ObjectLock,
    ObjectMeta,
    Part,
    PartsPage,
    PayloadStream,
    Upload,
    UploadsPage,
)

__all__ = ["MultipartMixin"]


class MultipartMixin(CopyMixin):
    """UploadPartCopy shares the copy source handling of ``CopyMixin``."""

    async def create_multipart_upload(
        self,
        bucket: str,
        key: str,
        meta: ObjectMeta,
        *,
        checksum_algorithm: str | None = None,
        object_lock: ObjectLock | None = None,
    ) -> Upload:
        # The checksum algorithm is not forwarded: upstream would then demand per-part
        # checksums that only a client-side SDK computes (see docs/upstream-backend.md).
        response = await self._call(
            "create_multipart_upload",
            not_found="NoSuchBucket",
            headers=expires_header(meta),
            Bucket=self._up(bucket),
            Key=key,
            **meta_params(meta, {}),
            **lock_params(object_lock),
        )
        return Upload(
            bucket=bucket,
            key=key,
            upload_id=str(response["UploadId"]),
            initiated=datetime.now(UTC),
            meta=meta,
            checksum_algorithm=checksum_algorithm,
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
    ) -> Part:
        params: dict[str, Any] = {
            "Bucket": self._up(bucket),
            "Key": key,
            "UploadId": upload_id,
            "PartNumber": part_number,
        }
        if size_hint is None:
            response, size = await send_spooled(
                self._call,
                "upload_part",
                params,
                body,
                not_found="NoSuchUpload",
                size_hint=None,
                content_md5=content_md5,
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
            )
        return Part(
            part_number=part_number,
            etag=etag_of(response.get("ETag")),
            size=size,
            last_modified=datetime.now(UTC).replace(microsecond=0),
            checksums=dict(body.checksums),
        )

    async def upload_part_copy(
        self, source: CopySource, bucket: str, key: str, upload_id: str, part_number: int
    ) -> Part:
        params: dict[str, Any] = {
            "Bucket": self._up(bucket),
            "Key": key,
            "UploadId": upload_id,
            "PartNumber": part_number,
            "CopySource": self._copy_source(source),
        }
        # Conditions checked by a HEAD, then the copy pinned to that ETag (as in
        # ``copy_object``). The HEAD also gives the part size, and checks the range: some
        # stores (moto) copy a range beyond the source as an empty part.
        src = await self._head_copy_source(source)
        size = src.size
        params["CopySourceIfMatch"] = quote_etag(src.etag)
        if source.byte_range is not None:
            first, last = source.byte_range
            if first < 0 or first > last or last >= src.size:
                raise BackendError(
                    "InvalidRange",
                    "The requested range is not satisfiable",
                    extra={"ActualObjectSize": str(src.size)},
                )
            params["CopySourceRange"] = f"bytes={first}-{last}"
            size = last - first + 1
        response = await self._copy_call("upload_part_copy", **params)
        result = response.get("CopyPartResult", {})
        return Part(
            part_number=part_number,
            etag=etag_of(result.get("ETag")),
            size=size,
            last_modified=utc(result.get("LastModified")),
        )

    async def complete_multipart_upload(
        self, bucket: str, key: str, upload_id: str, parts: Sequence[tuple[int, str]]
    ) -> ObjectInfo:
        numbers = [n for n, _ in parts]
        if any(b <= a for a, b in itertools.pairwise(numbers)):
            raise BackendError("InvalidPartOrder", "The list of parts was not in ascending order")
        response = await self._call(
            "complete_multipart_upload",
            not_found="NoSuchUpload",
            Bucket=self._up(bucket),
            Key=key,
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [{"PartNumber": n, "ETag": f'"{e.strip(chr(34))}"'} for n, e in parts]
            },
        )
        return await self.head_object(bucket, key, version_id=response.get("VersionId"))

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
    ) -> PartsPage:
        response = await self._call(
            "list_parts",
            not_found="NoSuchUpload",
            Bucket=self._up(bucket),
            Key=key,
            UploadId=upload_id,
            PartNumberMarker=part_number_marker,
            MaxParts=max_parts,
        )
        parts = tuple(
            Part(
                part_number=int(p["PartNumber"]),
                etag=etag_of(p.get("ETag")),
                size=int(p.get("Size", 0)),
                last_modified=utc(p.get("LastModified")),
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
                initiated=utc(response.get("Initiated")),
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
        params: dict[str, Any] = {"Bucket": self._up(bucket), "MaxUploads": max_uploads}
        if prefix:
            params["Prefix"] = prefix
        if delimiter:
            params["Delimiter"] = delimiter
        if key_marker:
            params["KeyMarker"] = key_marker
            if upload_id_marker:
                params["UploadIdMarker"] = upload_id_marker
        response = await self._call("list_multipart_uploads", not_found="NoSuchBucket", **params)
        uploads = [
            Upload(
                bucket=bucket,
                key=u["Key"],
                upload_id=str(u["UploadId"]),
                initiated=utc(u.get("Initiated")),
            )
            for u in response.get("Uploads", [])
        ]
        # S3 lists uploads by key (UTF-8 bytes), then by initiation; some stores (moto)
        # list them in creation order. Stable: uploads of one key keep upstream's order.
        uploads.sort(key=lambda u: u.key.encode())
        prefixes = [p["Prefix"] for p in response.get("CommonPrefixes", [])]
        if delimiter:
            uploads, prefixes = _roll_up(uploads, prefixes, prefix, delimiter)
        if key_marker:
            uploads, prefixes = _after_marker(uploads, prefixes, key_marker, upload_id_marker)
        truncated = bool(response.get("IsTruncated"))
        next_key = response.get("NextKeyMarker")
        next_id = response.get("NextUploadIdMarker")
        if len(uploads) + len(prefixes) > max_uploads:
            # Some stores (moto) ignore MaxUploads: cut the page here ourselves.
            entries = sorted(
                [(u.key.encode(), u) for u in uploads] + [(p.encode(), p) for p in prefixes],
                key=lambda e: e[0],
            )[:max_uploads]
            uploads = [u for _, u in entries if isinstance(u, Upload)]
            prefixes = [p for _, p in entries if isinstance(p, str)]
            truncated = True
            last = entries[-1][1] if entries else None
            next_key = last.key if isinstance(last, Upload) else last
            next_id = last.upload_id if isinstance(last, Upload) else None
        return UploadsPage(
            uploads=tuple(uploads),
            common_prefixes=tuple(prefixes),
            is_truncated=truncated,
            next_key_marker=next_key if truncated else None,
            next_upload_id_marker=next_id if truncated else None,
        )


def _after_marker(
    uploads: list[Upload], prefixes: list[str], key_marker: str, upload_id_marker: str | None
) -> tuple[list[Upload], list[str]]:
    """Entries after (key_marker, upload_id_marker); a no-op for stores that honour
    KeyMarker/UploadIdMarker, a fix for those that ignore them (moto)."""
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
    """Group keys at the delimiter; a no-op for stores that honour Delimiter on
    ListMultipartUploads, a fix for those that ignore it (moto)."""
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
