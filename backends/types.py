"""Typed values that cross the backend boundary. No HTTP framework types here.

Conventions:
- ETags are stored and passed **without** quotes (``"d41d8cd98f00b204e9800998ecf8427e"`` is
  the hex string; a multipart ETag is ``"<hex>-N"``). The gateway adds quotes on the wire.
- Checksums are keyed by S3 algorithm name in upper case (``sigv4.ALGORITHMS``: ``CRC32``,
  ``CRC32C``, ``CRC64NVME``, ``SHA1``, ``SHA256``, ``SHA512``, ``MD5``, ``XXHASH64``,
  ``XXHASH3``, ``XXHASH128``) with the base64 value S3 uses on the wire.
- Times are timezone-aware UTC ``datetime`` values.
- Keys are ``str`` (any UTF-8, up to 1024 bytes); ordering is by UTF-8 bytes.
- Version ids are ``str``: ``"null"`` names the null version (objects written while the
  bucket was never versioned or is suspended); ``None`` means "the latest version" on input
  and "the bucket was never versioned" on output.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Protocol

from sigv4.records import record


class PayloadStream(Protocol):
    """A request body on its way to a backend.

    Iterating yields the payload bytes (already de-chunked). Iteration raises (a
    ``sigv4`` error or ``BackendError``) if the body fails a check; the backend must then
    discard what it wrote. ``checksums`` is complete only once iteration has ended
    without error: trailer checksums arrive at the very end of the body.
    """

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    @property
    def checksums(self) -> Mapping[str, str]: ...


@record
class BucketInfo:
    name: str
    created_at: datetime
    region: str = "us-east-1"


@record
class ObjectMeta:
    """What a client sets on an object at write time (and gets back on read)."""

    content_type: str = "binary/octet-stream"
    content_encoding: str | None = None
    content_disposition: str | None = None
    content_language: str | None = None
    cache_control: str | None = None
    expires: str | None = None
    user_metadata: Mapping[str, str] = field(default_factory=dict)
    """``x-amz-meta-*`` values, keys lower-cased without the prefix."""
    storage_class: str = "STANDARD"
    # Server-side encryption at rest, set by the backend when it writes the object (what
    # a client sends is an ``Encryption``); None everywhere means stored as sent.
    server_side_encryption: str | None = None
    """``AES256`` for SSE-S3 (keys the gateway manages); None otherwise."""
    sse_customer_algorithm: str | None = None
    """``AES256`` for SSE-C (the client's key); None otherwise."""
    sse_customer_key_md5: str | None = None
    """SSE-C: the base64 MD5 of the client's key, as S3 echoes it."""
    sse_customer_key_hmac: str | None = None
    """SSE-C: a keyed HMAC of the client's key (the key itself is never stored), so a later
    request's key can be checked without touching the data. Never sent to clients."""
    missing_meta: int | None = None
    """How many ``x-amz-meta-*`` entries the write left out because their name was empty
    after the prefix (S3 stores none of them and answers their count in reads'
    ``x-amz-missing-meta``); None: none left out."""


@record
class CustomerKey:
    """An SSE-C key as one request presents it. Backends never store it."""

    key: bytes = field(repr=False)
    """The 32 raw key bytes (already checked against ``key_md5`` by the gateway)."""
    key_md5: str
    """The base64 MD5 of the key, as sent (and echoed)."""
    algorithm: str = "AES256"


@record
class Encryption:
    """The server-side encryption facts of one request.

    Writes (PutObject, CreateMultipartUpload, CopyObject): ``algorithm`` is the
    ``x-amz-server-side-encryption`` asked for (``AES256``; None: the bucket's default
    applies) and ``customer`` an SSE-C key to encrypt with. Reads (GetObject, HeadObject)
    and parts (UploadPart, UploadPartCopy): ``customer`` is the key of an SSE-C object or
    upload. Copies: ``copy_source_customer`` is the source's SSE-C key.
    """

    algorithm: str | None = None
    customer: CustomerKey | None = None
    copy_source_customer: CustomerKey | None = None


@record
class BucketEncryption:
    """A bucket's default encryption (Put/GetBucketEncryption): applied to writes that
    ask for none."""

    algorithm: str = "AES256"
    """``AES256`` (SSE-S3), or ``aws:kms`` / ``aws:kms:dsse`` where a backend has keys."""
    kms_key_id: str | None = None
    bucket_key_enabled: bool = False


def is_encrypted(meta: ObjectMeta) -> bool:
    """Whether an object's bytes are encrypted at rest (SSE-S3 or SSE-C)."""
    return meta.server_side_encryption is not None or meta.sse_customer_algorithm is not None


# Versioning states of a bucket (S3's words). ``None`` stands for "never versioned".
VERSIONING_ENABLED = "Enabled"
VERSIONING_SUSPENDED = "Suspended"
VERSIONING_STATES = (VERSIONING_ENABLED, VERSIONING_SUSPENDED)

# Object Lock retention modes.
GOVERNANCE = "GOVERNANCE"
COMPLIANCE = "COMPLIANCE"
RETENTION_MODES = (GOVERNANCE, COMPLIANCE)


@record
class ObjectLock:
    """The Object Lock state of one object version (or what a write asks for).

    ``mode`` and ``retain_until`` are set together or not at all (a retention period);
    ``legal_hold`` is None when no legal hold was ever set on the version, else ON/OFF.
    The rules that read these values live in ``backends.locks``.
    """

    mode: str | None = None
    retain_until: datetime | None = None
    legal_hold: bool | None = None


@record
class DefaultRetention:
    """A bucket's default retention: exactly one of ``days`` and ``years`` is set."""

    mode: str
    days: int | None = None
    years: int | None = None


@record
class ObjectLockConfig:
    """A bucket's Object Lock configuration (only buckets with Object Lock have one)."""

    default_retention: DefaultRetention | None = None


@record
class ObjectInfo:
    bucket: str
    key: str
    size: int
    etag: str
    last_modified: datetime
    meta: ObjectMeta = field(default_factory=ObjectMeta)
    checksums: Mapping[str, str] = field(default_factory=dict)
    version_id: str | None = None
    """``None`` in a bucket that was never versioned (S3 then sends no version header)."""
    parts_count: int | None = None
    """Number of parts for an object made by CompleteMultipartUpload, else None."""
    lock: ObjectLock | None = None
    """Retention and legal hold of this version, if any was ever set."""
    tag_count: int = 0
    """How many tags the version has (GET/HEAD answer it as ``x-amz-tagging-count``).
    Listings may leave it 0."""


@record
class CopiedObject(ObjectInfo):
    """What CopyObject wrote, and which version of the source it copied."""

    source_version_id: str | None = None
    """The source version copied (S3's ``x-amz-copy-source-version-id``), when the request
    named none too; None for a source in a bucket that was never versioned."""

    @classmethod
    def of(cls, info: ObjectInfo, source_version_id: str | None) -> CopiedObject:
        values = {f.name: getattr(info, f.name) for f in fields(ObjectInfo)}
        return cls(**values, source_version_id=source_version_id)


@record
class CompletedUpload(ObjectInfo):
    """What CompleteMultipartUpload answered, and whether the store made the object then."""

    retried: bool = False
    """True: the upload was completed before (a retry, or a completion that ran beside
    the one that made the object) and the answer is that object; nothing was written, so
    neither may the gateway's rows be. False when the store made it, or cannot tell."""

    @classmethod
    def of(cls, info: ObjectInfo, *, retried: bool) -> CompletedUpload:
        values = {f.name: getattr(info, f.name) for f in fields(ObjectInfo)}
        return cls(**values, retried=retried)


Tags = tuple[tuple[str, str], ...]
"""An object's tag set: (key, value) pairs, keys unique, in key order (the gateway
validates and sorts them before a backend sees them)."""


@record
class ObjectTagging:
    """The tag set of one object version (GetObjectTagging)."""

    tags: Tags
    version_id: str | None = None
    """The version the tags belong to (None: a never-versioned bucket's object)."""


@record
class ByteRange:
    """A single HTTP byte range as the client sent it (unresolved).

    ``bytes=a-b`` -> (a, b, None); ``bytes=a-`` -> (a, None, None);
    ``bytes=-n`` -> (None, None, n). Resolve against the size with
    ``backends.ranges.resolve_range``.
    """

    start: int | None = None
    end: int | None = None
    suffix: int | None = None


@record
class Conditions:
    """HTTP/S3 preconditions: If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since.

    ETag lists hold unquoted values; ``"*"`` matches any object. Evaluate with
    ``backends.conditions.check_conditions``. For CopyObject/UploadPartCopy these are the
    ``x-amz-copy-source-if-*`` headers and failures are always ``PreconditionFailed``.
    """

    if_match: tuple[str, ...] | None = None
    if_none_match: tuple[str, ...] | None = None
    if_modified_since: datetime | None = None
    if_unmodified_since: datetime | None = None


@record
class WriteCondition:
    """A conditional write (PutObject, CompleteMultipartUpload, CopyObject's destination).

    ``if_none_match``: ``If-None-Match: *``, write only if the key has no current object
    (a delete marker counts as none). ``if_match``: ``If-Match: <etag>`` (unquoted),
    replace only the current object with that ETag. Exactly one is set. Evaluate with
    ``backends.conditions.check_write``: ``PreconditionFailed`` when it fails as the
    request arrives, ``NoSuchKey`` for ``If-Match`` on a missing key,
    ``ConditionalRequestConflict`` when it held then but a concurrent write committed first.
    """

    if_none_match: bool = False
    if_match: str | None = None


@record
class CopySource:
    bucket: str
    key: str
    version_id: str | None = None
    conditions: Conditions = field(default_factory=Conditions)
    byte_range: tuple[int, int] | None = None
    """Inclusive (first, last) for UploadPartCopy's ``x-amz-copy-source-range``."""


@dataclass(slots=True)
class ObjectRead:
    """An open object body. ``first``/``last`` are the inclusive byte positions served.

    ``body`` streams exactly ``last - first + 1`` bytes (0 bytes for an empty object,
    where ``last == -1``). ``partial`` is True when a Range or partNumber selected a
    slice (the gateway answers 206). Call ``aclose`` if the body is not consumed.
    ``path`` is set by backends whose bytes sit in a local file (for sendfile).
    ``part_checksums``: a ``partNumber`` read's own checksums (algorithm -> value), set
    by backends that keep them for a part of a COMPOSITE multipart object; None when the
    slice has none to answer.
    """

    info: ObjectInfo
    body: AsyncIterator[bytes]
    first: int
    last: int
    partial: bool = False
    path: str | None = None
    part_checksums: Mapping[str, str] | None = None

    async def aclose(self) -> None:
        closer = getattr(self.body, "aclose", None)
        if closer is not None:
            await closer()

    def cache(self, offset: int, length: int) -> asyncio.Future[None] | None:
        """Bring bytes ``offset..offset+length-1`` of the local file (``fileno``) into the
        page cache before they are sent with ``sendfile``: None when they are there (or
        the backend cannot tell), else the future of their read on the backend's own
        threads. A ``sendfile`` runs on the event loop, and one that reads from the disk
        stalls every request of the process meanwhile."""
        cache = getattr(self.body, "cache", None)
        return None if cache is None else cache(offset, length)

    def fileno(self) -> int | None:
        """The open descriptor of the local file whose bytes ``first..last`` are the
        body as stored (a plain object of a file-backed backend), for ``sendfile``;
        None when the body must be read through ``body`` (encrypted, remote)."""
        if self.path is None:
            return None
        get = getattr(self.body, "fileno", None)
        return None if get is None else int(get())


@record
class ListPage:
    """One page of ListObjects. ``next_marker`` is the last key or common prefix returned.

    Contents and common prefixes together hold at most ``max_keys`` entries.
    """

    objects: tuple[ObjectInfo, ...]
    common_prefixes: tuple[str, ...]
    is_truncated: bool
    next_marker: str | None


@record
class ObjectVersion:
    """One entry of ListObjectVersions: a version or a delete marker.

    A delete marker's ``info`` has size 0, an empty ETag and default metadata; only its
    key, version id and last-modified time mean something.
    """

    info: ObjectInfo
    is_latest: bool
    delete_marker: bool = False


@record
class VersionsPage:
    """One page of ListObjectVersions, in key order and newest first within a key.

    ``versions`` and ``common_prefixes`` together hold at most ``max_keys`` entries. When
    truncated, the next page starts after (``next_key_marker``,
    ``next_version_id_marker``); the version marker is None when the page ended with a
    common prefix.
    """

    versions: tuple[ObjectVersion, ...]
    common_prefixes: tuple[str, ...]
    is_truncated: bool
    next_key_marker: str | None
    next_version_id_marker: str | None


@record
class DeleteResult:
    """What a deletion did. ``version_id`` is the version asked for (None: the latest).

    ``delete_marker`` is True when a delete marker was created (a delete without a version
    id in a versioned bucket) or permanently removed (a delete of a marker's version id);
    ``delete_marker_version_id`` is then that marker's version id.
    """

    key: str
    version_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    delete_marker: bool = False
    delete_marker_version_id: str | None = None


# Checksum types of an object's checksum (``x-amz-checksum-type``): a checksum of the
# whole object, or (multipart only) a checksum of the part checksums, ``<value>-N``.
COMPOSITE = "COMPOSITE"
FULL_OBJECT = "FULL_OBJECT"
CHECKSUM_TYPES = (COMPOSITE, FULL_OBJECT)


@record
class Upload:
    bucket: str
    key: str
    upload_id: str
    initiated: datetime | None
    """When the upload began; ``None`` when the store's answer did not say (S3's ListParts
    names no start: the s3 backend's ``list_parts`` knows none)."""
    meta: ObjectMeta = field(default_factory=ObjectMeta)
    checksum_algorithm: str | None = None
    checksum_type: str | None = None
    """``COMPOSITE`` or ``FULL_OBJECT`` when ``checksum_algorithm`` is set."""


@record
class CompletionChecksums:
    """What a CompleteMultipartUpload says about checksums, beside its part list.

    ``parts``: part number -> the ``Checksum<ALG>`` values its ``<Part>`` listed;
    ``algorithm`` / ``value``: an ``x-amz-checksum-<alg>`` header of the whole object;
    ``checksum_type``: ``x-amz-checksum-type``. Rules: ``backends.checksums``.
    """

    parts: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    algorithm: str | None = None
    value: str | None = None
    checksum_type: str | None = None


@record
class Part:
    part_number: int
    etag: str
    size: int
    last_modified: datetime
    checksums: Mapping[str, str] = field(default_factory=dict)
    server_side_encryption: str | None = None
    """``AES256`` when the part was stored with SSE-S3: UploadPart and UploadPartCopy say
    so (``x-amz-server-side-encryption``), as S3 does. Set on the part a write returns
    (not on ListParts' entries)."""
    source_version_id: str | None = None
    """UploadPartCopy: the source version copied (S3's ``x-amz-copy-source-version-id``),
    also when the request named none; None for a source in a never-versioned bucket."""


@record
class ObjectPart:
    """One part of an object made by CompleteMultipartUpload (GetObjectAttributes)."""

    part_number: int
    size: int
    checksums: Mapping[str, str] = field(default_factory=dict)


@record
class ObjectAttributes:
    """GetObjectAttributes: the object (or version) and a page of its parts.

    ``total_parts`` is None for an object not made by CompleteMultipartUpload (then
    ``parts`` is empty). The page holds the parts after ``part_number_marker``, at most
    ``max_parts``; ``next_part_number_marker`` is the last one listed.
    """

    info: ObjectInfo
    total_parts: int | None = None
    parts: tuple[ObjectPart, ...] = ()
    is_truncated: bool = False
    next_part_number_marker: int | None = None


@record
class PartsPage:
    upload: Upload
    parts: tuple[Part, ...]
    is_truncated: bool
    next_part_number_marker: int | None


@record
class UploadsPage:
    uploads: tuple[Upload, ...]
    common_prefixes: tuple[str, ...]
    is_truncated: bool
    next_key_marker: str | None
    next_upload_id_marker: str | None
