"""Class: a condition sent to the REST object routes is evaluated or refused, never ignored.

``PUT``, ``GET`` and ``DELETE /v1/buckets/{name}/objects/content`` ignored every ``If-*``
header: ``If-None-Match: *`` ("create only") overwrote, ``If-Match`` on a delete deleted
whatever the object had become, and a download answered 200 to a condition that failed.
They now read conditions as the S3 listener does (``gateway/s3/request.py``) and answer
412 ``PreconditionFailed`` (304 for a download not modified), or 400 ``ValidationError``
naming the header for a condition they cannot evaluate; a refused write changes nothing.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import ADMIN

WRONG = '"0123456789abcdef0123456789abcdef"'


def send(
    gateway: Gateway, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", gateway.api_port, timeout=30)
    try:
        conn.request(method, path, body=body or None, headers={**ADMIN, **headers})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def error_code(raw: bytes) -> str:
    code: str = json.loads(raw)["error"]["code"]
    return code


@pytest.fixture
def stored(gateway: Gateway, s3: Any, bucket: str) -> tuple[str, str]:
    """(the object's REST path, its quoted ETag) of an object holding b"kept"."""
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"kept")["ETag"]
    return f"/v1/buckets/{bucket}/objects/content?key=k", etag


def body_of(s3: Any, bucket: str) -> bytes:
    data: bytes = s3.get_object(Bucket=bucket, Key="k")["Body"].read()
    return data


@pytest.mark.parametrize(
    "headers",
    [{"If-None-Match": "*"}, {"If-Match": WRONG}],
    ids=["create-only", "wrong-etag"],
)
def test_an_upload_whose_condition_fails_is_412_and_overwrites_nothing(
    gateway: Gateway, s3: Any, bucket: str, stored: tuple[str, str], headers: dict[str, str]
) -> None:
    status, _, raw = send(gateway, "PUT", stored[0], headers, b"overwritten")
    assert (status, error_code(raw)) == (412, "PreconditionFailed")
    assert body_of(s3, bucket) == b"kept"


def test_an_upload_whose_condition_holds_is_stored(
    gateway: Gateway, s3: Any, bucket: str, stored: tuple[str, str]
) -> None:
    status, _, raw = send(gateway, "PUT", stored[0], {"If-Match": stored[1]}, b"replaced")
    assert status == 201, raw
    assert body_of(s3, bucket) == b"replaced"
    fresh = f"/v1/buckets/{bucket}/objects/content?key=new"
    status, _, raw = send(gateway, "PUT", fresh, {"If-None-Match": "*"}, b"created")
    assert status == 201, raw


@pytest.mark.parametrize(
    ("method", "headers", "named"),
    [
        ("PUT", {"If-None-Match": WRONG}, "If-None-Match"),
        ("PUT", {"If-Match": WRONG, "If-None-Match": "*"}, "If-Match,If-None-Match"),
        (
            "PUT",
            {"If-Unmodified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"},
            "If-Modified-Since,If-Unmodified-Since",
        ),
        ("DELETE", {"If-None-Match": "*"}, "If-None-Match"),
        ("DELETE", {"If-Match": ""}, "If-Match"),
        (
            "DELETE",
            {"If-Unmodified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"},
            "If-Modified-Since,If-Unmodified-Since",
        ),
    ],
)
def test_a_condition_a_write_cannot_evaluate_is_refused(
    gateway: Gateway,
    s3: Any,
    bucket: str,
    stored: tuple[str, str],
    method: str,
    headers: dict[str, str],
    named: str,
) -> None:
    status, _, raw = send(gateway, method, stored[0], headers, b"x" if method == "PUT" else b"")
    assert status == 400, raw
    assert json.loads(raw)["error"]["code"] == "ValidationError"
    assert json.loads(raw)["error"]["details"] == {"field": named}
    assert body_of(s3, bucket) == b"kept"


def test_a_delete_whose_if_match_fails_deletes_nothing(
    gateway: Gateway, s3: Any, bucket: str, stored: tuple[str, str]
) -> None:
    status, _, raw = send(gateway, "DELETE", stored[0], {"If-Match": WRONG})
    assert (status, error_code(raw)) == (412, "PreconditionFailed")
    assert body_of(s3, bucket) == b"kept"
    status, _, _ = send(gateway, "DELETE", stored[0], {"If-Match": stored[1]})
    assert status == 204
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_a_download_evaluates_its_conditions(gateway: Gateway, stored: tuple[str, str]) -> None:
    path, etag = stored
    status, headers, raw = send(gateway, "GET", path, {"If-None-Match": etag})
    assert (status, raw, headers.get("ETag")) == (304, b"", etag)
    status, _, raw = send(gateway, "GET", path, {"If-Match": WRONG})
    assert (status, error_code(raw)) == (412, "PreconditionFailed")
    old = "Sat, 01 Jan 2000 00:00:00 GMT"
    status, _, raw = send(gateway, "GET", path, {"If-Unmodified-Since": old})
    assert (status, error_code(raw)) == (412, "PreconditionFailed")
    status, _, raw = send(gateway, "GET", path, {"If-Match": etag, "If-Modified-Since": old})
    assert (status, raw) == (200, b"kept")


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_download_not_modified_carries_what_its_200_carries(
    gateway: Gateway, s3: Any, bucket: str, method: str
) -> None:
    """RFC 9110 15.4.5: a 304 carries the Cache-Control, Expires and ETag its 200 would. A
    ``/v1`` download's 200 is ``Cache-Control: private, no-store`` whatever the object's
    own Cache-Control and Expires (S3's GetObject answers those), and names no version, so
    its 304 says the same: a shared cache never keeps it (docs/api.md)."""
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    etag = s3.put_object(
        Bucket=bucket,
        Key="cached",
        Body=b"c",
        CacheControl="public, max-age=600",
        Expires="Wed, 21 Oct 2037 07:28:00 GMT",
    )["ETag"]
    path = f"/v1/buckets/{bucket}/objects/content?key=cached"
    status, full, _ = send(gateway, method, path, {})
    assert status == 200
    status, not_modified, raw = send(gateway, method, path, {"If-None-Match": etag})
    assert (status, raw) == (304, b"")
    for name in ("Cache-Control", "ETag", "Last-Modified", "X-Content-Type-Options"):
        assert not_modified.get(name) == full.get(name), name
    assert full["Cache-Control"] == "private, no-store"
    assert not {"expires", "x-amz-version-id"} & {name.lower() for name in [*full, *not_modified]}
