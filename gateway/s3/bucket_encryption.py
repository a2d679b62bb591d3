"""Default bucket encryption: PutBucketEncryption, GetBucketEncryption,
DeleteBucketEncryption (the ``?encryption`` subresource).

The document (one rule)::

    <ServerSideEncryptionConfiguration>
      <Rule>
        <ApplyServerSideEncryptionByDefault>
          <SSEAlgorithm>AES256</SSEAlgorithm>
        </ApplyServerSideEncryptionByDefault>
        <BucketKeyEnabled>false</BucketKeyEnabled>
      </Rule>
    </ServerSideEncryptionConfiguration>

``AES256`` is stored (the backend applies it to writes that ask for no encryption);
``aws:kms`` / ``aws:kms:dsse`` answer ``NotImplemented`` (no key store). An unset
configuration reads as ``ServerSideEncryptionConfigurationNotFoundError`` (404) - unlike
AWS, which since 2023 reports SSE-S3 for every bucket: here a bucket without a default
stores objects as sent (see docs/security.md).
"""

from __future__ import annotations

from backends.types import BucketEncryption
from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.xml import XmlWriter, child_text, children, local, parse_xml

__all__ = ["delete_bucket_encryption", "get_bucket_encryption", "put_bucket_encryption"]

_ALGORITHMS = frozenset({"AES256", "aws:kms", "aws:kms:dsse"})


def _parse(body: bytes) -> BucketEncryption:
    root = parse_xml(body)
    if local(root.tag) != "ServerSideEncryptionConfiguration":
        raise S3Error("MalformedXML")
    rules = children(root, "Rule")
    if len(rules) != 1:
        raise S3Error("MalformedXML", "The configuration must hold exactly one Rule")
    defaults = children(rules[0], "ApplyServerSideEncryptionByDefault")
    if len(defaults) != 1:
        raise S3Error("MalformedXML")
    algorithm = (child_text(defaults[0], "SSEAlgorithm") or "").strip()
    if algorithm not in _ALGORITHMS:
        raise S3Error(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our "
            "published schema",
        )
    kms_key = child_text(defaults[0], "KMSMasterKeyID")
    if algorithm != "AES256":
        raise S3Error("NotImplemented", "SSE-KMS is not supported: the gateway has no key store")
    if kms_key is not None and kms_key.strip():
        raise S3Error(
            "InvalidArgument",
            "a KMSMasterKeyID is allowed only when SSEAlgorithm is aws:kms or aws:kms:dsse",
            extra={"ArgumentName": "ApplyServerSideEncryptionByDefault"},
        )
    bucket_key = (child_text(rules[0], "BucketKeyEnabled") or "false").strip().lower()
    if bucket_key not in ("true", "false"):
        raise S3Error("MalformedXML")
    return BucketEncryption(algorithm=algorithm, bucket_key_enabled=bucket_key == "true")


async def put_bucket_encryption(ctx: Context) -> Result:
    config = _parse(await ctx.xml_body())
    await ctx.backend.put_bucket_encryption(ctx.bucket, config)
    return Result()


async def get_bucket_encryption(ctx: Context) -> Result:
    config = await ctx.backend.get_bucket_encryption(ctx.bucket)
    doc = XmlWriter("ServerSideEncryptionConfiguration")
    doc.open("Rule")
    doc.open("ApplyServerSideEncryptionByDefault")
    doc.el("SSEAlgorithm", config.algorithm)
    doc.el("KMSMasterKeyID", config.kms_key_id)
    doc.close("ApplyServerSideEncryptionByDefault")
    doc.el("BucketKeyEnabled", config.bucket_key_enabled)
    doc.close("Rule")
    doc.close("ServerSideEncryptionConfiguration")
    return Result(xml=bytes(doc))


async def delete_bucket_encryption(ctx: Context) -> Result:
    await ctx.backend.delete_bucket_encryption(ctx.bucket)
    return Result(status=204)
