"""Buckets: list, create, head, delete, statistics (mixed into ``S3Backend``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from backends.errors import NOT_EMPTY_VERSIONED, BackendError
from backends.s3.client import UpstreamClient
from backends.s3.meta import utc
from backends.types import BucketInfo

__all__ = ["BucketsMixin"]

_BUCKETS_PAGE = 10_000
"""``max-buckets`` of the store's ListBuckets: AWS's greatest page."""


class BucketsMixin(UpstreamClient):
    """Gateway bucket ``b`` is upstream bucket ``bucket_prefix + b``."""

    async def list_buckets(self) -> Sequence[BucketInfo]:
        """Every page of the store's bucket list. Paginated requests (``MaxBuckets``): AWS
        refuses unpaginated ones for accounts above the 10,000-bucket quota, answers
        pages of at most 10,000 with a ``ContinuationToken``, and names each bucket's
        region only then. Stores that ignore the parameters answer everything at once."""
        prefix = self.config.bucket_prefix
        params: dict[str, Any] = {"MaxBuckets": _BUCKETS_PAGE}
        if prefix:
            params["Prefix"] = prefix  # a store that ignores it is filtered here anyway
        buckets: list[BucketInfo] = []
        tokens: set[str] = set()
        while True:
            response = await self._call("list_buckets", **params)
            buckets.extend(
                BucketInfo(
                    name=b["Name"][len(prefix) :],
                    created_at=utc(b.get("CreationDate")),
                    region=b.get("BucketRegion") or self.config.region,
                )
                for b in response.get("Buckets", [])
                if b["Name"].startswith(prefix) and len(b["Name"]) > len(prefix)
            )
            token = response.get("ContinuationToken")
            if not token or token in tokens:  # a store that repeats its token ends here
                return buckets
            tokens.add(token)
            params["ContinuationToken"] = token

    async def create_bucket(
        self, bucket: str, *, region: str = "us-east-1", object_lock: bool = False
    ) -> BucketInfo:
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
        if object_lock:
            params["ObjectLockEnabledForBucket"] = True
        await self._call("create_bucket", **params)
        return BucketInfo(name=bucket, created_at=datetime.now(UTC), region=region)

    async def head_bucket(self, bucket: str) -> BucketInfo:
        try:
            response = await self._call(
                "head_bucket", not_found="NoSuchBucket", Bucket=self._up(bucket)
            )
        except BackendError as exc:
            if exc.code != "NoSuchBucket":
                raise
            # A HEAD's 404 has no body to name the bucket: name it as AWS's answer does.
            raise BackendError(exc.code, exc.message, extra={"BucketName": bucket}) from None
        region = response.get("BucketRegion") or self.config.region
        # HeadBucket carries no creation date; list_buckets has the real one.
        return BucketInfo(name=bucket, created_at=datetime.now(UTC), region=region)

    async def delete_bucket(self, bucket: str) -> None:
        """As S3: objects, versions and delete markers keep the bucket; multipart uploads
        in progress are aborted first (stores disagree on them: some refuse the delete,
        some drop the bucket and leave the parts behind)."""
        up = self._up(bucket)
        # Some stores (SeaweedFS) delete a bucket that still holds noncurrent versions or
        # delete markers; S3 refuses. One listing call, on DeleteBucket only.
        versions = await self._call(
            "list_object_versions", not_found="NoSuchBucket", Bucket=up, MaxKeys=1
        )
        if versions.get("Versions") or versions.get("DeleteMarkers"):
            raise BackendError(
                "BucketNotEmpty",
                NOT_EMPTY_VERSIONED,
                extra={"BucketName": bucket},
            )
        await self._abort_uploads(up)
        await self._call("delete_bucket", not_found="NoSuchBucket", Bucket=up)

    async def _abort_uploads(self, up: str) -> None:
        """Abort every upload in progress in upstream bucket ``up`` (page by page; an
        upload that went meanwhile is no failure)."""
        params: dict[str, Any] = {"Bucket": up, "MaxUploads": 1000}
        seen: set[str] = set()
        while True:
            page = await self._call("list_multipart_uploads", not_found="NoSuchBucket", **params)
            uploads = [u for u in page.get("Uploads", []) if str(u["UploadId"]) not in seen]
            for upload in uploads:
                seen.add(str(upload["UploadId"]))
                try:
                    await self._call(
                        "abort_multipart_upload",
                        not_found="NoSuchUpload",
                        Bucket=up,
                        Key=upload["Key"],
                        UploadId=str(upload["UploadId"]),
                    )
                except BackendError as exc:
                    if exc.code != "NoSuchUpload":
                        raise
            if not uploads or not page.get("IsTruncated"):
                return
            params["KeyMarker"] = page.get("NextKeyMarker")
            params["UploadIdMarker"] = page.get("NextUploadIdMarker")

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
