"""``ObjectMeta`` and checksums <-> upstream request parameters and response fields.

Checksums the client sent (and the gateway verified) are kept in upstream user metadata
under reserved keys ``x-amz-meta-nfyio-checksum-<alg>``; those keys never reach clients,
and a client cannot set them (any ``nfyio-`` user metadata key is dropped on write).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from backends.types import ObjectLock, ObjectMeta

__all__ = [
    "RESERVED_PREFIX",
    "checksum_metadata",
    "checksum_params",
    "expires_header",
    "lock_from_response",
    "lock_params",
    "meta_from_response",
    "meta_params",
    "native_checksums",
    "split_metadata",
    "utc",
]

RESERVED_PREFIX = "nfyio-"
_CHECKSUM_PREFIX = "nfyio-checksum-"
_ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
_CHECKSUM_FIELDS = tuple((alg, f"Checksum{alg}") for alg in _ALGORITHMS)


def utc(value: Any) -> datetime:
    """A timezone-aware UTC datetime from botocore's parsed timestamp."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    return datetime.now(UTC)


def expires_header(meta: ObjectMeta | None) -> dict[str, str] | None:
    """``Expires`` as a raw header: botocore types it as a timestamp, S3 stores whatever
    string the client sent."""
    return {"Expires": meta.expires} if meta is not None and meta.expires else None


def checksum_metadata(checksums: Mapping[str, str]) -> dict[str, str]:
    return {
        f"{_CHECKSUM_PREFIX}{alg.lower()}": value
        for alg, value in checksums.items()
        if alg.upper() in _ALGORITHMS
    }


def checksum_params(checksums: Mapping[str, str]) -> dict[str, str]:
    """``Checksum<ALG>`` request parameters: the store's own checksum of the body."""
    return {f"Checksum{alg.upper()}": value for alg, value in checksums.items()}


def user_metadata(meta: ObjectMeta) -> dict[str, str]:
    return {
        k.lower(): v
        for k, v in meta.user_metadata.items()
        if not k.lower().startswith(RESERVED_PREFIX)
    }


def meta_params(meta: ObjectMeta, checksums: Mapping[str, str]) -> dict[str, Any]:
    """PutObject / CreateMultipartUpload / CopyObject(REPLACE) parameters for ``meta``.

    ``Expires`` is not among them: botocore insists on a timestamp, S3 stores any string;
    the backend sends it as a raw header (see ``backend._extra_headers``).
    """
    params: dict[str, Any] = {
        "ContentType": meta.content_type,
        "Metadata": {**user_metadata(meta), **checksum_metadata(checksums)},
    }
    optional = {
        "ContentEncoding": meta.content_encoding,
        "ContentDisposition": meta.content_disposition,
        "ContentLanguage": meta.content_language,
        "CacheControl": meta.cache_control,
    }
    params.update({k: v for k, v in optional.items() if v is not None})
    if meta.storage_class and meta.storage_class != "STANDARD":
        params["StorageClass"] = meta.storage_class
    return params


def split_metadata(raw: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(user metadata without reserved keys, checksums) from upstream ``Metadata``."""
    user: dict[str, str] = {}
    checksums: dict[str, str] = {}
    for key, value in raw.items():
        lowered = key.lower()
        if lowered.startswith(_CHECKSUM_PREFIX):
            checksums[lowered[len(_CHECKSUM_PREFIX) :].upper()] = value
        elif not lowered.startswith(RESERVED_PREFIX):
            user[lowered] = value
    return user, checksums


def lock_params(lock: ObjectLock | None) -> dict[str, Any]:
    """PutObject / CopyObject / CreateMultipartUpload parameters for Object Lock settings."""
    if lock is None:
        return {}
    params: dict[str, Any] = {}
    if lock.mode is not None and lock.retain_until is not None:
        params["ObjectLockMode"] = lock.mode
        params["ObjectLockRetainUntilDate"] = lock.retain_until
    if lock.legal_hold is not None:
        params["ObjectLockLegalHoldStatus"] = "ON" if lock.legal_hold else "OFF"
    return params


def lock_from_response(response: Mapping[str, Any]) -> ObjectLock | None:
    """The Object Lock state a HeadObject/GetObject response describes, if any."""
    mode = response.get("ObjectLockMode") or None
    until = response.get("ObjectLockRetainUntilDate")
    hold = response.get("ObjectLockLegalHoldStatus")
    if mode is None and hold is None:
        return None
    return ObjectLock(
        mode=mode,
        retain_until=utc(until) if mode is not None and until is not None else None,
        legal_hold=None if hold is None else hold == "ON",
    )


def native_checksums(response: Mapping[str, Any]) -> dict[str, str]:
    """The store's own ``Checksum<ALG>`` fields of an answer (present when it keeps them
    and was asked: ``ChecksumMode=ENABLED``, or the answer to a write)."""
    found: dict[str, str] = {}
    for alg, field in _CHECKSUM_FIELDS:
        value = response.get(field)
        if value:
            found[alg] = str(value)
    return found


def meta_from_response(response: Mapping[str, Any]) -> tuple[ObjectMeta, dict[str, str]]:
    """(ObjectMeta, checksums) from a HeadObject/GetObject response: the gateway's record
    in user metadata, the store's own checksums (which win for their algorithm) and the
    encryption the store reports (what ``with_sse`` adds to other answers' metadata)."""
    user, checksums = split_metadata(response.get("Metadata") or {})
    checksums.update(native_checksums(response))
    headers: Mapping[str, str] = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    expires = response.get("ExpiresString") or headers.get("expires")
    meta = ObjectMeta(
        content_type=response.get("ContentType") or "binary/octet-stream",
        content_encoding=response.get("ContentEncoding") or None,
        content_disposition=response.get("ContentDisposition") or None,
        content_language=response.get("ContentLanguage") or None,
        cache_control=response.get("CacheControl") or None,
        expires=expires or None,
        user_metadata=user,
        storage_class=response.get("StorageClass") or "STANDARD",
        server_side_encryption=response.get("ServerSideEncryption") or None,
        sse_customer_algorithm=response.get("SSECustomerAlgorithm") or None,
        sse_customer_key_md5=response.get("SSECustomerKeyMD5") or None,
    )
    return meta, checksums
