"""Object Lock request headers (parsed once, by ``request.read_request``) and the
headers that describe a version's lock on GET/HEAD."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from backends.locks import retention_date
from backends.types import RETENTION_MODES, ObjectLock
from gateway.s3.errors import S3Error
from gateway.s3.flags import ECHO_LIMIT, parse_flag
from gateway.s3.xml import iso8601
from sigv4.checksums import CHECKSUM_HEADERS

__all__ = [
    "BYPASS_HEADER",
    "ECHO_LIMIT",
    "HOLD_HEADER",
    "MODE_HEADER",
    "UNTIL_HEADER",
    "check_future",
    "has_digest",
    "lock_headers",
    "parse_bypass",
    "parse_legal_hold",
    "parse_mode",
    "parse_object_lock",
    "parse_timestamp",
]

MODE_HEADER = "x-amz-object-lock-mode"
UNTIL_HEADER = "x-amz-object-lock-retain-until-date"
HOLD_HEADER = "x-amz-object-lock-legal-hold"
BYPASS_HEADER = "x-amz-bypass-governance-retention"
BUCKET_LOCK_HEADER = "x-amz-bucket-object-lock-enabled"


def parse_mode(value: str) -> str:
    if value not in RETENTION_MODES:
        raise S3Error("InvalidArgument", "Unknown wormMode directive.")
    return value


_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})", re.ASCII
)
"""The ISO 8601 profile of RFC 3339 that every SDK sends (botocore and the aws CLI
``2030-01-01T00:00:00Z`` or ``...00.123456Z``; the JS, Java and Go SDKs ``Z`` with up to
nine fraction digits; minio-go an offset): a full date and time to the second, and a
zone. A date alone, a time without seconds or zone, the basic format, a space for the
``T``, week dates and ``+hhmm`` offsets are refused (docs/architecture.md)."""


def _refused_date(message: str, name: str, sent: str) -> S3Error:
    """400 ``InvalidArgument`` naming ``name`` with what the client sent (as AWS echoes
    it: not a reading of it; its first ``ECHO_LIMIT`` characters, escaped where the error
    document is written)."""
    return S3Error(
        "InvalidArgument",
        message,
        extra={"ArgumentName": name, "ArgumentValue": sent[:ECHO_LIMIT]},
    )


def parse_timestamp(value: str, name: str = UNTIL_HEADER) -> datetime:
    """A retain-until timestamp (``_TIMESTAMP``), in UTC, to the millisecond
    (``backends.locks.retention_date``: the precision is fixed here, where the date is
    read, so the decision, the check that it is in the future, the stored date and its
    comparisons all see the date the client will read back). One whose UTC instant falls
    outside the years 1 to 9999 (``9999-12-31T23:59:59-10:00``) is refused like a
    malformed one: 400 ``InvalidArgument``, AWS's answer, naming the value."""
    text = value.strip()
    try:
        if _TIMESTAMP.fullmatch(text) is None:
            raise ValueError(text)
        return retention_date(datetime.fromisoformat(text).astimezone(UTC))
    except (ValueError, OverflowError) as exc:
        raise _refused_date(
            "The retain until date must be provided in ISO 8601 format", name, value
        ) from exc


def parse_legal_hold(value: str) -> bool:
    if value not in ("ON", "OFF"):
        raise S3Error("InvalidArgument", "Legal Hold must be either of 'ON' or 'OFF'")
    return value == "ON"


def parse_object_lock(headers: Mapping[str, str]) -> ObjectLock | None:
    """The ``x-amz-object-lock-*`` headers of PutObject / CopyObject /
    CreateMultipartUpload, or None when none was sent."""
    mode, until, hold = (headers.get(h) for h in (MODE_HEADER, UNTIL_HEADER, HOLD_HEADER))
    if mode is None and until is None and hold is None:
        return None
    if (mode is None) != (until is None):
        raise S3Error(  # AWS's code and words (InvalidArgument, not InvalidRequest)
            "InvalidArgument",
            "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied",
        )
    return ObjectLock(
        mode=None if mode is None else parse_mode(mode),
        retain_until=None if until is None else parse_timestamp(until),
        legal_hold=None if hold is None else parse_legal_hold(hold),
    )


def check_future(
    retain_until: datetime | None, now: datetime, sent: str, name: str = UNTIL_HEADER
) -> None:
    """A retain-until date must be in the future. Else 400 ``InvalidArgument`` naming
    ``name`` (the header on PutObject, CopyObject, CreateMultipartUpload and form
    uploads; ``RetainUntilDate`` in PutObjectRetention's body), with ``sent``, the date
    as the client wrote it, as ``ArgumentValue``: AWS's answer to both."""
    if retain_until is None or retain_until > now:
        return
    raise _refused_date("The retain until date must be in the future!", name, sent)


def parse_bypass(headers: Mapping[str, str]) -> bool:
    """``x-amz-bypass-governance-retention`` (``gateway.s3.flags``: a value other than
    true or false is refused, not read as false)."""
    return parse_flag(headers, BYPASS_HEADER)


def has_digest(headers: Mapping[str, str]) -> bool:
    """Whether a body comes with Content-MD5 or an ``x-amz-checksum-*`` value (as a
    header or announced as a trailer), as S3 requires of writes with Object Lock. An
    ``x-amz-trailer`` counts only when it names a checksum: an empty one announces none
    (and the body pipeline accepts it, expecting no trailer)."""
    if "content-md5" in headers:
        return True
    trailer = headers.get("x-amz-trailer")
    if trailer is not None and trailer.strip().lower() in CHECKSUM_HEADERS:
        return True
    return any(name in CHECKSUM_HEADERS for name in headers)


def lock_headers(lock: ObjectLock | None) -> dict[str, str]:
    """``x-amz-object-lock-*`` response headers describing a version (GET, HEAD)."""
    if lock is None:
        return {}
    out: dict[str, str] = {}
    if lock.mode is not None and lock.retain_until is not None:
        out[MODE_HEADER] = lock.mode
        out[UNTIL_HEADER] = iso8601(lock.retain_until.astimezone(UTC))
    if lock.legal_hold is not None:
        out[HOLD_HEADER] = "ON" if lock.legal_hold else "OFF"
    return out
