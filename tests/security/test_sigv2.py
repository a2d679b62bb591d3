"""Class 4: SigV2 presigned URLs (kept for boto3's and aws-cli v1's defaults).

They had no maximum lifetime, their subresource names were signed as sent but routed
decoded (``%61cl`` turned a presigned GET into GetObjectAcl, ``%75ploadId`` a presigned
PUT into UploadPart and a presigned DELETE into AbortMultipartUpload), and an absurd
``Expires`` answered 500. Now: seven days at most (plus the clock skew), names signed as
routed, 403 ``AccessDenied`` for any out-of-range ``Expires``.
"""

from __future__ import annotations

import time
from typing import Any
from unittest import mock
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from gateway.s3.operations import OPERATIONS, SUBRESOURCES
from sigv4.presign_v2 import SUBRESOURCES as SIGNED_V2_SUBRESOURCES
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import RawResponse, raw_request

WEEK = 7 * 24 * 3600


def presign_v2(gw: Gateway, method: str, path: str, *, expires_at: float | None = None) -> str:
    """A SigV2 presigned target as boto3's default client makes it (HmacV1QueryAuth)."""
    request = AWSRequest(method=method, url=f"{gw.s3_url}{path}")
    auth = HmacV1QueryAuth(Credentials(gw.access_key, gw.secret_key), expires=3600)
    if expires_at is None:
        auth.add_auth(request)
    else:
        with mock.patch("time.time", return_value=expires_at - 3600):
            auth.add_auth(request)
    parts = urlsplit(request.url)
    return f"{parts.path}?{parts.query}"


def assert_denied(response: RawResponse, code: str = "AccessDenied") -> None:
    assert response.status == 403, (response.status, response.body)
    assert response.xml().findtext("Code") == code


def test_url_valid_for_decades_is_refused(gateway: Gateway, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    decades = presign_v2(gateway, "GET", f"/{bucket}/k", expires_at=time.time() + 30 * 365 * 86400)
    assert_denied(raw_request(gateway, "GET", decades))
    within = presign_v2(gateway, "GET", f"/{bucket}/k", expires_at=time.time() + WEEK)
    response = raw_request(gateway, "GET", within)
    assert response.status == 200, response.body
    assert response.body == b"x"


@pytest.mark.parametrize(
    "expires",
    ["-99999999999999999", "99999999999999999999", "1" + "0" * 40, "abc", "1e10", "-1", ""],
)
def test_absurd_expires_is_access_denied_never_500(
    gateway: Gateway, bucket: str, expires: str
) -> None:
    target = (
        f"/{bucket}/k?AWSAccessKeyId={gateway.access_key}&Expires={quote(expires)}"
        "&Signature=c2lnbmF0dXJl"
    )
    response = raw_request(gateway, "GET", target)
    assert response.status == 403, response.body
    assert response.xml().findtext("Code") in {"AccessDenied", "AuthorizationQueryParametersError"}
    assert "Traceback" not in gateway.log()


def test_presigned_get_respelled_as_get_object_acl_is_refused(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    target = presign_v2(gateway, "GET", f"/{bucket}/k")
    assert raw_request(gateway, "GET", target).status == 200
    assert_denied(raw_request(gateway, "GET", target + "&%61cl"), "SignatureDoesNotMatch")


@pytest.fixture
def upload(s3: Any, bucket: str) -> str:
    upload_id: str = s3.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    return upload_id


def test_presigned_put_respelled_as_upload_part_is_refused(
    gateway: Gateway, s3: Any, bucket: str, upload: str
) -> None:
    target = presign_v2(gateway, "PUT", f"/{bucket}/big")
    tampered = f"{target}&%75ploadId={upload}&%70artNumber=1"
    assert_denied(raw_request(gateway, "PUT", tampered, body=b"part"), "SignatureDoesNotMatch")
    assert s3.list_parts(Bucket=bucket, Key="big", UploadId=upload).get("Parts", []) == []


def test_presigned_delete_respelled_as_abort_is_refused(
    gateway: Gateway, s3: Any, bucket: str, upload: str
) -> None:
    target = presign_v2(gateway, "DELETE", f"/{bucket}/big")
    assert_denied(
        raw_request(gateway, "DELETE", f"{target}&%75ploadId={upload}"), "SignatureDoesNotMatch"
    )
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [u["UploadId"] for u in uploads] == [upload]


def test_every_implemented_subresource_is_signed_by_sigv2() -> None:
    """SigV2 signs only a fixed list of subresources; every one an implemented operation
    is routed by must be on it, or a SigV2 URL could be turned into that operation."""
    routed = {
        query.partition("=")[0]
        for row in OPERATIONS
        if row.implemented
        for query in row.query
        if query.partition("=")[0] in SUBRESOURCES or query == "partNumber"
    }
    assert routed - SIGNED_V2_SUBRESOURCES == set()


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("list_objects", {}),
        ("get_bucket_versioning", {}),
        ("get_bucket_acl", {}),
        ("get_object", {"Key": "k"}),
    ],
)
def test_boto3_default_presigned_urls_of_buckets_verify(
    gateway: Gateway, s3: Any, bucket: str, operation: str, params: dict[str, str]
) -> None:
    """boto3's default presigned URLs (SigV2 in us-east-1) of a bucket operation sign its
    resource as ``/bucket/`` and send the path-style URL as ``/bucket``: the gateway
    signed the path as sent only, so every bucket-level one was SignatureDoesNotMatch
    (object URLs were fine). Both spellings name the one bucket."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = gateway.client(signature_version="s3").generate_presigned_url(
        operation, Params={"Bucket": bucket, **params}
    )
    assert "Signature=" in url and "AWSAccessKeyId=" in url  # SigV2, as boto3 defaults
    parts = urlsplit(url)
    response = raw_request(gateway, "GET", f"{parts.path}?{parts.query}")
    assert response.status == 200, response.body


def test_a_bucket_signature_does_not_reach_its_keys(gateway: Gateway, s3: Any, bucket: str) -> None:
    """The other spelling is tried for a bucket's own path only: a URL signed for the
    bucket (``/bucket/``) does not verify for a key in it, nor for another bucket."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    target = presign_v2(gateway, "GET", f"/{bucket}/")
    query = target.partition("?")[2]
    assert raw_request(gateway, "GET", f"/{bucket}?{query}").status == 200
    assert_denied(raw_request(gateway, "GET", f"/{bucket}/k?{query}"), "SignatureDoesNotMatch")
    assert_denied(raw_request(gateway, "GET", f"/{bucket}x?{query}"), "SignatureDoesNotMatch")
