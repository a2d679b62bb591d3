"""Timestamps a client sends on the S3 listener whose UTC instant falls outside the years
1 to 9999 (``9999-12-31T23:59:59-10:00`` is in the year 10000 in UTC).

Before: an Object Lock retain-until date so written (``x-amz-object-lock-retain-until-date``
on PutObject, CopyObject, CreateMultipartUpload and form uploads, ``RetainUntilDate`` in
PutObjectRetention) and a lifecycle rule's ``<Date>`` answered 500 InternalError. Now they
are refused as any malformed timestamp is, and nothing changes. Real gateway, raw HTTP.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import RawResponse, raw_request, sign, unique

OVERFLOWING = ["9999-12-31T23:59:59-10:00", "0001-01-01T00:00:00+14:00"]


def send(
    gateway: Gateway,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> RawResponse:
    headers = dict(headers or {})
    headers["Content-MD5"] = base64.b64encode(hashlib.md5(body).digest()).decode()
    signed = sign(gateway, method, path, body=body, headers=headers)
    return raw_request(gateway, method, path, body=body, headers=signed)


@pytest.fixture
def locked(s3: Any) -> str:
    name = unique("sec-lock")
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


@pytest.mark.parametrize("instant", OVERFLOWING)
def test_retain_until_dates_outside_the_years_1_to_9999_are_refused(
    gateway: Gateway, s3: Any, locked: str, instant: str
) -> None:
    lock = {
        "x-amz-object-lock-mode": "GOVERNANCE",
        "x-amz-object-lock-retain-until-date": instant,
    }
    put = send(gateway, "PUT", f"/{locked}/new", b"data", lock)
    assert (put.status, put.error_code()) == (400, "InvalidArgument")
    create = send(gateway, "POST", f"/{locked}/new?uploads", headers=lock)
    assert (create.status, create.error_code()) == (400, "InvalidArgument")
    assert s3.list_object_versions(Bucket=locked).get("Versions", []) == []
    assert s3.list_multipart_uploads(Bucket=locked).get("Uploads", []) == []

    s3.put_object(Bucket=locked, Key="kept", Body=b"data")
    retention = (
        "<Retention><Mode>GOVERNANCE</Mode>"
        f"<RetainUntilDate>{instant}</RetainUntilDate></Retention>"
    ).encode()
    refused = send(gateway, "PUT", f"/{locked}/kept?retention", retention)
    assert (refused.status, refused.error_code()) == (400, "MalformedXML")
    assert "ObjectLockMode" not in s3.head_object(Bucket=locked, Key="kept")


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00+01:00"])
def test_a_lifecycle_date_before_the_year_1_in_utc_is_refused(
    gateway: Gateway, s3: Any, bucket: str, instant: str
) -> None:
    document = (
        "<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix></Prefix></Filter>"
        f"<Status>Enabled</Status><Expiration><Date>{instant}</Date></Expiration>"
        "</Rule></LifecycleConfiguration>"
    ).encode()
    refused = send(gateway, "PUT", f"/{bucket}?lifecycle", document)
    assert (refused.status, refused.error_code()) == (400, "MalformedXML")
    missing = send(gateway, "GET", f"/{bucket}?lifecycle")
    assert (missing.status, missing.error_code()) == (404, "NoSuchLifecycleConfiguration")
