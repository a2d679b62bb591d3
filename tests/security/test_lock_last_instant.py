"""Class: a retain-until date the gateway accepts but cannot read back.

S3 takes any future retain-until date, and the gateway accepts up to the last instant
datetime holds, 9999-12-31T23:59:59.999999Z. The filesystem backend stored it through a
float, which rounded it to the year 10000: from then on every HEAD, GET and
GetObjectRetention of the version, every ListObjectVersions of its bucket (so every
lifecycle pass over it) and every delete of the version answered 500. Anyone allowed
``s3:PutObjectRetention`` (the ``write:objects`` scope) could do that to any version and,
with COMPLIANCE, keep it so: the retention can never be shortened. Now the date is
stored and read in integer microseconds, and one stored before reads as that last
instant.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from backends.filesystem.columns import from_us, lock_from_json
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import expect_error

LAST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
LAST_KEPT = LAST.replace(microsecond=999000)
"""``LAST`` as the gateway keeps it: retain-until dates are kept to the millisecond."""


def test_the_last_instant_is_a_retention_like_any_other(gateway: Gateway, s3: Any) -> None:
    bucket = f"sec-last-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    by_header = s3.put_object(
        Bucket=bucket,
        Key="header",
        Body=b"x",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=LAST,
    )["VersionId"]
    by_retention = s3.put_object(Bucket=bucket, Key="retention", Body=b"y")["VersionId"]
    s3.put_object_retention(
        Bucket=bucket,
        Key="retention",
        VersionId=by_retention,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": LAST},
    )
    for key, version in (("header", by_header), ("retention", by_retention)):
        until = s3.head_object(Bucket=bucket, Key=key)["ObjectLockRetainUntilDate"]
        assert until.astimezone(UTC).year == 9999
        assert s3.get_object(Bucket=bucket, Key=key, VersionId=version)["Body"].read()
        retention = s3.get_object_retention(Bucket=bucket, Key=key)["Retention"]
        assert retention["RetainUntilDate"].astimezone(UTC).year == 9999
        # still protected: refused as any retained version, not failed
        expect_error(
            "AccessDenied", 403, s3.delete_object, Bucket=bucket, Key=key, VersionId=version
        )
    listed = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert sorted(v["VersionId"] for v in listed) == sorted((by_header, by_retention))


def test_a_date_stored_past_the_last_instant_reads_as_it() -> None:
    """What the float made of that date (the year 10000) in a data directory written
    before: read as the last instant, so the version can be read and listed again."""
    lock = lock_from_json('{"mode":"COMPLIANCE","until":253402300800000000}')
    assert lock is not None and lock.retain_until == LAST_KEPT
    stored = lock_from_json('{"mode":"GOVERNANCE","until":253402300799999999}')
    assert stored is not None and stored.retain_until == LAST_KEPT
    assert from_us(253402300800000000) == LAST  # any column: no 500 either


def test_a_date_stored_with_microseconds_reads_as_it_is_answered() -> None:
    """A data directory written before dates were kept to the millisecond holds a
    client's microseconds; the date reads as GetObjectRetention answers it, so that
    date sent back compares equal (``backends.locks``), not as a shortening."""
    lock = lock_from_json('{"mode":"GOVERNANCE","until":1893456000472706}')
    assert lock is not None
    assert lock.retain_until == datetime(2030, 1, 1, 0, 0, 0, 472000, tzinfo=UTC)
