"""Object tagging passed through to the upstream store (mixed into ``S3Backend``).

The gateway validated the tag set; the upstream keeps it with the version, as it keeps
the version's data. Tag sets come back in key order whatever order the store keeps them
in. ``x-amz-tagging`` on writes: ``tagging_params``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from backends.errors import BackendError
from backends.s3.client import UpstreamClient
from backends.s3.params import version_params
from backends.s3.versions import describe_missing
from backends.types import ObjectTagging, Tags

__all__ = ["TaggingMixin", "tagging_params"]

_TOLD_BY_HEAD = frozenset({"NoSuchKey", "NoSuchVersion", "NoSuchBucket", "MethodNotAllowed"})


def tagging_params(tags: Tags) -> dict[str, Any]:
    """``Tagging`` (the ``x-amz-tagging`` header: a URL-encoded query) for PutObject,
    CreateMultipartUpload and CopyObject; nothing for an empty tag set."""
    return {"Tagging": urlencode(tags, quote_via=quote, safe="")} if tags else {}


def _tags(response: dict[str, Any]) -> Tags:
    pairs = ((str(t.get("Key", "")), str(t.get("Value", ""))) for t in response.get("TagSet", []))
    return tuple(sorted(pairs))


class TaggingMixin(UpstreamClient):
    async def get_object_tagging(
        self, bucket: str, key: str, *, version_id: str | None = None
    ) -> ObjectTagging:
        try:
            response = await self._call(
                "get_object_tagging",
                not_found="NoSuchVersion" if version_id else "NoSuchKey",
                Bucket=self._up(bucket),
                Key=key,
                **version_params(version_id),
            )
        except BackendError as exc:
            raise await self._tagging_error(bucket, key, version_id, exc) from None
        # Some stores (SeaweedFS) leave VersionId out: the version asked for is the one.
        return ObjectTagging(_tags(response), response.get("VersionId") or version_id)

    async def put_object_tagging(
        self, bucket: str, key: str, tags: Tags, *, version_id: str | None = None
    ) -> str | None:
        try:
            if tags:
                response = await self._call(
                    "put_object_tagging",
                    not_found="NoSuchVersion" if version_id else "NoSuchKey",
                    Bucket=self._up(bucket),
                    Key=key,
                    Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags]},
                    **version_params(version_id),
                )
            else:
                response = await self._call(
                    "delete_object_tagging",
                    not_found="NoSuchVersion" if version_id else "NoSuchKey",
                    Bucket=self._up(bucket),
                    Key=key,
                    **version_params(version_id),
                )
        except BackendError as exc:
            raise await self._tagging_error(bucket, key, version_id, exc) from None
        found = response.get("VersionId") or version_id
        return None if found is None else str(found)

    async def _tagging_error(
        self, bucket: str, key: str, version_id: str | None, exc: BackendError
    ) -> BackendError:
        """A missing key may be a missing bucket or a delete marker (as for GetObject).
        moto answers DeleteObjectTagging of a missing key, or of a delete marker's version
        id, with a 500: a HEAD tells (a marker's id: 405)."""
        if exc.code == "ServiceUnavailable":
            try:
                await self.head_object(bucket, key, version_id=version_id)
            except BackendError as missing:
                if missing.code in _TOLD_BY_HEAD:
                    exc = missing
        exc = await describe_missing(self, bucket, key, version_id, exc)
        if exc.code in ("NoSuchKey", "NoSuchVersion") and "DeleteMarker" not in exc.extra:
            await self.head_bucket(bucket)
        return exc
