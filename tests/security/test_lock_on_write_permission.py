"""Class: a write that sets a version's Object Lock needed only the write's own
permission. A grantee of ``s3:PutObject`` alone (another account the bucket policy lets
upload) could send ``x-amz-object-lock-mode: COMPLIANCE`` with a far retain-until date,
or a legal hold, and make what it wrote into the owner's bucket undeletable, by anyone,
for years. S3 asks for ``s3:PutObjectRetention`` (mode and date) and
``s3:PutObjectLegalHold`` (the hold) too, on PutObject, CopyObject,
CreateMultipartUpload and POST uploads; so does the gateway now (AccessDenied, nothing
written)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import expect_error, unique
from tests.e2e.tenants import new_tenant


def _allow(partner: str, bucket: str, *actions: str) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": partner},
        "Action": list(actions),
        "Resource": [f"arn:aws:s3:::{bucket}/*"],
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


LOCKS: list[dict[str, Any]] = [
    {
        "ObjectLockMode": "COMPLIANCE",
        "ObjectLockRetainUntilDate": datetime.now(UTC) + timedelta(days=3650),
    },
    {"ObjectLockLegalHoldStatus": "ON"},
]


@pytest.mark.parametrize("lock", LOCKS, ids=["retention", "legal-hold"])
def test_setting_a_lock_on_write_needs_the_lock_permission(
    gateway: Gateway, lock: dict[str, Any]
) -> None:
    owner, partner = new_tenant(gateway, "lockowner"), new_tenant(gateway, "writer")
    s3, p3 = owner.client(), partner.client()
    bucket = unique("lockwrite")
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket=bucket, Key="source", Body=b"src")
    s3.put_bucket_policy(Bucket=bucket, Policy=_allow(partner.id, bucket, "s3:PutObject"))

    expect_error("AccessDenied", 403, p3.put_object, Bucket=bucket, Key="k", Body=b"x", **lock)
    expect_error("AccessDenied", 403, p3.create_multipart_upload, Bucket=bucket, Key="m", **lock)
    p3.put_object(Bucket=bucket, Key="plain", Body=b"x")  # the write alone is allowed
    listed = s3.list_object_versions(Bucket=bucket).get("Versions", [])
    assert sorted(v["Key"] for v in listed) == ["plain", "source"]  # nothing else written
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)

    needed = "s3:PutObjectRetention" if "ObjectLockMode" in lock else "s3:PutObjectLegalHold"
    allowed = ("s3:PutObject", "s3:GetObject", "s3:GetObjectRetention", "s3:GetObjectLegalHold")
    s3.put_bucket_policy(Bucket=bucket, Policy=_allow(partner.id, bucket, *allowed, needed))
    p3.put_object(Bucket=bucket, Key="k", Body=b"x", **lock)
    head = p3.head_object(Bucket=bucket, Key="k")  # the writer owns what it wrote
    assert head.get("ObjectLockMode") == "COMPLIANCE" or (
        head.get("ObjectLockLegalHoldStatus") == "ON"
    )


def test_the_owner_copies_with_a_lock_as_before(gateway: Gateway) -> None:
    owner = new_tenant(gateway, "lockowner")
    s3 = owner.client()
    bucket = unique("lockcopy")
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket=bucket, Key="source", Body=b"src")
    s3.copy_object(
        Bucket=bucket,
        Key="held",
        CopySource={"Bucket": bucket, "Key": "source"},
        ObjectLockLegalHoldStatus="ON",
    )
    assert s3.head_object(Bucket=bucket, Key="held")["ObjectLockLegalHoldStatus"] == "ON"
    s3.put_object_legal_hold(Bucket=bucket, Key="held", LegalHold={"Status": "OFF"})
