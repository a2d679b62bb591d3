"""Bucket configurations no bucket here can hold, read as S3 answers for a bucket without one.

``UNCONFIGURABLE`` (gateway/s3/operations.py) names them with their empty answers. Nothing
can set them (their PUT/POST answer ``NotImplemented``), so "not configured" is the truth:
a read answers S3's empty document (accelerate, logging, notification: 200) or its 404 code
(replication, website); S3's DELETE of them deletes nothing (204). Configurations S3 keeps
by ``id`` (analytics, metrics, inventory, intelligent-tiering) list as an empty, complete
list; any id names nothing (``NoSuchConfiguration``), for a read and a DELETE alike, and a
DELETE without one is ``InvalidArgument``. An empty ``id`` is no id. The bucket must exist
(``NoSuchBucket``), in the backend too. A HEAD is 405 (``operations.allowed_methods``).
"""

from __future__ import annotations

from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.operations import UNCONFIGURABLE, UNCONFIGURED, Unconfigurable
from gateway.s3.ownership import existing_bucket
from gateway.s3.xml import XmlWriter

__all__ = ["HANDLERS", "delete_unconfigured", "read_unconfigured"]


async def _configuration(ctx: Context) -> tuple[str, Unconfigurable]:
    """The bucket named, which must exist (in the backend too), and the configuration the
    request names (the first query entry of its row)."""
    bucket = existing_bucket(ctx)
    await ctx.backend.head_bucket(bucket.name)
    return bucket.name, UNCONFIGURABLE[ctx.req.operation.query[0]]


async def read_unconfigured(ctx: Context) -> Result:
    bucket, entry = await _configuration(ctx)
    if entry.missing is not None:
        raise S3Error(entry.missing, extra={"BucketName": bucket})
    if entry.by_id is not None and ctx.query.get("id"):
        raise S3Error("NoSuchConfiguration")
    assert entry.empty is not None
    doc = XmlWriter(entry.empty)
    if entry.by_id is not None:
        doc.el("IsTruncated", False)
        # S3 echoes the token it was sent; none it could have issued names a next page.
        doc.el("ContinuationToken", ctx.query.get("continuation-token"))
    doc.close(entry.empty)
    return Result(xml=bytes(doc))


async def delete_unconfigured(ctx: Context) -> Result:
    _, entry = await _configuration(ctx)
    if entry.by_id is not None:
        if not ctx.query.get("id"):
            raise S3Error(
                "InvalidArgument",
                "Missing required parameter: id",
                extra={"ArgumentName": "id", "ArgumentValue": ""},
            )
        raise S3Error("NoSuchConfiguration")
    return Result(status=204)


HANDLERS = {
    op.name: read_unconfigured if op.method == "GET" else delete_unconfigured
    for op in UNCONFIGURED
    if op.implemented
}
"""Every implemented row of ``UNCONFIGURED``, by name (``gateway/s3/handlers.py``)."""
