"""Class: the Object Lock condition keys, on every action AWS gives them to.

``s3:object-lock-mode``, ``s3:object-lock-retain-until-date``,
``s3:object-lock-remaining-retention-days`` and ``s3:object-lock-legal-hold`` were refused
at PutBucketPolicy, so AWS's "no retention longer than N days" and "no COMPLIANCE mode"
policies could not be set. AWS gives them to ``s3:PutObject`` (the write's
``x-amz-object-lock-*`` headers), ``s3:PutObjectRetention`` / ``s3:PutObjectLegalHold``
(their body) and ``s3:BypassGovernanceRetention``. A key read from the headers only would
be absent on PutObjectRetention, where a ``Deny`` on a positive operator would then never
apply: the body is now read before the decision, and a write setting a lock is decided as
``s3:PutObjectRetention`` / ``s3:PutObjectLegalHold`` with its headers' values too.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.s3util import call_status
from tests.e2e.tenants import deny_on_objects


@pytest.fixture
def locked(s3: Any) -> str:
    name = f"lockkeys-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    return name


def _in(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


def _retain(s3: Any, bucket: str, mode: str, days: float) -> int:
    retention = {"Mode": mode, "RetainUntilDate": _in(days)}
    return call_status(s3.put_object_retention, Bucket=bucket, Key="k", Retention=retention)


def _put(s3: Any, bucket: str, **lock: Any) -> int:
    key = f"w-{uuid.uuid4().hex[:8]}"
    return call_status(s3.put_object, Bucket=bucket, Key=key, Body=b"w", **lock)


RETENTION = ["s3:PutObject", "s3:PutObjectRetention"]


def test_no_retention_longer_than_ten_days(s3: Any, locked: str) -> None:
    """AWS's example: ``NumericGreaterThan`` 10 remaining days. A date 10 days from now
    (a moment less by the time it is decided) is 10 days, rounded up."""
    deny_on_objects(
        s3,
        locked,
        RETENTION,
        {"NumericGreaterThan": {"s3:object-lock-remaining-retention-days": "10"}},
    )
    assert _retain(s3, locked, "GOVERNANCE", 30) == 403
    assert _retain(s3, locked, "GOVERNANCE", 10) == 200
    until = _in(30)
    assert _put(s3, locked, ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until) == 403
    assert _put(s3, locked, ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=_in(2)) == 200


def test_no_compliance_mode_and_no_date_past_a_limit(s3: Any, locked: str) -> None:
    limit = _in(100).strftime("%Y-%m-%dT%H:%M:%SZ")
    deny_on_objects(
        s3,
        locked,
        RETENTION,
        {"StringEquals": {"s3:object-lock-mode": "COMPLIANCE"}},
    )
    assert _retain(s3, locked, "COMPLIANCE", 1) == 403
    assert _put(s3, locked, ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=_in(1)) == 403
    assert _retain(s3, locked, "GOVERNANCE", 1) == 200
    deny_on_objects(
        s3,
        locked,
        RETENTION,
        {"DateGreaterThan": {"s3:object-lock-retain-until-date": limit}},
    )
    assert _retain(s3, locked, "GOVERNANCE", 200) == 403
    assert _retain(s3, locked, "GOVERNANCE", 50) == 200


def test_no_legal_hold(s3: Any, locked: str) -> None:
    deny_on_objects(
        s3,
        locked,
        ["s3:PutObjectLegalHold"],
        {"StringEquals": {"s3:object-lock-legal-hold": "ON"}},
    )
    hold = s3.put_object_legal_hold
    assert call_status(hold, Bucket=locked, Key="k", LegalHold={"Status": "ON"}) == 403
    assert call_status(hold, Bucket=locked, Key="k", LegalHold={"Status": "OFF"}) == 200
    # a write setting a hold is decided as s3:PutObjectLegalHold too, with its header
    assert _put(s3, locked, ObjectLockLegalHoldStatus="ON") == 403
    assert _put(s3, locked, ObjectLockLegalHoldStatus="OFF") == 200


def test_the_keys_are_fed_where_present_and_absent_elsewhere(s3: Any, locked: str) -> None:
    """``Null`` on each key: present on the requests that ask for a lock, absent on a
    write asking for none and on the removal of a retention."""
    for key in ("mode", "retain-until-date", "remaining-retention-days"):
        deny_on_objects(s3, locked, RETENTION, {"Null": {f"s3:object-lock-{key}": "false"}})
        assert _retain(s3, locked, "GOVERNANCE", 1) == 403, key
        assert _put(s3, locked) == 200, key
        deny_on_objects(s3, locked, RETENTION, {"Null": {f"s3:object-lock-{key}": "true"}})
        assert _retain(s3, locked, "GOVERNANCE", 1) == 200, key
    deny_on_objects(
        s3, locked, ["s3:PutObjectLegalHold"], {"Null": {"s3:object-lock-legal-hold": "true"}}
    )
    hold = s3.put_object_legal_hold
    assert call_status(hold, Bucket=locked, Key="k", LegalHold={"Status": "OFF"}) == 200


def test_a_malformed_body_is_refused_before_the_decision(s3: Any, locked: str) -> None:
    deny_on_objects(
        s3, locked, ["s3:PutObjectLegalHold"], {"StringEquals": {"s3:object-lock-legal-hold": "ON"}}
    )
    hold = s3.put_object_legal_hold
    assert call_status(hold, Bucket=locked, Key="k", LegalHold={"Status": "on"}) == 400


def test_the_decision_reads_the_date_the_version_keeps(s3: Any, locked: str) -> None:
    """A retain-until date is kept to the millisecond, fixed where it is parsed
    (``backends.locks.retention_date``): the decision reads the date the version gets and
    GetObjectRetention answers, not microseconds no version keeps. A Deny past ``.472Z``
    does not refuse ``.472706`` (kept as ``.472``), and refuses ``.473``."""
    base = datetime(datetime.now(UTC).year + 1, 1, 1, tzinfo=UTC)
    limit = base.replace(microsecond=472000).isoformat(timespec="milliseconds")
    deny_on_objects(
        s3,
        locked,
        RETENTION,
        {"DateGreaterThan": {"s3:object-lock-retain-until-date": limit.replace("+00:00", "Z")}},
    )
    sent = base.replace(microsecond=472706)
    retention = {"Mode": "GOVERNANCE", "RetainUntilDate": sent}
    assert call_status(s3.put_object_retention, Bucket=locked, Key="k", Retention=retention) == 200
    kept = s3.get_object_retention(Bucket=locked, Key="k")["Retention"]["RetainUntilDate"]
    assert kept == base.replace(microsecond=472000)
    assert _put(s3, locked, ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=sent) == 200
    later = {"Mode": "GOVERNANCE", "RetainUntilDate": base.replace(microsecond=473000)}
    assert call_status(s3.put_object_retention, Bucket=locked, Key="k", Retention=later) == 403
