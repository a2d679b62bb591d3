"""An expired presigned URL answers 403 AccessDenied "Request has expired" whatever its
method and operation (SigV4 and SigV2 query auth), before anything of the request is
looked at, and changes nothing. Authentication comes before the backend is touched, so
the HTTP and HTTPS gateways (filesystem) are enough."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import RawResponse, unique, urlopen

CALLS: list[tuple[str, str, dict[str, Any], bytes | None]] = [
    ("GET", "get_object", {}, None),
    ("HEAD", "head_object", {}, None),
    ("PUT", "put_object", {}, b"overwrite"),
    ("DELETE", "delete_object", {}, None),
    ("POST", "create_multipart_upload", {}, b""),
    ("PUT", "upload_part", {"UploadId": "UPLOAD", "PartNumber": 1}, b"part"),
    ("POST", "complete_multipart_upload", {"UploadId": "UPLOAD"}, b"<x/>"),
    ("DELETE", "abort_multipart_upload", {"UploadId": "UPLOAD"}, None),
    ("GET", "list_parts", {"UploadId": "UPLOAD"}, None),
    ("GET", "get_object_attributes", {"ObjectAttributes": ["ETag"]}, None),
]


def _expired(
    any_gateway: Gateway,
    monkeypatch: pytest.MonkeyPatch,
    signer: str,
    method: str,
    params: dict[str, Any],
) -> str:
    client = any_gateway.client(signature_version=signer)
    if signer == "s3v4":
        past = datetime.now(UTC) - timedelta(minutes=10)

        def clock(remove_tzinfo: bool = True) -> datetime:
            return past.replace(tzinfo=None) if remove_tzinfo else past

        # botocore signs through awscrt when it is installed: both clocks
        monkeypatch.setattr("botocore.auth.get_current_datetime", clock)
        monkeypatch.setattr("botocore.crt.auth.get_current_datetime", clock, raising=False)
        url: str = client.generate_presigned_url(method, Params=params, ExpiresIn=60)
        monkeypatch.undo()
        return url
    # SigV2 query auth: Expires is an absolute time, from now plus ExpiresIn
    url = client.generate_presigned_url(method, Params=params, ExpiresIn=-600)
    return url


@pytest.fixture(params=["gateway", "tls_gateway"])
def any_gateway(request: pytest.FixtureRequest) -> Gateway:
    gw: Gateway = request.getfixturevalue(request.param)
    return gw


@pytest.fixture
def bucket(any_gateway: Gateway) -> str:
    name = unique()
    any_gateway.client().create_bucket(Bucket=name)
    return name


@pytest.mark.parametrize("signer", ["s3v4", "s3"])
@pytest.mark.parametrize(
    ("http_method", "operation", "extra", "body"), CALLS, ids=[c[1] for c in CALLS]
)
def test_expired_presigned_url_is_access_denied(
    any_gateway: Gateway,
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    signer: str,
    http_method: str,
    operation: str,
    extra: dict[str, Any],
    body: bytes | None,
) -> None:
    s3 = any_gateway.client()
    s3.put_object(Bucket=bucket, Key="k", Body=b"kept")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    params = {"Bucket": bucket, "Key": "k"}
    params.update({k: upload_id if v == "UPLOAD" else v for k, v in extra.items()})
    url = _expired(any_gateway, monkeypatch, signer, operation, params)
    headers = {"Content-Type": "application/octet-stream"} if body is not None else None
    response: RawResponse = urlopen(
        any_gateway, url, method=http_method, data=body, headers=headers
    )
    assert response.status == 403, response.body
    if http_method != "HEAD":
        assert response.error_code() == "AccessDenied"
        assert response.xml().findtext("Message") == "Request has expired"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept"
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [
        upload_id
    ]


def test_presigned_url_from_a_clock_running_ahead_is_not_yet_valid(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond the allowed clock skew, a URL dated in the future is S3's 403 "Request is
    not yet valid", with the elements S3 sends (X-Amz-Date in epoch milliseconds)."""
    s3 = gateway.client(signature_version="s3v4")
    name = unique()
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"kept")
    ahead = (datetime.now(UTC) + timedelta(minutes=20)).replace(microsecond=0)

    def clock(remove_tzinfo: bool = True) -> datetime:
        return ahead.replace(tzinfo=None) if remove_tzinfo else ahead

    monkeypatch.setattr("botocore.auth.get_current_datetime", clock)
    monkeypatch.setattr("botocore.crt.auth.get_current_datetime", clock, raising=False)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "k"})
    monkeypatch.undo()
    response = urlopen(gateway, url)
    assert response.status == 403, response.body
    assert response.error_code() == "AccessDenied"
    error = response.xml()
    assert error.findtext("Message") == "Request is not yet valid"
    assert error.findtext("X-Amz-Date") == str(int(ahead.timestamp()) * 1000)
    assert error.findtext("Expires") == (ahead + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert error.findtext("ServerTime")
