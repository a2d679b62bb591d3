"""Class: a lifecycle day count whose date lies past what the gateway can write down.

``Days``, ``NoncurrentDays`` and ``DaysAfterInitiation`` are S3 integers: up to
2,147,483,647, about 5.9 million years, while a date ends at the year 9999. Such a count
once made every GET, HEAD, PutObject and CreateMultipartUpload of the bucket a 500 (the
PUT had stored the object first) and failed every sweeper pass, so no bucket of any
account was swept again. Now such a date is "never" (no header, no action), a count past
the 32-bit range is ``MalformedXML``, and the sweep goes on to the next bucket.

A gateway of its own: a real (86,400 s) lifecycle day and a pass every 0.2 s.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import expect_error, keys_of

NEVER = 2**31 - 1
WAIT = 30.0


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = {"NFYIO_LIFECYCLE_SWEEP_INTERVAL": "0.2", "NFYIO_LIFECYCLE_LEASE_SECONDS": "60"}
    yield from own_gateway(tmp_path_factory, "far-dates", extra_env=env)


def _rules(days: int) -> dict[str, Any]:
    return {
        "Rules": [
            {
                "ID": "far",
                "Status": "Enabled",
                "Filter": {},
                "Expiration": {"Days": days},
                "NoncurrentVersionExpiration": {"NoncurrentDays": days},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": days},
            }
        ]
    }


def test_far_dates_are_never_and_the_sweep_goes_on(swept: Gateway) -> None:
    s3 = swept.client()
    tag = uuid.uuid4().hex[:12]
    far, later = f"a-far-{tag}", f"z-later-{tag}"  # swept in name order: far first
    for name in (far, later):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=far, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=far, Key="k", Body=b"old")
    s3.delete_object(Bucket=far, Key="gone")  # a delete marker alone: Days apply to it
    s3.put_bucket_lifecycle_configuration(Bucket=far, LifecycleConfiguration=_rules(NEVER))

    put = s3.put_object(Bucket=far, Key="k", Body=b"new")  # "old" becomes noncurrent
    assert "x-amz-expiration" not in put["ResponseMetadata"]["HTTPHeaders"]
    head = s3.head_object(Bucket=far, Key="k")
    assert "x-amz-expiration" not in head["ResponseMetadata"]["HTTPHeaders"]
    assert s3.get_object(Bucket=far, Key="k")["Body"].read() == b"new"
    upload = s3.create_multipart_upload(Bucket=far, Key="up")
    assert "AbortDate" not in upload
    parts = s3.list_parts(Bucket=far, Key="up", UploadId=upload["UploadId"])
    assert "AbortDate" not in parts

    s3.put_object(Bucket=later, Key="old", Body=b"x")
    past = {"ID": "past", "Status": "Enabled", "Filter": {}, "Expiration": {"Date": "2020-01-01"}}
    s3.put_bucket_lifecycle_configuration(Bucket=later, LifecycleConfiguration={"Rules": [past]})
    deadline = time.monotonic() + WAIT
    while keys_of(s3, later) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert keys_of(s3, later) == [], swept.log()[-3000:]
    versions = s3.list_object_versions(Bucket=far)
    assert len(versions["Versions"]) == 2  # nothing of the far bucket went
    assert [m["Key"] for m in versions["DeleteMarkers"]] == ["gone"]
    assert "lifecycle pass failed" not in swept.log()


@pytest.mark.parametrize("days", [NEVER + 1, 10**40])
def test_counts_past_the_integer_range_are_malformed(swept: Gateway, days: int) -> None:
    s3 = swept.client()
    name = f"past-range-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    expect_error(
        "MalformedXML",
        400,
        s3.put_bucket_lifecycle_configuration,
        Bucket=name,
        LifecycleConfiguration=_rules(days),
    )
    expect_error(
        "NoSuchLifecycleConfiguration", 404, s3.get_bucket_lifecycle_configuration, Bucket=name
    )
