"""Class: a number written with thousands of digits is read as a large number, never a 500.

Python's ``int()`` refuses a string of more than 4,300 digits (``ValueError``), and an
8 KB header or query holds 8,000. A ``Range``, a ``partNumber``, an
``x-amz-copy-source-range``, a lifecycle ``Days`` or ``ObjectSizeGreaterThan`` and a
POST policy's ``content-length-range`` of 5,000 digits each answered 500 with a
traceback, the ``Range`` and ``partNumber`` ones before any credential was looked at.
Such a number now reads as one larger than any 64-bit value (``gateway.s3.numbers``): the
answer is the one a 25-digit value gets. Earlier fixes of this class (``X-Amz-Expires``,
``x-amz-decoded-content-length``: ``test_auth_values.py``) are swept again here with the
numeric query parameters and headers.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import raw_request, sign

LONG = "9" * 5000
"""Past Python's 4,300-digit limit, within the listener's 8 KB request line and fields."""
SHORT = "9" * 25
"""Past every 64-bit limit, short enough for ``int()``: the answer ``LONG`` must get."""


def _answer(
    gw: Gateway, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> tuple[int, str | None]:
    signed = sign(gw, method, path, body=body, headers=headers or {})
    reply = raw_request(gw, method, path, body=body, headers=signed)
    return reply.status, reply.error_code() if reply.status >= 300 else None


def _with_md5(body: bytes) -> dict[str, str]:
    return {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}


Probe = Callable[[Gateway, Any, str, str], tuple[int, str | None]]


def _range(template: str) -> Probe:
    def probe(gw: Gateway, s3: Any, bucket: str, number: str) -> tuple[int, str | None]:
        return _answer(gw, "GET", f"/{bucket}/k", {"Range": template.format(number)})

    return probe


def _part_number(gw: Gateway, s3: Any, bucket: str, number: str) -> tuple[int, str | None]:
    return _answer(gw, "GET", f"/{bucket}/k?partNumber={number}")


def _upload_part(gw: Gateway, s3: Any, bucket: str, number: str) -> tuple[int, str | None]:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    return _answer(gw, "PUT", f"/{bucket}/m?partNumber={number}&uploadId={upload}", body=b"x")


def _copy_range(gw: Gateway, s3: Any, bucket: str, number: str) -> tuple[int, str | None]:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    headers = {"x-amz-copy-source": f"/{bucket}/k", "x-amz-copy-source-range": f"bytes=0-{number}"}
    return _answer(gw, "PUT", f"/{bucket}/m?partNumber=1&uploadId={upload}", headers)


def _lifecycle(element: str) -> Probe:
    def probe(gw: Gateway, s3: Any, bucket: str, number: str) -> tuple[int, str | None]:
        document = (
            "<LifecycleConfiguration><Rule><ID>r</ID><Filter>"
            + (f"<ObjectSizeGreaterThan>{number}</ObjectSizeGreaterThan>" if element else "")
            + "</Filter><Status>Enabled</Status><Expiration><Days>"
            + (number if not element else "1")
            + "</Days></Expiration></Rule></LifecycleConfiguration>"
        ).encode()
        return _answer(gw, "PUT", f"/{bucket}?lifecycle", _with_md5(document), document)

    return probe


def _query(name: str, path: str = "/{bucket}") -> Probe:
    def probe(gw: Gateway, s3: Any, bucket: str, number: str) -> tuple[int, str | None]:
        target = path.format(bucket=bucket)
        joiner = "&" if "?" in target else "?"
        return _answer(gw, "GET", f"{target}{joiner}{name}={number}")

    return probe


def _header(name: str, path: str, extra: dict[str, str] | None = None) -> Probe:
    def probe(gw: Gateway, s3: Any, bucket: str, number: str) -> tuple[int, str | None]:
        return _answer(gw, "GET", path.format(bucket=bucket), {name: number, **(extra or {})})

    return probe


PROBES: dict[str, Probe] = {
    "Range first": _range("bytes={}-"),
    "Range last": _range("bytes=0-{}"),
    "Range suffix": _range("bytes=-{}"),
    "GetObject partNumber": _part_number,
    "UploadPart partNumber": _upload_part,
    "x-amz-copy-source-range": _copy_range,
    "lifecycle Days": _lifecycle(""),
    "lifecycle ObjectSizeGreaterThan": _lifecycle("ObjectSizeGreaterThan"),
    "max-keys": _query("max-keys", "/{bucket}?list-type=2"),
    "ListObjects max-keys": _query("max-keys"),
    "max-uploads": _query("max-uploads", "/{bucket}?uploads"),
    "ListObjectVersions max-keys": _query("max-keys", "/{bucket}?versions"),
    "max-buckets": _query("max-buckets", "/"),
    "max-parts": _query("max-parts", "/{bucket}/k?uploadId=x"),
    "part-number-marker": _query("part-number-marker", "/{bucket}/k?uploadId=x"),
    "x-amz-max-parts": _header(
        "x-amz-max-parts", "/{bucket}/k?attributes", {"x-amz-object-attributes": "ObjectParts"}
    ),
    "x-amz-part-number-marker": _header(
        "x-amz-part-number-marker",
        "/{bucket}/k?attributes",
        {"x-amz-object-attributes": "ObjectParts"},
    ),
}


@pytest.mark.parametrize("name", list(PROBES))
def test_a_number_of_5000_digits_is_answered_as_one_of_25(
    gateway: Gateway, s3: Any, bucket: str, name: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"0123456789")
    probe = PROBES[name]
    expected = probe(gateway, s3, bucket, SHORT)
    assert expected[0] != 500, expected
    assert probe(gateway, s3, bucket, LONG) == expected
    assert "Traceback" not in gateway.log()


def test_post_policy_size_of_5000_digits_is_an_invalid_policy(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    for number in (SHORT, LONG):
        post = s3.generate_presigned_post(
            bucket, "p", Conditions=[["content-length-range", 0, number]], ExpiresIn=600
        )
        reply = requests.post(post["url"], data=post["fields"], files={"file": ("f", b"abc")})
        assert reply.status_code == 400, reply.text
        assert "<Code>InvalidPolicyDocument</Code>" in reply.text
    assert "Traceback" not in gateway.log()


def test_an_anonymous_range_of_5000_digits_is_refused_as_any_anonymous_request(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    """The ``Range`` is read before the credentials: a 500 needed none."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    for number in (SHORT, LONG):
        reply = raw_request(gateway, "GET", f"/{bucket}/k", headers={"Range": f"bytes=0-{number}"})
        assert (reply.status, reply.error_code()) == (403, "AccessDenied")


@pytest.mark.parametrize("text", ["1_0", "\u0661\u0660", "\uff11\uff10"])
def test_an_integer_element_is_ascii_digits_only(
    gateway: Gateway, s3: Any, bucket: str, text: str
) -> None:
    """The same class the other way: Python's ``int()`` takes more than S3's integer.
    A completion listing part ``1_0`` (or Arabic-Indic, full-width digits) completed
    part 10, and an Object Lock ``Days`` of ``1_0`` set ten days; S3 refuses them."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=10, Body=b"x")["ETag"]
    document = (
        f"<CompleteMultipartUpload><Part><PartNumber>{text}</PartNumber>"
        f"<ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    ).encode()
    path = f"/{bucket}/m?uploadId={upload}"
    assert _answer(gateway, "POST", path, body=document) == (400, "MalformedXML")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)

    locked = f"{bucket}-lock"
    s3.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
    lock = (
        "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>"
        f"<DefaultRetention><Mode>GOVERNANCE</Mode><Days>{text}</Days></DefaultRetention>"
        "</Rule></ObjectLockConfiguration>"
    ).encode()
    assert _answer(gateway, "PUT", f"/{locked}?object-lock", _with_md5(lock), lock) == (
        400,
        "MalformedXML",
    )
    assert "Rule" not in s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]


@pytest.mark.parametrize("name", ["lifecycle Days", "lifecycle ObjectSizeGreaterThan"])
@pytest.mark.parametrize("padded", ["\u00a07", "7\u2003", "\u30007", "\x857"])
def test_an_integer_element_trims_xml_whitespace_only(
    gateway: Gateway, s3: Any, bucket: str, name: str, padded: str
) -> None:
    """Every integer element is read by one rule (``xml_integer``): XML whitespace
    around it is trimmed, other whitespace is not. The lifecycle document had its own
    reading, whose ``str.strip`` also took a no-break or ideographic space, or NEL, as
    padding (``\u00a07`` was 7 days) where the other elements refuse it."""
    assert PROBES[name](gateway, s3, bucket, " \t7\n ") == (200, None)
    assert PROBES[name](gateway, s3, bucket, padded) == (400, "MalformedXML")


REST_LISTINGS = [
    "/v1/access-keys",
    "/v1/users",
    "/v1/clients",
    "/v1/accounts",
    "/v1/audit-events",
    "/v1/buckets/{bucket}/objects",
]


@pytest.mark.parametrize("path", REST_LISTINGS)
def test_a_rest_limit_of_5000_digits_is_answered_as_one_of_25(
    gateway: Gateway, bucket: str, path: str
) -> None:
    """``?limit=`` of every ``/v1`` listing: 400 ``ValidationError`` naming ``limit``, as
    for any limit out of range (it was a 500: ``int()`` refused the digits)."""
    url = f"{gateway.api_url}{path.format(bucket=bucket)}"
    headers = {"Authorization": f"Bearer {gateway.secret_key}"}
    for number in (SHORT, LONG, "0" * 5000, "0" * 4999 + "1"):
        reply = requests.get(url, params={"limit": number}, headers=headers, timeout=30)
        if number.endswith("01"):
            assert reply.status_code == 200, reply.text
            continue
        assert reply.status_code == 400, reply.text
        error = reply.json()["error"]
        assert (error["code"], error["details"]["field"]) == ("ValidationError", "limit")
    assert "Traceback" not in gateway.log()
