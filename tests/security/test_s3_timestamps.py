"""Timestamps a client sends on the S3 listener whose UTC instant falls outside the years
1 to 9999 (``9999-12-31T23:59:59-10:00`` is in the year 10000 in UTC).

Before: an Object Lock retain-until date so written (``x-amz-object-lock-retain-until-date``
on PutObject, CopyObject, CreateMultipartUpload and form uploads, ``RetainUntilDate`` in
PutObjectRetention) and a lifecycle rule's ``<Date>`` answered 500 InternalError. Now they
are refused as any malformed timestamp is, and nothing changes. Real gateway, raw HTTP.

Retain-until dates in forms no SDK sends (a date alone, no zone, week dates, ...) were read
by ``datetime.fromisoformat`` and locked versions until whatever it made of them (a zoneless
date as UTC); now only the ISO 8601 profile of RFC 3339 is taken (docs/architecture.md).
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


def lock_headers(instant: str) -> dict[str, str]:
    return {
        "x-amz-object-lock-mode": "GOVERNANCE",
        "x-amz-object-lock-retain-until-date": instant,
    }


def retention_xml(instant: str) -> bytes:
    return (
        "<Retention><Mode>GOVERNANCE</Mode>"
        f"<RetainUntilDate>{instant}</RetainUntilDate></Retention>"
    ).encode()


def assert_retention_refused(gateway: Gateway, s3: Any, locked: str, instant: str) -> None:
    """PutObjectRetention of ``kept`` until ``instant`` is a ``MalformedXML`` and leaves it
    unlocked."""
    refused = send(gateway, "PUT", f"/{locked}/kept?retention", retention_xml(instant))
    assert (refused.status, refused.error_code()) == (400, "MalformedXML")
    assert "ObjectLockMode" not in s3.head_object(Bucket=locked, Key="kept")


@pytest.fixture
def locked(s3: Any) -> str:
    name = unique("sec-lock")
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


@pytest.mark.parametrize("instant", OVERFLOWING)
def test_retain_until_dates_outside_the_years_1_to_9999_are_refused(
    gateway: Gateway, s3: Any, locked: str, instant: str
) -> None:
    lock = lock_headers(instant)
    put = send(gateway, "PUT", f"/{locked}/new", b"data", lock)
    assert (put.status, put.error_code()) == (400, "InvalidArgument")
    create = send(gateway, "POST", f"/{locked}/new?uploads", headers=lock)
    assert (create.status, create.error_code()) == (400, "InvalidArgument")
    assert s3.list_object_versions(Bucket=locked).get("Versions", []) == []
    assert s3.list_multipart_uploads(Bucket=locked).get("Uploads", []) == []

    s3.put_object(Bucket=locked, Key="kept", Body=b"data")
    assert_retention_refused(gateway, s3, locked, instant)


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


LENIENT = [
    "2030-01-01",  # a date alone
    "2030-01-01T00:00",  # no seconds, no zone
    "2030-01-01T00:00:00",  # no zone: whose midnight?
    "2030-01-01 00:00:00Z",  # a space for the T
    "20300101T000000Z",  # the basic format
    "2030-W01-1T00:00:00Z",  # a week date
    "2030-01-01T00:00:00+0100",  # an offset without its colon
    "2030-01-01T00:00:00,5Z",  # a decimal comma
]
"""Forms of a retain-until date that ``datetime.fromisoformat`` read (the gateway once took
them all, a zoneless one as UTC) and no SDK sends; docs/architecture.md."""


@pytest.mark.parametrize("instant", LENIENT)
def test_retain_until_dates_outside_the_sdks_iso_8601_profile_are_refused(
    gateway: Gateway, s3: Any, locked: str, instant: str
) -> None:
    """Before: each was accepted and the version locked until whatever Python read in it.
    Now the header (PutObject, CopyObject, CreateMultipartUpload) answers AWS's 400
    ``InvalidArgument`` naming it, PutObjectRetention's body ``MalformedXML``, and nothing
    is stored or changed."""
    lock = lock_headers(instant)
    put = send(gateway, "PUT", f"/{locked}/new", b"data", lock)
    assert (put.status, put.error_code()) == (400, "InvalidArgument"), put.body
    assert put.xml().findtext("{*}ArgumentName") == "x-amz-object-lock-retain-until-date"
    assert put.xml().findtext("{*}ArgumentValue") == instant
    create = send(gateway, "POST", f"/{locked}/new?uploads", headers=lock)
    assert (create.status, create.error_code()) == (400, "InvalidArgument")
    s3.put_object(Bucket=locked, Key="kept", Body=b"data")
    copy = send(gateway, "PUT", f"/{locked}/copy", headers={
        **lock, "x-amz-copy-source": f"/{locked}/kept",
    })  # fmt: skip
    assert (copy.status, copy.error_code()) == (400, "InvalidArgument")
    assert_retention_refused(gateway, s3, locked, instant)
    assert [v["Key"] for v in s3.list_object_versions(Bucket=locked)["Versions"]] == ["kept"]
    assert s3.list_multipart_uploads(Bucket=locked).get("Uploads", []) == []


@pytest.mark.parametrize(
    ("instant", "utc"),
    [
        ("2031-02-03T04:05:06Z", "2031-02-03T04:05:06.000Z"),  # JS SDK v3, botocore
        ("2031-02-03T04:05:06.789Z", "2031-02-03T04:05:06.789Z"),  # Go SDK v2
        ("2031-02-03T04:05:06.789123Z", "2031-02-03T04:05:06.789Z"),  # botocore
        ("2031-02-03T04:05:06.789123456Z", "2031-02-03T04:05:06.789Z"),  # Java SDK v2
        ("2031-02-03T06:05:06+02:00", "2031-02-03T04:05:06.000Z"),  # minio-go, local time
        ("2031-02-03T00:05:06-04:00", "2031-02-03T04:05:06.000Z"),
    ],
)
def test_retain_until_dates_the_sdks_send_are_kept(
    gateway: Gateway, s3: Any, locked: str, instant: str, utc: str
) -> None:
    """What the SDKs send is accepted, in the header and in PutObjectRetention, and kept
    as the same instant in UTC."""
    lock = lock_headers(instant)
    put = send(gateway, "PUT", f"/{locked}/by-header", b"data", lock)
    assert put.status == 200, put.body
    s3.put_object(Bucket=locked, Key="by-body", Body=b"data")
    retention = retention_xml(instant)
    assert send(gateway, "PUT", f"/{locked}/by-body?retention", retention).status == 200
    for key in ("by-header", "by-body"):
        got = send(gateway, "GET", f"/{locked}/{key}?retention")
        assert got.xml().findtext("{*}RetainUntilDate") == utc, got.body
