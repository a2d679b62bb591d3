"""Object Lock rules shared by every backend that enforces them itself.

Pure functions over ``ObjectLock`` values and a clock, as AWS documents them:

- A version is *protected* while it has an unexpired retention period or a legal hold ON.
  A protected version cannot be deleted permanently (``AccessDenied``): COMPLIANCE never,
  GOVERNANCE only by a caller allowed to bypass governance who sent
  ``x-amz-bypass-governance-retention: true``; a legal hold by no one until released.
  Adding a delete marker is always allowed (it deletes nothing).
- A retention period can always be extended (a later or the same date, GOVERNANCE ->
  COMPLIANCE).
  COMPLIANCE can never be shortened, weakened to GOVERNANCE or removed while it lasts;
  GOVERNANCE only with the bypass.
- A bucket's default retention applies to a new version that names no retention of its
  own, counted from the version's creation time.

A retain-until date is an instant to the millisecond, S3's precision (GetObjectRetention
and the ``x-amz-object-lock-retain-until-date`` header answer milliseconds). The
precision is fixed where a date is made, once (:func:`retention_date`): where the gateway
parses a client's date (``gateway/s3/lock_headers.py``), where a default retention is
counted (:func:`effective_lock`), where the filesystem backend reads a row stored with
microseconds before (``columns.lock_from_json``) and where the s3 backend reads an upstream
store's date (``backends/s3/meta.py`` ``_lock``, ``versions._lock_without_head``): AWS keeps
milliseconds and SeaweedFS whole seconds, but a store may keep what it was sent (moto keeps
the text; a gateway forwarded a client's microseconds before dates were fixed at parse).
So the date stored, the one answered, the one a policy's ``s3:object-lock-*`` keys read
and the ones compared here are the same, and a date sent back as it was read is the date
the version has (``tests/e2e/test_upstream_lock_dates.py`` for an upstream store's).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from backends.errors import BackendError
from backends.types import COMPLIANCE, GOVERNANCE, DefaultRetention, ObjectLock

__all__ = [
    "check_deletable",
    "check_retention_change",
    "effective_lock",
    "missing_lock_configuration",
    "retained",
    "retention_date",
]


def retention_date(when: datetime) -> datetime:
    """``when`` to the millisecond (the microseconds below it dropped, as S3 answers a
    date sent with them): the precision of every retain-until date (module docstring).
    boto3 sends a ``datetime``'s microseconds; kept, the date read back (milliseconds)
    and sent again to repeat a retention or turn GOVERNANCE into COMPLIANCE was earlier
    than the stored one by under a millisecond, a shortening refused ``AccessDenied``."""
    below = when.microsecond % 1000
    return when.replace(microsecond=when.microsecond - below) if below else when


def missing_lock_configuration() -> BackendError:
    return BackendError("InvalidRequest", "Bucket is missing Object Lock Configuration")


def _locked(message: str) -> BackendError:
    return BackendError("AccessDenied", message)


def retained(lock: ObjectLock | None, now: datetime) -> bool:
    """Whether ``lock`` holds a retention period that has not expired at ``now``."""
    return (
        lock is not None
        and lock.mode is not None
        and lock.retain_until is not None
        and lock.retain_until > now
    )


def check_deletable(lock: ObjectLock | None, *, bypass_governance: bool, now: datetime) -> None:
    """Raise ``AccessDenied`` unless a version with ``lock`` may be deleted permanently."""
    if lock is None:
        return
    if lock.legal_hold:
        raise _locked("Access Denied because object protected by object lock (legal hold)")
    if not retained(lock, now):
        return
    if lock.mode == COMPLIANCE or not bypass_governance:
        raise _locked("Access Denied because object protected by object lock")


def check_retention_change(
    current: ObjectLock | None,
    mode: str | None,
    retain_until: datetime | None,
    *,
    bypass_governance: bool,
    now: datetime,
) -> None:
    """Raise ``AccessDenied`` unless the version's retention may become (mode, until);
    ``mode=None`` removes the retention period."""
    if not retained(current, now):
        return
    assert current is not None and current.retain_until is not None
    extends = (
        mode is not None
        and retain_until is not None
        and retain_until >= current.retain_until
        and (mode == COMPLIANCE or current.mode == GOVERNANCE)
    )
    if extends:
        return
    if current.mode == GOVERNANCE and bypass_governance:
        return
    raise _locked("Access Denied because object protected by object lock")


def effective_lock(
    requested: ObjectLock | None, default: DefaultRetention | None, created: datetime
) -> ObjectLock | None:
    """The lock a new version gets: its own retention, else the bucket's default one,
    until ``created`` plus the period, to the millisecond."""
    if default is None or (requested is not None and requested.mode is not None):
        return requested
    if default.years is not None:
        until = _add_years(created, default.years)
    else:
        until = created + timedelta(days=default.days or 0)
    legal_hold = None if requested is None else requested.legal_hold
    return ObjectLock(default.mode, retention_date(until), legal_hold)


def _add_years(when: datetime, years: int) -> datetime:
    """Calendar years (29 February becomes 28 February in a common year)."""
    try:
        return when.replace(year=when.year + years)
    except ValueError:
        return when.replace(year=when.year + years, day=28)
