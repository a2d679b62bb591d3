"""Class: a retried CompleteMultipartUpload is answered only for the upload that made the object.

S3 answers a completion retried after it succeeded with the object it made, and
``NoSuchUpload`` for any other upload id. The filesystem backend recognised the retry by
the listed parts alone (the key's current object had their multipart ETag), so a
completion naming an upload id that never existed, or another upload's, was answered 200
with the object. It now remembers which upload made the key's current object
(``backends.filesystem.completion``, table ``completions``) and answers the retry only for
that id; the retry also checks ``x-amz-mp-object-size`` as a fresh completion does.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import RawResponse
from tests.security.rawhttp import exchange

NEVER = "2~nfyio-upload-that-never-was"


def _completed(s3: Any, bucket: str, key: str, body: bytes) -> tuple[str, dict[str, Any]]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=body)[
        "ETag"
    ]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload=parts)
    return upload_id, parts


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _raw_complete(
    gw: Gateway, bucket: str, key: str, upload_id: str, etag: str, extra: dict[str, str]
) -> RawResponse:
    body = (
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        f"<ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    ).encode()
    target = f"/{bucket}/{key}?uploadId={upload_id}"
    request = AWSRequest(
        method="POST", url=f"http://127.0.0.1:{gw.s3_port}{target}", data=body, headers=extra
    )
    S3SigV4Auth(Credentials(gw.access_key, gw.secret_key), "s3", "us-east-1").add_auth(request)
    return exchange(gw, "POST", target, list(request.headers.items()), body)


def _xml_code(response: RawResponse) -> str:
    return ET.fromstring(response.body).findtext("Code") or ""


def test_a_completion_naming_an_upload_that_never_was_is_no_such_upload(
    s3: Any, bucket: str
) -> None:
    upload_id, parts = _completed(s3, bucket, "k", b"made by the upload")
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=NEVER, MultipartUpload=parts)
    assert _code(exc) == "NoSuchUpload"
    again = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload=parts
    )
    assert again["Key"] == "k"


def test_another_uploads_id_is_no_such_upload(s3: Any, bucket: str) -> None:
    _, parts = _completed(s3, bucket, "k", b"same bytes")
    other_id, _ = _completed(s3, bucket, "other", b"same bytes")
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=other_id, MultipartUpload=parts
        )
    assert _code(exc) == "NoSuchUpload"


def test_a_key_written_again_no_longer_answers_its_old_upload(s3: Any, bucket: str) -> None:
    upload_id, parts = _completed(s3, bucket, "k", b"same bytes")
    _completed(s3, bucket, "k", b"same bytes")  # the same parts' ETag, another upload
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload=parts
        )
    assert _code(exc) == "NoSuchUpload"


def test_raw_completion_of_an_unknown_upload_is_no_such_upload(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    upload_id, parts = _completed(s3, bucket, "k", b"made by the upload")
    etag = parts["Parts"][0]["ETag"]
    refused = _raw_complete(gateway, bucket, "k", NEVER, etag, {})
    assert (refused.status, _xml_code(refused)) == (404, "NoSuchUpload")
    answered = _raw_complete(gateway, bucket, "k", upload_id, etag, {})
    assert answered.status == 200, answered.body


def test_a_retry_checks_the_object_size_header(gateway: Gateway, s3: Any, bucket: str) -> None:
    upload_id, parts = _completed(s3, bucket, "k", b"18 bytes of object")
    etag = parts["Parts"][0]["ETag"]
    wrong = _raw_complete(gateway, bucket, "k", upload_id, etag, {"x-amz-mp-object-size": "5"})
    assert (wrong.status, _xml_code(wrong)) == (400, "InvalidRequest")
    right = _raw_complete(gateway, bucket, "k", upload_id, etag, {"x-amz-mp-object-size": "18"})
    assert right.status == 200, right.body
