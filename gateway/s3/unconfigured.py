"""Bucket configurations no bucket here can hold, read as S3 answers for a bucket without one.

``UNCONFIGURABLE`` (gateway/s3/operations.py) names them with their empty answers. Nothing
can set them (their PUT/POST answer ``NotImplemented``), so "not configured" is the truth:
a read answers S3's empty document (accelerate, logging, notification: 200) or its 404 code
(replication, website); S3's DELETE of them deletes nothing (204). Configurations S3 keeps
by ``id`` (analytics, metrics, inventory, intelligent-tiering) list as an empty, complete
list; any id names nothing (``NoSuchConfiguration``), for a read and a DELETE alike, and a
DELETE without one is ``InvalidArgument``. An empty ``id`` is no id. The bucket must exist
(``NoSuchBucket``), in the backend too. A HEAD is 405 (``operations.allowed_methods``).

Logging and notifications have no DELETE in S3: the PUT of an empty document
(``<BucketLoggingStatus/>``, ``<NotificationConfiguration/>``) is how S3 turns them off,
and what Terraform and the SDKs send to remove one. That document asks for the state every
bucket here is in, so it is accepted (200, nothing stored); a document that configures
anything is ``NotImplemented`` naming the first element, and a document of another kind
``MalformedXML``.
"""

from __future__ import annotations

from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.operations import UNCONFIGURABLE, UNCONFIGURED, Unconfigurable
from gateway.s3.ownership import existing_bucket
from gateway.s3.xml import XmlWriter, local, parse_xml

__all__ = ["HANDLERS", "clear_unconfigured", "delete_unconfigured", "read_unconfigured"]


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


async def clear_unconfigured(ctx: Context) -> Result:
    _, entry = await _configuration(ctx)
    assert entry.empty is not None  # configurations cleared by a PUT read as a document
    root = parse_xml(await ctx.xml_body())
    if local(root.tag) != entry.empty:
        raise S3Error("MalformedXML")
    for child in root:
        if isinstance(child.tag, str):
            raise S3Error(
                "NotImplemented",
                f"{local(child.tag)} is not supported: no bucket here can hold a"
                f" {ctx.req.operation.query[0]} configuration",
            )
    return Result()


_BY_METHOD = {"GET": read_unconfigured, "PUT": clear_unconfigured, "DELETE": delete_unconfigured}

HANDLERS = {op.name: _BY_METHOD[op.method] for op in UNCONFIGURED if op.implemented}
"""Every implemented row of ``UNCONFIGURED``, by name (``gateway/s3/handlers.py``)."""
