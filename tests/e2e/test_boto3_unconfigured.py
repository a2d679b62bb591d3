"""Bucket subresources the gateway implements answer AWS's 404 codes while unconfigured
(tools tell "not configured" from "not supported"), never 501; ``?requestPayment``
answers ``BucketOwner`` for every bucket. Every gateway: HTTP, HTTPS, both backends."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import expect_error, raw_request, sign

UNCONFIGURED: list[tuple[str, str]] = [
    ("get_bucket_tagging", "NoSuchTagSet"),
    ("get_bucket_lifecycle_configuration", "NoSuchLifecycleConfiguration"),
    ("get_bucket_policy", "NoSuchBucketPolicy"),
    ("get_bucket_policy_status", "NoSuchBucketPolicy"),
    ("get_bucket_encryption", "ServerSideEncryptionConfigurationNotFoundError"),
    ("get_public_access_block", "NoSuchPublicAccessBlockConfiguration"),
    ("get_bucket_ownership_controls", "OwnershipControlsNotFoundError"),
    ("get_object_lock_configuration", "ObjectLockConfigurationNotFoundError"),
]


@pytest.mark.parametrize(("method", "code"), UNCONFIGURED, ids=[c[0] for c in UNCONFIGURED])
def test_unconfigured_subresource_is_404(s3: Any, bucket: str, method: str, code: str) -> None:
    expect_error(code, 404, getattr(s3, method), Bucket=bucket)


@pytest.mark.parametrize(("method", "code"), UNCONFIGURED, ids=[c[0] for c in UNCONFIGURED])
def test_missing_bucket_is_no_such_bucket(s3: Any, bucket: str, method: str, code: str) -> None:
    expect_error("NoSuchBucket", 404, getattr(s3, method), Bucket=bucket + "-absent")


def test_request_payment_is_the_bucket_owner(s3: Any, bucket: str) -> None:
    answer = s3.get_bucket_request_payment(Bucket=bucket)
    assert answer["Payer"] == "BucketOwner"
    s3.put_bucket_request_payment(
        Bucket=bucket, RequestPaymentConfiguration={"Payer": "BucketOwner"}
    )
    expect_error(
        "NotImplemented",
        501,
        s3.put_bucket_request_payment,
        Bucket=bucket,
        RequestPaymentConfiguration={"Payer": "Requester"},
    )
    assert s3.get_bucket_request_payment(Bucket=bucket)["Payer"] == "BucketOwner"
    expect_error("NoSuchBucket", 404, s3.get_bucket_request_payment, Bucket=bucket + "-absent")


def test_request_payment_document(any_gateway: Gateway, bucket: str) -> None:
    path = f"/{bucket}?requestPayment"
    answer = raw_request(any_gateway, "GET", path, headers=sign(any_gateway, "GET", path))
    assert answer.status == 200
    assert b"<Payer>BucketOwner</Payer>" in answer.body
    assert b'<RequestPaymentConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' in (
        answer.body
    )
    for body in (b"<RequestPaymentConfiguration><Payer>Nobody</Payer>"
                 b"</RequestPaymentConfiguration>", b"<Other/>"):  # fmt: skip
        answer = raw_request(
            any_gateway, "PUT", path, body=body, headers=sign(any_gateway, "PUT", path, body=body)
        )
        assert answer.status == 400
        assert b"<Code>MalformedXML</Code>" in answer.body
