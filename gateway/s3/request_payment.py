"""Requester Pays (the ``?requestPayment`` subresource): every bucket's owner pays.

GetBucketRequestPayment answers ``BucketOwner`` for every existing bucket, as S3 does for
a bucket never set to Requester Pays. PutBucketRequestPayment accepts ``BucketOwner`` (it
changes nothing) and answers ``NotImplemented`` for ``Requester``: the gateway bills no
one, and accepting it would promise requesters a charge that never comes.
"""

from __future__ import annotations

from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.ownership import existing_bucket
from gateway.s3.xml import XmlWriter, child_text, local, parse_xml

__all__ = ["get_bucket_request_payment", "put_bucket_request_payment"]

_PAYERS = frozenset({"BucketOwner", "Requester"})


async def get_bucket_request_payment(ctx: Context) -> Result:
    bucket = existing_bucket(ctx)
    await ctx.backend.head_bucket(bucket.name)
    doc = XmlWriter("RequestPaymentConfiguration")
    doc.el("Payer", "BucketOwner")
    doc.close("RequestPaymentConfiguration")
    return Result(xml=bytes(doc))


async def put_bucket_request_payment(ctx: Context) -> Result:
    bucket = existing_bucket(ctx)
    await ctx.backend.head_bucket(bucket.name)
    root = parse_xml(await ctx.xml_body())
    if local(root.tag) != "RequestPaymentConfiguration":
        raise S3Error("MalformedXML")
    payer = child_text(root, "Payer")
    if payer not in _PAYERS:
        raise S3Error("MalformedXML")
    if payer == "Requester":
        raise S3Error("NotImplemented", "Requester Pays buckets are not supported")
    return Result()
