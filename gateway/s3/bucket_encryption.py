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

**Blocking SSE-C** (``BlockedEncryptionTypes`` in the rule, S3's since 2025): ``SSE-C``
refuses every write that names a customer key for the object it writes (PutObject,
PostObject, CopyObject's destination, CreateMultipartUpload, UploadPart, UploadPartCopy,
CompleteMultipartUpload) with 403 ``AccessDenied``, on both backends: the gateway keeps it
as a bucket setting and decides it with the request's access decision
(``gateway/s3/access.py``); objects already written stay readable with their key. ``NONE``
allows SSE-C again. Our choices where S3 is silent (docs/security.md): a rule without
``BlockedEncryptionTypes`` leaves the setting as it was, a rule holding only
``BlockedEncryptionTypes`` changes only it, and DeleteBucketEncryption removes the
default encryption but not the block (neither loosens a security setting by omission).
"""

from __future__ import annotations

from lxml import etree

from backends.errors import BackendError
from backends.types import BucketEncryption
from gateway.s3.bucket_facts import BLOCKED_ENCRYPTION, SSE_C
from gateway.s3.context import Context, Result
from gateway.s3.errors import S3Error
from gateway.s3.ownership import existing_bucket
from gateway.s3.xml import XmlWriter, bool_element, children, local, parse_xml, sole_text

__all__ = ["delete_bucket_encryption", "get_bucket_encryption", "put_bucket_encryption"]

_ALGORITHMS = frozenset({"AES256", "aws:kms", "aws:kms:dsse"})
_ENCRYPTION_TYPES = frozenset({SSE_C, "NONE"})
_NOT_FOUND = "ServerSideEncryptionConfigurationNotFoundError"


def _blocked(rule: etree._Element) -> bool | None:
    """``BlockedEncryptionTypes``: True blocks SSE-C, False allows it, None (absent)
    leaves the setting as it is."""
    found = children(rule, "BlockedEncryptionTypes")
    if not found:
        return None
    if len(found) != 1:
        raise S3Error("MalformedXML")
    types = {(t.text or "").strip() for t in children(found[0], "EncryptionType")}
    if not types or not types <= _ENCRYPTION_TYPES or len(types) > 1:
        # one of S3's two values; SSE-C and NONE together say two things at once
        raise S3Error(
            "MalformedXML",
            "BlockedEncryptionTypes takes one EncryptionType: SSE-C or NONE",
        )
    return types == {SSE_C}


def _parse(body: bytes) -> tuple[BucketEncryption | None, bool | None]:
    """The default encryption (None: the rule names none, only a block) and the SSE-C
    block (None: unchanged)."""
    root = parse_xml(body)
    if local(root.tag) != "ServerSideEncryptionConfiguration":
        raise S3Error("MalformedXML")
    rules = children(root, "Rule")
    if len(rules) != 1:
        raise S3Error("MalformedXML", "The configuration must hold exactly one Rule")
    blocked = _blocked(rules[0])
    defaults = children(rules[0], "ApplyServerSideEncryptionByDefault")
    if not defaults and blocked is not None:
        return None, blocked
    if len(defaults) != 1:
        raise S3Error("MalformedXML")
    algorithm = (sole_text(defaults[0], "SSEAlgorithm") or "").strip()
    if algorithm not in _ALGORITHMS:
        raise S3Error(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our "
            "published schema",
        )
    kms_key = sole_text(defaults[0], "KMSMasterKeyID")
    if algorithm != "AES256":
        raise S3Error("NotImplemented", "SSE-KMS is not supported: the gateway has no key store")
    if kms_key is not None and kms_key.strip():
        raise S3Error(
            "InvalidArgument",
            "a KMSMasterKeyID is allowed only when SSEAlgorithm is aws:kms or aws:kms:dsse",
            extra={"ArgumentName": "ApplyServerSideEncryptionByDefault"},
        )
    bucket_key = bool_element(rules[0], "BucketKeyEnabled", default=False)
    config = BucketEncryption(algorithm=algorithm, bucket_key_enabled=bucket_key)
    return config, blocked


async def put_bucket_encryption(ctx: Context) -> Result:
    config, blocked = _parse(await ctx.xml_body())
    bucket = existing_bucket(ctx)
    if config is not None:
        await ctx.backend.put_bucket_encryption(ctx.bucket, config)
    settings = ctx.access.store.bucket_settings
    if blocked:
        await settings.put(bucket.name, BLOCKED_ENCRYPTION, SSE_C, owner=bucket.owner_id)
    elif blocked is not None:
        await settings.delete(bucket.name, BLOCKED_ENCRYPTION, owner=bucket.owner_id)
    return Result()


async def get_bucket_encryption(ctx: Context) -> Result:
    blocked = existing_bucket(ctx).sse_c_blocked
    config: BucketEncryption | None = None
    try:
        config = await ctx.backend.get_bucket_encryption(ctx.bucket)
    except BackendError as exc:
        if exc.code != _NOT_FOUND or not blocked:
            raise
    doc = XmlWriter("ServerSideEncryptionConfiguration")
    doc.open("Rule")
    if config is not None:
        doc.open("ApplyServerSideEncryptionByDefault")
        doc.el("SSEAlgorithm", config.algorithm)
        doc.el("KMSMasterKeyID", config.kms_key_id)
        doc.close("ApplyServerSideEncryptionByDefault")
        doc.el("BucketKeyEnabled", config.bucket_key_enabled)
    if blocked:
        doc.open("BlockedEncryptionTypes")
        doc.el("EncryptionType", SSE_C)
        doc.close("BlockedEncryptionTypes")
    doc.close("Rule")
    doc.close("ServerSideEncryptionConfiguration")
    return Result(xml=bytes(doc))


async def delete_bucket_encryption(ctx: Context) -> Result:
    await ctx.backend.delete_bucket_encryption(ctx.bucket)
    return Result(status=204)
