"""GetObjectAttributes for the upstream backend (mixed into ``S3Backend``).

The object is described by a HeadObject (the gateway's checksum record, delete markers,
SSE-C keys: as every read). The parts of a multipart object come from the store's own
GetObjectAttributes when it answers one (AWS, SeaweedFS; moto lists none): the part
count is known from the ETag anyway.
"""

from __future__ import annotations

from typing import Any

from backends.errors import BackendError
from backends.s3.client import UpstreamClient
from backends.s3.meta import native_checksums
from backends.s3.params import version_params
from backends.s3.sse import customer_only, sse_params
from backends.types import Encryption, ObjectAttributes, ObjectPart

__all__ = ["AttributesMixin"]


class AttributesMixin(UpstreamClient):
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
        info = await self.head_object(bucket, key, version_id=version_id, encryption=encryption)
        if not info.parts_count:
            return ObjectAttributes(info=info)
        try:
            response = await self._call(
                "get_object_attributes",
                Bucket=self._up(bucket),
                Key=key,
                ObjectAttributes=["ObjectParts"],
                MaxParts=max_parts,
                PartNumberMarker=part_number_marker,
                **version_params(info.version_id or version_id),
                **sse_params(customer_only(encryption)),
            )
        except BackendError:
            return ObjectAttributes(info=info, total_parts=info.parts_count)
        found: dict[str, Any] = response.get("ObjectParts") or {}
        parts = tuple(
            ObjectPart(int(p["PartNumber"]), int(p.get("Size", 0)), native_checksums(p))
            for p in found.get("Parts", [])
            if int(p["PartNumber"]) > part_number_marker
        )[: max(max_parts, 0)]
        truncated = bool(found.get("IsTruncated"))
        return ObjectAttributes(
            info=info,
            total_parts=int(found.get("TotalPartsCount") or info.parts_count),
            parts=parts,
            is_truncated=truncated,
            next_part_number_marker=parts[-1].part_number if parts else None,
        )
