"""POST policy signatures, with botocore's ``generate_presigned_post`` as the oracle for
both signature versions."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config

from sigv4 import (
    InvalidArgument,
    SignatureDoesNotMatch,
    parse_post_credential,
    verify_post_v2,
    verify_post_v4,
)

KEY, SECRET = "AKIDPOSTPOLICY000001", "post-policy-secret"


def fields(signature_version: str, region: str = "eu-west-1") -> dict[str, str]:
    client: Any = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        region_name=region,
        config=Config(signature_version=signature_version, s3={"addressing_style": "path"}),
    )
    out: dict[str, str] = client.generate_presigned_post(
        "bucket", "k/${filename}", Conditions=[["content-length-range", 1, 10]]
    )["fields"]
    return out


def test_sigv4_form_verifies() -> None:
    form = fields("s3v4")
    credential = parse_post_credential(
        form["x-amz-algorithm"], form["x-amz-credential"], form["x-amz-date"]
    )
    assert (credential.access_key_id, credential.region, credential.service) == (
        KEY,
        "eu-west-1",
        "s3",
    )
    verify_post_v4(form["policy"], form["x-amz-signature"], credential, SECRET)
    with pytest.raises(SignatureDoesNotMatch):  # lower-case hex only, as header SigV4
        verify_post_v4(form["policy"], form["x-amz-signature"].upper(), credential, SECRET)
    with pytest.raises(SignatureDoesNotMatch):
        verify_post_v4(form["policy"], form["x-amz-signature"], credential, "other-secret")
    with pytest.raises(SignatureDoesNotMatch):
        verify_post_v4(form["policy"] + "=", form["x-amz-signature"], credential, SECRET)


def test_sigv2_form_verifies() -> None:
    form = fields("s3")
    verify_post_v2(form["policy"], form["signature"], KEY, SECRET)
    with pytest.raises(SignatureDoesNotMatch):
        verify_post_v2(form["policy"], form["signature"], KEY, "other-secret")
    with pytest.raises(SignatureDoesNotMatch):
        verify_post_v2(form["policy"], "\u00e9\u00e9", KEY, SECRET)


@pytest.mark.parametrize(
    ("algorithm", "credential", "amz_date"),
    [
        ("AWS4-HMAC-SHA1", f"{KEY}/20300101/us-east-1/s3/aws4_request", "20300101T000000Z"),
        ("AWS4-HMAC-SHA256", f"{KEY}/20300101/us-east-1/s3", "20300101T000000Z"),
        ("AWS4-HMAC-SHA256", f"{KEY}/2030-01-01/us-east-1/s3/aws4_request", "20300101T000000Z"),
        ("AWS4-HMAC-SHA256", f"{KEY}/20300101/us-east-1/s3/aws4_request", "2030-01-01"),
    ],
)
def test_malformed_credentials_are_invalid_argument(
    algorithm: str, credential: str, amz_date: str
) -> None:
    with pytest.raises(InvalidArgument):
        parse_post_credential(algorithm, credential, amz_date)
