"""Records of the identity store. They never hold a secret, so their repr is safe to log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gateway.principal import SYSTEM_ACCOUNT_ID, Principal

__all__ = ["AccessKey", "from_micros", "require_aware", "to_micros", "utcnow"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def require_aware(when: datetime, name: str = "datetime") -> datetime:
    """Reject naive datetimes: the store compares instants, never wall-clock readings."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return when


def to_micros(when: datetime) -> int:
    """An aware datetime as integer microseconds since the Unix epoch (exact)."""
    return (require_aware(when) - _EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


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

    def is_active(self, now: datetime) -> bool:
        """Not revoked (revocation is immediate and final) and not expired at ``now``."""
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at

    def principal(self) -> Principal:
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
