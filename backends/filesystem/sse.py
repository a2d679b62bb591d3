"""Server-side encryption rules of the filesystem backend: which bytes are encrypted how.

- A write is stored as its request says (SSE-C with the client's key, SSE-S3 for
  ``AES256``) or else as the bucket's default encryption says (``AES256`` or nothing).
  The decision, a ``Plan``, is recorded in the object's metadata (the ``meta`` JSON of its
  row: ``ObjectMeta.server_side_encryption`` / ``sse_customer_*``), never in a new column.
- An SSE-C object answers only to its key: no key is ``InvalidRequest`` (400), another
  key ``AccessDenied`` (403), a key for an object that has none ``InvalidRequest``. The
  key is checked against the stored HMAC (``KeySet.customer_hmac``) before any byte is
  read; the data key's unwrap checks it once more.
- A multipart upload's plan is fixed at CreateMultipartUpload (kept in the upload's
  metadata); each part is its own encrypted stream and must carry the same SSE-C key.
- SSE-C objects get a random ETag (AWS: "not an MD5 digest of the object data"): an MD5
  of the plaintext would let anyone listing the bucket confirm a guessed content.

The bucket default lives in the ``buckets.encryption`` column (JSON, NULL when unset),
added by :func:`ensure_bucket_column` to databases of any age.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import sqlite3
from collections.abc import Sequence

from backends.errors import BackendError, no_such_bucket
from backends.filesystem.encryption import (
    MODE_CUSTOMER,
    MODE_MANAGED,
    SEGMENT,
    BytesReader,
    KeySet,
    Layout,
    PlainReader,
    RawReader,
    ReadAt,
    Sealer,
    SoleSegmentReader,
    customer_kek,
    unwrapper,
)
from backends.types import (
    BucketEncryption,
    CompletionChecksums,
    CustomerKey,
    Encryption,
    ObjectMeta,
    Part,
    is_encrypted,
)
from sigv4.records import record

__all__ = [
    "PLAIN",
    "Plan",
    "bucket_encryption",
    "checksums_shown",
    "completion_key",
    "default_algorithm",
    "ensure_bucket_column",
    "object_reader",
    "part_sizes",
    "read_key",
    "request_customer",
    "set_bucket_encryption",
    "source_customer",
    "stored_plan",
    "write_plan",
]

AES256 = "AES256"
KMS_ALGORITHMS = frozenset({"aws:kms", "aws:kms:dsse"})
SSE_C_REQUIRED = (
    "The object was stored using a form of Server Side Encryption. The correct parameters "
    "must be provided to retrieve the object."
)
SSE_C_NOT_APPLICABLE = "The encryption parameters are not applicable to this object."
SSE_C_MULTIPART = (
    "The multipart upload initiate requested encryption. Subsequent part requests must "
    "include the appropriate encryption parameters."
)
SSE_C_MISMATCH = "The provided encryption parameters did not match the ones used originally."


def request_customer(encryption: Encryption | None) -> CustomerKey | None:
    return None if encryption is None else encryption.customer


def source_customer(encryption: Encryption | None) -> CustomerKey | None:
    return None if encryption is None else encryption.copy_source_customer


def default_algorithm(config: BucketEncryption | None) -> str | None:
    return None if config is None else config.algorithm


def _no_keys() -> BackendError:
    return BackendError(
        "NotImplemented", "Server-side encryption is not configured for this storage backend"
    )


@record
class Plan:
    """How the bytes of one write are stored: as sent, SSE-S3, or SSE-C with ``customer``."""

    mode: int | None = None
    customer: CustomerKey | None = None

    def apply(self, meta: ObjectMeta, keys: KeySet | None) -> ObjectMeta:
        """``meta`` with this plan's encryption fields (whatever ``meta`` said before: a
        copy's metadata never carries the source's encryption)."""
        if self.mode is None:
            if not is_encrypted(meta) and meta.sse_customer_key_hmac is None:
                return meta  # the plain PUT path: no copy of the metadata
            fields: dict[str, str | None] = {}
        elif self.mode == MODE_MANAGED:
            fields = {"server_side_encryption": AES256}
        else:
            assert self.customer is not None and keys is not None
            fields = {
                "sse_customer_algorithm": AES256,
                "sse_customer_key_md5": self.customer.key_md5,
                "sse_customer_key_hmac": keys.customer_hmac(self.customer.key),
            }
        return dataclasses.replace(
            meta,
            server_side_encryption=fields.get("server_side_encryption"),
            sse_customer_algorithm=fields.get("sse_customer_algorithm"),
            sse_customer_key_md5=fields.get("sse_customer_key_md5"),
            sse_customer_key_hmac=fields.get("sse_customer_key_hmac"),
        )

    def sealer(self, keys: KeySet | None) -> Sealer | None:
        """A new encrypted stream for this plan (None: stored as sent)."""
        if self.mode is None:
            return None
        if keys is None:
            raise _no_keys()
        if self.mode == MODE_MANAGED:
            return Sealer(
                keys.managed_kek(keys.current_id), mode=MODE_MANAGED, key_id=keys.current_id
            )
        assert self.customer is not None
        return Sealer(customer_kek(self.customer.key), mode=MODE_CUSTOMER)

    def describe(self, part: Part) -> Part:
        """``part`` (just written under this plan) saying it is SSE-S3 when it is."""
        if self.mode != MODE_MANAGED:
            return part
        return dataclasses.replace(part, server_side_encryption=AES256)

    def etag(self, md5_hex: str) -> str:
        return secrets.token_hex(16) if self.mode == MODE_CUSTOMER else md5_hex

    def stores_like(self, meta: ObjectMeta, keys: KeySet | None) -> bool:
        """Whether an object with ``meta`` already has its bytes stored as this plan would
        store them (a copy may then share the data file)."""
        if self.mode is None:
            return not is_encrypted(meta)
        if self.mode == MODE_MANAGED:
            return meta.server_side_encryption == AES256
        assert self.customer is not None
        return (
            meta.sse_customer_algorithm is not None
            and keys is not None
            and keys.customer_key_matches(meta.sse_customer_key_hmac, self.customer.key)
        )


PLAIN = Plan()


def write_plan(
    encryption: Encryption | None, bucket_default: str | None, keys: KeySet | None
) -> Plan:
    """The plan of a PutObject, CreateMultipartUpload or CopyObject (destination)."""
    customer = encryption.customer if encryption is not None else None
    algorithm = encryption.algorithm if encryption is not None else None
    if algorithm in KMS_ALGORITHMS:
        raise BackendError("NotImplemented", "SSE-KMS is not supported: there is no key store")
    if customer is not None:
        plan = Plan(MODE_CUSTOMER, customer)
    elif algorithm == AES256 or (algorithm is None and bucket_default == AES256):
        plan = Plan(MODE_MANAGED)
    elif algorithm is not None:
        raise BackendError(
            "InvalidArgument",
            "The encryption method specified is not supported",
            extra={"ArgumentName": "x-amz-server-side-encryption", "ArgumentValue": algorithm},
        )
    else:
        return PLAIN
    if keys is None:
        raise _no_keys()
    return plan


def stored_plan(meta: ObjectMeta, customer: CustomerKey | None, keys: KeySet | None) -> Plan:
    """The plan an upload was created with, for one of its parts: an SSE-C upload needs
    the same key on every UploadPart / UploadPartCopy."""
    if meta.sse_customer_algorithm is not None:
        if customer is None:
            raise BackendError("InvalidRequest", SSE_C_MULTIPART)
        if keys is None or not keys.customer_key_matches(meta.sse_customer_key_hmac, customer.key):
            raise BackendError("InvalidArgument", SSE_C_MISMATCH)
        return Plan(MODE_CUSTOMER, customer)
    if customer is not None:
        raise BackendError("InvalidRequest", SSE_C_NOT_APPLICABLE)
    return Plan(MODE_MANAGED) if meta.server_side_encryption == AES256 else PLAIN


def checksums_shown(
    meta: ObjectMeta,
    customer: CustomerKey | None,
    keys: KeySet | None,
    *,
    checksum_algorithm: str | None = None,
) -> bool:
    """Whether the checksums of an upload's parts, or of the object it made, may be shown
    (ListParts, CompleteMultipartUpload's answer): always for an upload without SSE-C;
    for an SSE-C one only to the holder of its key, since they are digests of the
    plaintext (which its random ETags keep from everyone else). A key that is not the
    upload's is refused as on UploadPart. S3 requires the key on ListParts of an SSE-C
    upload created with a checksum algorithm (``checksum_algorithm``): without it that
    is 400 ``InvalidRequest``, as an UploadPart without it."""
    if customer is not None:
        stored_plan(meta, customer, keys)  # raises unless it is the upload's key
        return True
    if meta.sse_customer_algorithm is None:
        return True
    if checksum_algorithm is not None:
        raise BackendError("InvalidRequest", SSE_C_MULTIPART)
    return False


def completion_key(
    meta: ObjectMeta,
    customer: CustomerKey | None,
    keys: KeySet | None,
    *,
    checksum_algorithm: str | None,
    checksums: CompletionChecksums | None,
) -> None:
    """The key a CompleteMultipartUpload of an upload presents. The parts are already
    encrypted, so joining them needs none; but comparing the checksums a completion lists
    with the parts' (digests of the plaintext) would answer whether a guess of the
    plaintext is right. So, as S3 requires the SSE-C headers on the completion of an
    upload created with a checksum algorithm, an SSE-C upload's completion without its
    key is refused (400 ``InvalidRequest``, as an UploadPart without it) when the upload
    has an algorithm or the request names any checksum; a key given must be the upload's.
    Up to the checksums named, as ListParts decides (``checksums_shown``)."""
    if checksums_shown(meta, customer, keys, checksum_algorithm=checksum_algorithm):
        return
    if checksums is not None and (
        any(checksums.parts.values())
        or checksums.algorithm is not None
        or checksums.value is not None
        or checksums.checksum_type is not None
    ):
        raise BackendError("InvalidRequest", SSE_C_MULTIPART)


def read_key(meta: ObjectMeta, customer: CustomerKey | None, keys: KeySet | None) -> bytes | None:
    """Check the SSE-C key a read (or a copy's source) presents; return it for an SSE-C
    object, None for any other. Runs before any byte is read or any precondition
    answered, as the key decides whether the caller may learn anything of the object."""
    if meta.sse_customer_algorithm is not None:
        if customer is None:
            raise BackendError("InvalidRequest", SSE_C_REQUIRED)
        if keys is None or not keys.customer_key_matches(meta.sse_customer_key_hmac, customer.key):
            raise BackendError("AccessDenied", "Access Denied")
        return customer.key
    if customer is not None:
        raise BackendError("InvalidRequest", SSE_C_NOT_APPLICABLE)
    return None


def part_sizes(size: int, parts: str | None) -> list[int]:
    """Plaintext sizes of an object's streams: its parts, or itself."""
    if parts is None:
        return [size]
    return [int(entry[1]) for entry in json.loads(parts)]  # [number, size(, checksums)]


def object_reader(
    source: int | bytes,
    meta: ObjectMeta,
    sizes: Sequence[int],
    keys: KeySet | None,
    customer_key: bytes | None,
) -> ReadAt:
    """Plaintext access to an object's open data file, or to its stored bytes (an inline
    object), decrypting when encrypted."""
    if not is_encrypted(meta):
        return RawReader(source) if isinstance(source, int) else BytesReader(source)
    if keys is None:
        raise _no_keys()
    unwrap = unwrapper(keys, customer_key)
    if isinstance(source, bytes) and len(sizes) == 1 and 0 < sizes[0] <= SEGMENT:
        return SoleSegmentReader(source, sizes[0], unwrap)
    return PlainReader(source, Layout(sizes), unwrap)


# -- the bucket default ------------------------------------------------------------------


def ensure_bucket_column(conn: sqlite3.Connection) -> None:
    """Add ``buckets.encryption`` if this database predates it (inside the caller's write
    transaction, so concurrent workers add it once)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(buckets)")}
    if "encryption" not in columns:
        conn.execute("ALTER TABLE buckets ADD COLUMN encryption TEXT")


def bucket_encryption(conn: sqlite3.Connection, bucket: str) -> BucketEncryption | None:
    """The bucket's default encryption (None: unset); raises ``NoSuchBucket``."""
    row = conn.execute("SELECT encryption FROM buckets WHERE name = ?", (bucket,)).fetchone()
    if row is None:
        raise no_such_bucket(bucket)
    return encryption_from_json(row[0])


def encryption_from_json(text: str | None) -> BucketEncryption | None:
    """The ``buckets.encryption`` column's value."""
    if text is None:
        return None
    value = json.loads(text)
    return BucketEncryption(
        algorithm=str(value["algorithm"]), bucket_key_enabled=bool(value.get("bucket_key"))
    )


def set_bucket_encryption(
    conn: sqlite3.Connection, bucket: str, config: BucketEncryption | None
) -> None:
    """Set (or with None remove) the bucket default, inside the caller's transaction."""
    if config is not None and config.algorithm != AES256:
        raise BackendError("NotImplemented", "SSE-KMS is not supported: there is no key store")
    text = None
    if config is not None:
        text = json.dumps(
            {"algorithm": config.algorithm, "bucket_key": config.bucket_key_enabled},
            separators=(",", ":"),
        )
    updated = conn.execute("UPDATE buckets SET encryption = ? WHERE name = ?", (text, bucket))
    if updated.rowcount == 0:
        raise no_such_bucket(bucket)
