"""Settings of the upstream S3 backend."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CONDITIONAL_OPERATIONS", "UpstreamConfig"]

CONDITIONAL_OPERATIONS = (
    "PutObject",
    "CopyObject",
    "CompleteMultipartUpload",
    "DeleteObject",
    "DeleteObjects",
)
"""Where a store may decide a condition atomically: the writes' ``If-None-Match: *`` /
``If-Match``, DeleteObject's ``If-Match`` and DeleteObjects' ``<ETag>`` (its
``If-Match``)."""
_CONDITION_HEADERS = ("If-None-Match", "If-Match")

_CHECKSUM_SETTINGS = ("when_required", "when_supported")
_ADDRESSING = ("path", "virtual", "auto")


@dataclass(frozen=True, slots=True)
class UpstreamConfig:
    """How the gateway reaches its upstream store, and as whom.

    ``bucket_prefix`` is prepended verbatim: with ``bucket_prefix="nfyio-"`` the gateway
    bucket ``photos`` lives upstream as ``nfyio-photos`` (no separator is added). Buckets
    upstream without the prefix are invisible through the gateway.

    The secret never appears in ``repr``; the access key id is shown only as a prefix.
    """

    endpoint_url: str | None
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    region: str = "us-east-1"
    addressing_style: str = "path"
    bucket_prefix: str = ""
    request_checksum_calculation: str = "when_required"
    response_checksum_validation: str = "when_required"
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_pool_connections: int = 64
    ready_timeout: float = 2.0
    spool_threshold: int = 8 * 1024 * 1024
    """Bodies up to this size (or of unknown size) are spooled (memory, then a temp file)
    before the upstream request, so their checksums travel in the same request."""
    checksum_copy_max: int = 64 * 1024 * 1024
    """Streamed bodies up to this size get their checksums stored by a server-side
    self-copy after the upload; larger ones are stored without (a copy of gigabytes
    would double the upload's cost). 0 disables the copy."""
    fast_path: bool = True
    """HeadObject, GetObject, PutObject, UploadPart and ListObjectsV2 go through the lean
    client (``lean``) instead of aiobotocore, where it applies (``lean.usable``)."""
    conditional_writes: tuple[str, ...] = CONDITIONAL_OPERATIONS
    """Where the store decides ``If-None-Match: *`` / ``If-Match`` atomically with the
    write, so the gateway passes them on: ``PutObject``, ``CopyObject``,
    ``CompleteMultipartUpload`` (both headers), or ``<operation>:If-None-Match`` /
    ``<operation>:If-Match`` (one of them); ``DeleteObject`` (its ``If-Match``) and
    ``DeleteObjects`` (the ``<ETag>`` of its keys; without it, but with ``DeleteObject``,
    such keys are deleted one by one). Conditional writes and deletes elsewhere answer
    ``NotImplemented``: a store that ignores the header would overwrite (or delete)
    silently."""
    native_checksums: bool = False
    """Pass checksums to the store (PutObject, multipart algorithm and type, part and
    completion checksums) and read its own back (``ChecksumMode``), for stores that keep
    them (AWS S3; SeaweedFS partly). Off: the gateway's own record in user metadata."""

    def conditional(self, operation: str, header: str) -> bool:
        """Whether the store decides ``header`` (``If-None-Match``/``If-Match``) of
        ``operation`` atomically (``conditional_writes``)."""
        return (
            operation in self.conditional_writes
            or f"{operation}:{header}" in self.conditional_writes
        )

    def __post_init__(self) -> None:
        if not self.access_key_id or not self.secret_access_key:
            raise ValueError("upstream access_key_id and secret_access_key are required")
        if self.addressing_style not in _ADDRESSING:
            raise ValueError(f"addressing_style must be one of {_ADDRESSING}")
        for name in ("request_checksum_calculation", "response_checksum_validation"):
            if getattr(self, name) not in _CHECKSUM_SETTINGS:
                raise ValueError(f"{name} must be one of {_CHECKSUM_SETTINGS}")
        for entry in self.conditional_writes:
            operation, colon, header = entry.partition(":")
            if operation not in CONDITIONAL_OPERATIONS or (
                colon and header not in _CONDITION_HEADERS
            ):
                raise ValueError(f"conditional_writes: unknown entry {entry!r}")

    def __repr__(self) -> str:
        return (
            f"UpstreamConfig(endpoint_url={self.endpoint_url!r}, region={self.region!r}, "
            f"access_key_id={self.access_key_id[:4]!r}..., "
            f"addressing_style={self.addressing_style!r}, "
            f"bucket_prefix={self.bucket_prefix!r})"
        )
