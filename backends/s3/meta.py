"""``ObjectMeta`` and checksums <-> upstream request parameters and response fields.

Checksums the client sent (and the gateway verified) are kept in upstream user metadata
under reserved keys ``x-amz-meta-nfyio-checksum-<alg>``; those keys never reach clients,
and a client cannot set them (any ``nfyio-`` user metadata key is dropped on write).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from backends.locks import retention_date
from backends.s3.params import etag_parts
from backends.s3.wire import META_PREFIX, parse_http_date, parse_iso_date
from backends.types import COMPOSITE, ObjectInfo, ObjectLock, ObjectMeta
from sigv4 import ALGORITHMS, CHECKSUM_MEMBERS
from sigv4.memo import remember

__all__ = [
    "RESERVED_PREFIX",
    "checksum_metadata",
    "checksum_params",
    "expires_header",
    "lock_params",
    "meta_params",
    "native_checksums",
    "object_info",
    "part_checksums",
    "utc",
]

RESERVED_PREFIX = "nfyio-"
_CHECKSUM_PREFIX = "nfyio-checksum-"
_MISSING_META = "nfyio-missing-meta"
"""``ObjectMeta.missing_meta``, kept as user metadata of the stored object."""


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
        if alg.upper() in ALGORITHMS
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
    if meta.missing_meta:
        params["Metadata"][_MISSING_META] = str(meta.missing_meta)
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


def native_checksums(response: Mapping[str, Any]) -> dict[str, str]:
    """The store's own ``Checksum<ALG>`` fields of an answer (present when it keeps them
    and was asked: ``ChecksumMode=ENABLED``, or the answer to a write)."""
    found: dict[str, str] = {}
    for field, value in response.items():  # a part or an answer has a few fields
        alg = CHECKSUM_MEMBERS.get(field)
        if alg is not None and value:
            found[alg] = str(value)
    return found


# HeadObject / GetObject answer header -> what it is in an ObjectInfo: the name of an
# ObjectMeta field (a string; an empty value means unset), ``(algorithm,)`` for one of the
# store's own checksums, or one of the ints below for the rest. One dict, one look-up per
# header: most headers of an answer (Date, Server, x-amz-request-id...) are none of these.
_ETAG, _MODIFIED, _VERSION, _PARTS, _TAGS, _MODE, _UNTIL, _HOLD, _SSE_C, _SSE_C_MD5 = range(10)
_ANSWER_HEADERS: dict[str, str | int | tuple[str]] = {
    "content-type": "content_type",
    "content-encoding": "content_encoding",
    "content-disposition": "content_disposition",
    "content-language": "content_language",
    "cache-control": "cache_control",
    "expires": "expires",
    "x-amz-storage-class": "storage_class",
    "x-amz-server-side-encryption": "server_side_encryption",
    "x-amz-server-side-encryption-customer-algorithm": _SSE_C,
    "x-amz-server-side-encryption-customer-key-md5": _SSE_C_MD5,
    **{f"x-amz-checksum-{alg.lower()}": (alg,) for alg in ALGORITHMS},
    "etag": _ETAG,
    "last-modified": _MODIFIED,
    "x-amz-version-id": _VERSION,
    "x-amz-mp-parts-count": _PARTS,
    "x-amz-tagging-count": _TAGS,
    "x-amz-object-lock-mode": _MODE,
    "x-amz-object-lock-retain-until-date": _UNTIL,
    "x-amz-object-lock-legal-hold": _HOLD,
}


_IGNORED = ("date", "x-amz-request-id", "x-amz-id-2")
"""Headers that differ on every answer and that ``object_info`` never reads (neither in
``_ANSWER_HEADERS`` nor user metadata): left out of what the memo compares."""
assert not any(name in _ANSWER_HEADERS or name.startswith(META_PREFIX) for name in _IGNORED)
_INFOS_MAX = 2048
_INFO_KEY_MAX = 4 * 1024
"""Answers whose headers (but ``_IGNORED``: names and values) hold more characters than
this are read and not remembered: the memo holds at most ``_INFOS_MAX`` entries of about
this size whatever a store sends."""
_infos: dict[tuple[str, str, int, str | None, str | None], tuple[dict[str, str], ObjectInfo]] = {}
_seen: dict[int, None] = {}
"""The hashes of the memo keys of the last (up to) ``_INFOS_MAX`` answers read and not
remembered: an answer whose key is among them is remembered. As many as the memo holds: an
object read again within that many other reads may still be in the memo when read once
more. A hash that two keys share only remembers one of them a read early."""


def object_info(bucket: str, key: str, headers: Mapping[str, str], size: int) -> ObjectInfo:
    """The ``ObjectInfo`` a HeadObject / GetObject answer describes, read from its headers
    (``_read``), remembered: a HEAD or GET of an object read before, unchanged, gets the
    same ``ObjectInfo`` (an immutable record, as the filesystem backend's row cache hands
    out) instead of reading the headers, the date and the metadata again. Exact: an entry
    answers only an answer whose headers but ``_IGNORED`` (values a reading never looks
    at) equal the ones it was read from, for the same bucket, key and size; it is found by
    those three, the ETag and ``Last-Modified`` alone, so a miss (an object not read
    lately: most reads of a large working set) hashes a short key, not every header (a
    key of every header cost a miss ~2.9 us more than reading). An answer without a
    readable ``Last-Modified`` (its time is the reading's) is not remembered. At most
    ``_INFOS_MAX`` entries (``sigv4.memo.remember``).

    Remembered on its second read lately, not its first (``_seen``): an object read once
    in a while, as each of a scan over more objects than the memo holds is, would only
    cost each read the copy, sizing and storing of its headers (about 12k of a miss's 46k
    instructions) and push out what is read again."""
    memo_key = (bucket, key, size, headers.get("etag"), headers.get("last-modified"))
    found = _infos.get(memo_key)
    if found is None:
        mark = hash(memo_key)
        if mark not in _seen:
            remember(_seen, mark, None, _INFOS_MAX)
            # the same reading: ``_read`` looks at no header of ``_IGNORED``
            return _read(bucket, key, headers, size)[0]
    kept = dict(headers)  # less _IGNORED, spelled out: three C calls, no loop
    kept.pop("date", None)
    kept.pop("x-amz-request-id", None)
    kept.pop("x-amz-id-2", None)
    if found is not None and found[0] == kept:
        return found[1]
    info, dated = _read(bucket, key, kept, size)
    if dated and sum(map(len, kept.values())) + sum(map(len, kept)) <= _INFO_KEY_MAX:
        remember(_infos, memo_key, (kept, info), _INFOS_MAX)
    return info


def _read(bucket: str, key: str, headers: Mapping[str, str], size: int) -> tuple[ObjectInfo, bool]:
    """The ``ObjectInfo`` a HeadObject / GetObject answer describes, read from its headers,
    and whether its ``Last-Modified`` was read (else the time is the reading's).

    ``headers`` has lower-case names: the lean client's ``Response.headers`` or botocore's
    ``ResponseMetadata.HTTPHeaders``, so both clients share this one reading. User
    metadata comes without the gateway's reserved keys; the checksums are the ones the
    gateway recorded there, and the store's own (``x-amz-checksum-*``, when it keeps them
    and was asked) win for their algorithm. One pass over the headers the answer has:
    this runs for every proxied HEAD and GET.
    """
    meta: dict[str, Any] = {}
    user: dict[str, str] = {}
    checksums: dict[str, str] = {}
    native: dict[str, str] = {}
    found: dict[int, str] = {}
    kind_of = _ANSWER_HEADERS.get
    for name, value in headers.items():
        kind = kind_of(name)
        if kind is None:
            if name.startswith(META_PREFIX):
                meta_key = name[len(META_PREFIX) :]
                if meta_key.startswith(_CHECKSUM_PREFIX):
                    checksums[meta_key[len(_CHECKSUM_PREFIX) :].upper()] = value
                elif not meta_key.startswith(RESERVED_PREFIX):
                    user[meta_key] = value
                elif meta_key == _MISSING_META and value.isdigit():
                    meta["missing_meta"] = int(value)
        elif isinstance(kind, str):
            if value:
                meta[kind] = value
        elif isinstance(kind, int):
            found[kind] = value
        elif value:
            native[kind[0]] = value
    meta["user_metadata"] = user
    if _SSE_C in found or _SSE_C_MD5 in found:
        # SeaweedFS sends the key MD5 twice: one value, not "v, v" as the joined
        # header reads (an SDK comparing the key's MD5 would refuse the answer)
        meta["sse_customer_algorithm"] = _first(found.get(_SSE_C))
        meta["sse_customer_key_md5"] = _first(found.get(_SSE_C_MD5))
    if native:
        checksums.update(native)
    etag = found.get(_ETAG, "").strip('"')
    modified = found.get(_MODIFIED)
    parts = found.get(_PARTS, "")
    count = int(parts) if parts.isdigit() else 0
    tags = found.get(_TAGS, "")
    dated = parse_http_date(modified) if modified else None
    info = ObjectInfo(
        bucket=bucket,
        key=key,
        size=size,
        etag=etag,
        last_modified=dated or datetime.now(UTC),
        meta=ObjectMeta(**meta),
        checksums=checksums,
        version_id=found.get(_VERSION),
        parts_count=count or etag_parts(etag),
        lock=_lock(found) if _MODE in found or _HOLD in found else None,
        tag_count=int(tags) if tags.isdigit() else 0,
    )
    return info, dated is not None


def _first(value: str | None) -> str | None:
    """The first of a header's values joined by commas (values without commas)."""
    return value.split(",", 1)[0].strip() or None if value else None


def _lock(found: Mapping[int, str]) -> ObjectLock | None:
    """The Object Lock state of the version, if the answer names any."""
    mode = found.get(_MODE) or None
    hold = found.get(_HOLD)
    if mode is None and hold is None:
        return None
    text = found.get(_UNTIL)
    until = parse_iso_date(text) if mode is not None and text else None
    return ObjectLock(
        mode=mode,
        # to the millisecond, as answered (``backends.locks.retention_date``): a store
        # may keep a date with microseconds (moto keeps the text it was sent)
        retain_until=None if until is None else retention_date(until),
        legal_hold=None if hold is None else hold == "ON",
    )


def part_checksums(headers: Mapping[str, str]) -> dict[str, str] | None:
    """The store's own checksums of one part, from its answer to a ``partNumber`` read
    with checksum mode (lower-case header names), as S3 answers them for a part of a
    COMPOSITE multipart object: ``x-amz-checksum-type: COMPOSITE`` and values without
    ``-N``. None when the store answers none (SeaweedFS), or only values that describe
    the whole object (a ``-N`` composite value, a FULL_OBJECT value: moto answers those
    for a part read), which a client would check the part's bytes against and refuse.
    The gateway's own record (``nfyio-checksum-*`` metadata) describes the whole object
    too, so it is never a part's."""
    if headers.get("x-amz-checksum-type", "").upper() != COMPOSITE:
        return None
    found = {
        alg: value
        for alg in ALGORITHMS
        if (value := headers.get(f"x-amz-checksum-{alg.lower()}", "")) and "-" not in value
    }
    return found or None
