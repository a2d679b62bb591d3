"""Class: a session token the gateway cannot verify is refused, never ignored.

A signature made with temporary credentials carries ``x-amz-security-token`` (a header,
the ``X-Amz-Security-Token`` parameter of a SigV4 presigned URL, the
``x-amz-security-token`` parameter of a SigV2 one, a POST form's field). S3 takes the
key only together with a token that verifies, and answers 403 ``InvalidToken`` to one
that does not. Every key here is long-term (the gateway issues no temporary
credentials), so no token verifies. Before, the token was ignored: a request signed with
a long-term key plus any token, which S3 refuses, was served. Real gateway, boto3 and
raw HTTP.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway
from tests.e2e.post_util import post_form
from tests.e2e.s3util import keys_of, raw_request, sign

TOKEN = "FwoGZXIvYXdzEXAMPLEsessiontoken"


def _with_token(gateway: Gateway, signature_version: str, token: str = TOKEN) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=gateway.s3_url,
        aws_access_key_id=gateway.access_key,
        aws_secret_access_key=gateway.secret_key,
        aws_session_token=token,
        region_name="us-east-1",
        config=BotoConfig(
            signature_version=signature_version,
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
        ),
    )


def test_a_signed_request_with_a_token_is_refused(gateway: Gateway, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"old")
    client = _with_token(gateway, "s3v4")
    for operation, params in (
        ("get_object", {"Bucket": bucket, "Key": "k"}),
        ("put_object", {"Bucket": bucket, "Key": "k", "Body": b"new"}),
    ):
        with pytest.raises(ClientError) as caught:
            getattr(client, operation)(**params)
        error = caught.value.response
        assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (
            403,
            "InvalidToken",
        ), operation
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"old"


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"], ids=["sigv4-url", "sigv2-url"])
def test_a_presigned_url_with_a_token_is_refused(
    gateway: Gateway, s3: Any, bucket: str, signature_version: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    url: str = _with_token(gateway, signature_version).generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=600
    )
    parts = urlsplit(url)
    assert "security-token=" in parts.query.lower()
    response = raw_request(gateway, "GET", f"{parts.path}?{parts.query}")
    assert (response.status, response.error_code()) == (403, "InvalidToken"), response.body
    assert TOKEN.encode() not in response.body


def test_a_form_with_a_token_stores_nothing(gateway: Gateway, s3: Any, bucket: str) -> None:
    fields: dict[str, str] = _with_token(gateway, "s3v4").generate_presigned_post(
        Bucket=bucket, Key="k"
    )["fields"]
    assert fields["x-amz-security-token"] == TOKEN
    reply = post_form(gateway, bucket, fields, b"x")
    assert (reply.status, reply.error_code()) == (403, "InvalidToken"), reply.body
    assert keys_of(s3, bucket) == []


def test_an_empty_token_is_no_token(gateway: Gateway, s3: Any, bucket: str) -> None:
    """An empty token is a credential without one, as MinIO reads it: boto3 and the aws
    ``aws_session_token=""`` leaves the header out but puts an empty
    ``x-amz-security-token`` field in presigned POST forms, and the Rust ``object_store``
    crate (Polars, obstore) sends an empty signed header. Neither is refused."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    client = boto3.client(
        "s3",
        endpoint_url=gateway.s3_url,
        aws_access_key_id=gateway.access_key,
        aws_secret_access_key=gateway.secret_key,
        aws_session_token="",
        region_name="us-east-1",
        config=BotoConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"
    signed = sign(gateway, "GET", f"/{bucket}/k", headers={"x-amz-security-token": ""})
    assert "x-amz-security-token" in signed
    response = raw_request(gateway, "GET", f"/{bucket}/k", headers=signed)
    assert (response.status, response.body) == (200, b"data"), response.body
    fields: dict[str, str] = _with_token(gateway, "s3v4", "").generate_presigned_post(
        Bucket=bucket, Key="posted"
    )["fields"]
    assert fields["x-amz-security-token"] == ""
    reply = post_form(gateway, bucket, fields, b"x")
    assert reply.status == 204, reply.body
    assert s3.get_object(Bucket=bucket, Key="posted")["Body"].read() == b"x"
