"""The s3 backend reads an upstream store's retain-until dates to the millisecond, the
precision ``backends.locks`` fixes for every date (``retention_date``).

A store may keep a date with microseconds: one written to it directly, or by a gateway
that forwarded a client's microseconds before dates were fixed at parse (moto keeps the
text it was sent). The gateway answers that date to the millisecond; sent back as read, to
repeat the retention or make it COMPLIANCE, it was compared with the store's microseconds
and refused as a shortening (``AccessDenied``) since ``check_retention_change`` compares
plainly. Real gateway process in front of moto, boto3 on both sides.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.e2e.conftest import upstream_direct
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import expect_error


def test_a_date_the_store_keeps_with_microseconds_read_back_is_no_shortening(
    upstream_gateway: Gateway, moto_upstream: str
) -> None:
    s3 = upstream_gateway.client()
    bucket = f"uplock-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    until = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=472706)
    upstream_direct(moto_upstream).put_object_retention(
        Bucket=bucket, Key="k", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until}
    )
    read = s3.get_object_retention(Bucket=bucket, Key="k")["Retention"]["RetainUntilDate"]
    assert read == until.replace(microsecond=472000)
    for mode in ("GOVERNANCE", "COMPLIANCE"):
        s3.put_object_retention(
            Bucket=bucket, Key="k", Retention={"Mode": mode, "RetainUntilDate": read}
        )
        assert s3.get_object_retention(Bucket=bucket, Key="k")["Retention"]["Mode"] == mode
    earlier = {"Mode": "COMPLIANCE", "RetainUntilDate": read - timedelta(milliseconds=1)}
    expect_error(
        "AccessDenied", 403, s3.put_object_retention, Bucket=bucket, Key="k", Retention=earlier
    )
