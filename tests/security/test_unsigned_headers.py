"""Class 1: an x-amz-* header nobody signed must never decide what a request does.

A presigned PUT URL plus an added ``x-amz-copy-source`` used to become a CopyObject its
signer never asked for (reading from a bucket the URL holder cannot see); the same on a
presigned UploadPart (UploadPartCopy) and on a header-signed PutObject with one extra
unsigned header. Now: 403 AccessDenied "There were headers present in the request which
were not signed" with ``HeadersNotSigned``, and nothing happens.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import RawResponse, raw_request, sign

NOT_SIGNED = "There were headers present in the request which were not signed"

DECISIVE = {
    "x-amz-acl": "public-read",
    "x-amz-grant-read": 'uri="http://acs.amazonaws.com/groups/global/AllUsers"',
    "x-amz-meta-owner": "mallory",
    "x-amz-tagging": "a=b",
    "x-amz-server-side-encryption": "AES256",
    "x-amz-storage-class": "GLACIER",
    "x-amz-object-lock-legal-hold": "ON",
    "x-amz-checksum-crc32": "AAAAAA==",
    "x-amz-copy-source-range": "bytes=0-1",
    "x-amz-metadata-directive": "REPLACE",
}
"""Headers that change what a write does. (Headers the gateway refuses whatever their
signature, such as ``x-amz-website-redirect-location``, are refused before the signature
is read: tests/security/test_refused_headers.py.)"""


def _target(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def assert_not_signed(response: RawResponse, *names: str) -> None:
    assert response.status == 403, (response.status, response.body)
    root = response.xml()
    assert root.findtext("Code") == "AccessDenied"
    assert root.findtext("Message") == NOT_SIGNED
    assert root.findtext("HeadersNotSigned") == ", ".join(names)


@pytest.fixture
def secret_object(s3: Any) -> tuple[str, str]:
    """A bucket and key the attacker wants to read."""
    name = f"sec-secret-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="secret", Body=b"the payroll")
    return name, "secret"


def _exists(s3: Any, bucket: str, key: str) -> bool:
    return bool(s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount"))


def test_presigned_put_plus_copy_source_is_refused(
    gateway: Gateway, s3: Any, bucket: str, secret_object: tuple[str, str]
) -> None:
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "upload"})
    source = f"/{secret_object[0]}/{secret_object[1]}"
    response = raw_request(gateway, "PUT", _target(url), headers={"x-amz-copy-source": source})
    assert_not_signed(response, "x-amz-copy-source")
    assert not _exists(s3, bucket, "upload")
    # The URL itself still works as its signer meant.
    assert raw_request(gateway, "PUT", _target(url), body=b"mine").status == 200
    assert s3.get_object(Bucket=bucket, Key="upload")["Body"].read() == b"mine"


def test_presigned_upload_part_plus_copy_source_is_refused(
    gateway: Gateway, s3: Any, bucket: str, secret_object: tuple[str, str]
) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    url = s3.generate_presigned_url(
        "upload_part",
        Params={"Bucket": bucket, "Key": "big", "UploadId": upload, "PartNumber": 1},
    )
    source = f"/{secret_object[0]}/{secret_object[1]}"
    response = raw_request(gateway, "PUT", _target(url), headers={"x-amz-copy-source": source})
    assert_not_signed(response, "x-amz-copy-source")
    assert s3.list_parts(Bucket=bucket, Key="big", UploadId=upload).get("Parts", []) == []


def test_header_signed_put_plus_unsigned_copy_source_is_refused(
    gateway: Gateway, s3: Any, bucket: str, secret_object: tuple[str, str]
) -> None:
    path = f"/{bucket}/signed-put"
    headers = sign(gateway, "PUT", path, body=b"")
    headers["x-amz-copy-source"] = f"/{secret_object[0]}/{secret_object[1]}"
    assert_not_signed(raw_request(gateway, "PUT", path, headers=headers), "x-amz-copy-source")
    assert not _exists(s3, bucket, "signed-put")


@pytest.mark.parametrize("name", sorted(DECISIVE))
def test_presigned_put_plus_any_decisive_header_is_refused(
    gateway: Gateway, s3: Any, bucket: str, name: str
) -> None:
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "k"})
    response = raw_request(
        gateway, "PUT", _target(url), body=b"data", headers={name: DECISIVE[name]}
    )
    assert_not_signed(response, name)
    assert not _exists(s3, bucket, "k")


def test_header_signed_put_plus_unsigned_metadata_is_refused(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    path = f"/{bucket}/meta"
    headers = sign(gateway, "PUT", path, body=b"x", headers={"x-amz-meta-a": "signed"})
    headers["X-Amz-Meta-B"] = "added"
    headers["x-amz-tagging"] = "c=d"
    response = raw_request(gateway, "PUT", path, body=b"x", headers=headers)
    assert_not_signed(response, "x-amz-meta-b", "x-amz-tagging")
    assert not _exists(s3, bucket, "meta")


def test_signed_amz_headers_and_unsigned_content_sha256_still_work(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    """What legitimate clients do keeps working: headers the presigner signed, and an
    unsigned x-amz-content-sha256 (AWS's documented exception) on a presigned URL."""
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "ok", "Metadata": {"owner": "alice"}}
    )
    response = raw_request(
        gateway,
        "PUT",
        _target(url),
        body=b"fine",
        headers={"x-amz-meta-owner": "alice", "x-amz-content-sha256": "UNSIGNED-PAYLOAD"},
    )
    assert response.status == 200, response.body
    head = s3.head_object(Bucket=bucket, Key="ok")
    assert head["Metadata"] == {"owner": "alice"}


def test_sigv2_presigned_urls_sign_amz_headers_already(
    gateway: Gateway, s3: Any, bucket: str, secret_object: tuple[str, str]
) -> None:
    """SigV2's string to sign lists every x-amz-* header: an added one breaks it."""
    request = AWSRequest(method="PUT", url=f"{gateway.s3_url}/{bucket}/v2")
    HmacV1QueryAuth(Credentials(gateway.access_key, gateway.secret_key), expires=300).add_auth(
        request
    )
    source = f"/{secret_object[0]}/{secret_object[1]}"
    response = raw_request(
        gateway, "PUT", _target(request.url), headers={"x-amz-copy-source": source}
    )
    assert response.status == 403
    assert response.xml().findtext("Code") == "SignatureDoesNotMatch"
    assert not _exists(s3, bucket, "v2")


def test_query_metadata_without_a_presigned_signature_is_not_hoisted(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    """``x-amz-meta-*`` and ``x-amz-acl`` in the query act as headers only when a presigned
    URL's signature covers them. An ``AWSAccessKeyId`` parameter without ``Signature``
    (no SigV2 URL: the request authenticated by Bearer) used to be taken for one."""
    target = f"/{bucket}/k?AWSAccessKeyId=nobody&x-amz-meta-injected=yes&x-amz-acl=public-read"
    response = raw_request(
        gateway, "PUT", target, body=b"x", headers={"Authorization": f"Bearer {gateway.secret_key}"}
    )
    assert response.status == 200, response.body
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {}
    grants = s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
