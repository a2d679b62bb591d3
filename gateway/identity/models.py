"""Records of the identity store. They never hold a secret, so their repr is safe to log."""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from gateway.principal import SYSTEM_ACCOUNT_ID, Principal

__all__ = [
    "MAX_MICROS",
    "MIN_MICROS",
    "AccessKey",
    "from_micros",
    "parse_instant",
    "require_aware",
    "to_micros",
    "utc_instant",
    "utcnow",
]

logger = logging.getLogger("gateway.identity.store")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# The instants a datetime can hold in UTC: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z.
MIN_MICROS = (datetime.min.replace(tzinfo=UTC) - _EPOCH) // _MICROSECOND
MAX_MICROS = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // _MICROSECOND
_MAX_INSTANT_TEXT = 64
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})"
)
"""RFC 3339's ``date-time`` (upper-case ``T`` and ``Z``): ``datetime.fromisoformat`` alone
also takes ISO 8601 forms RFC 3339 does not have (``2030-W01-1T...``, ``2030-001T...``,
``20300101T000000Z``, no seconds), which the OpenAPI ``format: date-time`` rules out."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def require_aware(when: datetime, name: str = "datetime") -> datetime:
    """Reject naive datetimes: the store compares instants, never wall-clock readings."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return when


def utc_instant(when: datetime, name: str = "datetime") -> datetime:
    """``when`` in UTC; ``ValueError`` unless it is aware and its UTC instant lies within
    years 1 to 9999 (``9999-12-31T23:59:59-14:00`` is in the year 10000 in UTC)."""
    require_aware(when, name)
    try:
        return when.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{name} must lie within the years 1 to 9999 in UTC") from None


def parse_instant(text: str, name: str = "datetime") -> datetime:
    """An RFC 3339 date-time with a time zone (``2030-01-01T00:00:00Z``), in UTC.
    ``ValueError`` for anything else, including instants outside years 1 to 9999 in UTC.
    The message never repeats ``text``."""
    message = f"{name} must be an RFC 3339 date-time with a time zone"
    if len(text) > _MAX_INSTANT_TEXT or not _RFC3339.fullmatch(text):
        raise ValueError(message)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(message) from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(message)
    return utc_instant(when, name)


def to_micros(when: datetime) -> int:
    """An aware datetime as integer microseconds since the Unix epoch (exact).

    ``ValueError`` for an instant outside years 1 to 9999 in UTC, so nothing written
    through here can make :func:`from_micros` fail later."""
    value = (require_aware(when) - _EPOCH) // _MICROSECOND
    if not MIN_MICROS <= value <= MAX_MICROS:
        raise ValueError("datetime must lie within the years 1 to 9999 in UTC")
    return value


def from_micros(value: int) -> datetime:
    """A stored timestamp as an aware UTC datetime.

    Defensive: a value outside what a datetime can hold (a row written by an older
    version, or by hand) is clamped to the nearest representable instant, which keeps
    its meaning (``expires_at`` far in the future stays far in the future; far in the
    past stays past), and logged once per value. Reading a row never raises for it."""
    if MIN_MICROS <= value <= MAX_MICROS:
        return _EPOCH + value * _MICROSECOND
    _warn_out_of_range(value)
    return (
        datetime.max.replace(tzinfo=UTC) if value > MAX_MICROS else datetime.min.replace(tzinfo=UTC)
    )


@functools.lru_cache(maxsize=256)
def _warn_out_of_range(value: int) -> None:
    """Log a stored out-of-range timestamp once per value (a listing reads it every time)."""
    logger.warning(
        "stored timestamp %d is outside years 1 to 9999 (UTC); read as the nearest"
        " representable instant",
        value,
    )


@dataclass(frozen=True, slots=True)
class AccessKey:
    """An access key: the AWS access key id of a SigV4 pair, and the record behind a
    Bearer / X-API-Key secret. The secret itself is never part of this record.

    ``buckets`` limits the key to those bucket names or ``*`` patterns (``None``: all).
    ``owner`` is the key id or user id that created it (``None``: bootstrap or CLI).
    ``is_root`` marks the bootstrap key managed from the environment
    (``NFYIO_ROOT_ACCESS_KEY``); it is re-synchronised at every start. ``account_id`` is
    the account the key acts for (the root key: the system account).
    """

    id: str
    name: str
    scopes: frozenset[str]
    buckets: tuple[str, ...] | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    owner: str | None
    is_root: bool = False
    account_id: str = SYSTEM_ACCOUNT_ID
    _principal: Principal | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )
    """:meth:`principal`'s answer once asked: the identity store keeps one instance per
    key's rows, so every request the key signs gets the same, immutable, principal."""

    def is_active(self, now: datetime) -> bool:
        """Not revoked (revocation is immediate and final) and not expired at ``now``."""
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at

    def principal(self) -> Principal:
        found = self._principal
        if found is None:
            found = self._make_principal()
            object.__setattr__(self, "_principal", found)
        return found

    def _make_principal(self) -> Principal:
        return Principal(
            kind="key",
            subject=self.id,
            scopes=self.scopes,
            key_id=self.id,
            buckets=self.buckets,
            expires_at=self.expires_at,
            account_id=self.account_id,
            root=self.is_root,
        )
