"""Bucket subresources the gateway implements answer AWS's 404 codes while unconfigured
(tools tell "not configured" from "not supported"), never 501; ``?requestPayment``
answers ``BucketOwner`` for every bucket; and configurations no bucket here can hold
(website, replication, logging, notification, accelerate, analytics, metrics, inventory,
intelligent-tiering) read exactly as AWS reads them on a bucket without one, their S3
DELETEs (and the empty PUTs that turn logging and notifications off) deleting nothing,
under the same authorization as any request. Every gateway:
HTTP, HTTPS, both backends."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import make_key
from tests.e2e.s3util import expect_error, keys_of, raw_request, sign
from tests.e2e.tenants import policy

UNCONFIGURED: list[tuple[str, str]] = [
    ("get_bucket_tagging", "NoSuchTagSet"),
    ("get_bucket_lifecycle_configuration", "NoSuchLifecycleConfiguration"),
    ("get_bucket_policy", "NoSuchBucketPolicy"),
    ("get_bucket_policy_status", "NoSuchBucketPolicy"),
    ("get_bucket_encryption", "ServerSideEncryptionConfigurationNotFoundError"),
    ("get_public_access_block", "NoSuchPublicAccessBlockConfiguration"),
    ("get_bucket_ownership_controls", "OwnershipControlsNotFoundError"),
    ("get_object_lock_configuration", "ObjectLockConfigurationNotFoundError"),
    # configurations no bucket here can hold (gateway/s3/unconfigured.py)
    ("get_bucket_replication", "ReplicationConfigurationNotFoundError"),
    ("get_bucket_website", "NoSuchWebsiteConfiguration"),
]

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"

# Reads answered 200 with nothing configured: the call and every key boto3 returns
# besides ResponseMetadata (no Status, no LoggingEnabled, no configurations, no list).
EMPTY_READS: list[tuple[str, set[str]]] = [
    ("get_bucket_accelerate_configuration", set()),
    ("get_bucket_logging", set()),
    ("get_bucket_notification_configuration", set()),
    ("list_bucket_analytics_configurations", {"IsTruncated"}),
    ("list_bucket_metrics_configurations", {"IsTruncated"}),
    ("list_bucket_inventory_configurations", {"IsTruncated"}),
    ("list_bucket_intelligent_tiering_configurations", {"IsTruncated"}),
]

# Configurations S3 keeps by id: the read and the delete of one (any id names nothing).
BY_ID: list[str] = ["analytics", "metrics", "inventory", "intelligent_tiering"]

# S3's deletes of the two that have one without an id: nothing to delete, 204.
DELETES: list[str] = ["delete_bucket_website", "delete_bucket_replication"]

# (query, root element) of the 200 documents, as sent.
DOCUMENTS: list[tuple[str, str]] = [
    ("accelerate", "AccelerateConfiguration"),
    ("notification", "NotificationConfiguration"),
    ("logging", "BucketLoggingStatus"),
    ("analytics", "ListBucketAnalyticsConfigurationResult"),
    ("metrics", "ListMetricsConfigurationsResult"),
    ("inventory", "ListInventoryConfigurationsResult"),
    ("intelligent-tiering", "ListBucketIntelligentTieringConfigurationsOutput"),
]


def assert_not_configured(s3: Any, bucket: str) -> None:
    """Every configuration no bucket here can hold reads as never set on ``bucket``."""
    for method, keys in EMPTY_READS:
        answer = getattr(s3, method)(Bucket=bucket)
        assert set(answer) - {"ResponseMetadata"} == keys, (method, answer)
        assert answer.get("IsTruncated", False) is False
    expect_error(
        "ReplicationConfigurationNotFoundError", 404, s3.get_bucket_replication, Bucket=bucket
    )
    expect_error("NoSuchWebsiteConfiguration", 404, s3.get_bucket_website, Bucket=bucket)
    for kind in BY_ID:
        read = getattr(s3, f"get_bucket_{kind}_configuration")
        expect_error("NoSuchConfiguration", 404, read, Bucket=bucket, Id="any")


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


@pytest.mark.parametrize(("method", "keys"), EMPTY_READS, ids=[c[0] for c in EMPTY_READS])
def test_unconfigurable_read_is_empty(s3: Any, bucket: str, method: str, keys: set[str]) -> None:
    answer = getattr(s3, method)(Bucket=bucket)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert set(answer) - {"ResponseMetadata"} == keys, answer
    assert answer.get("IsTruncated", False) is False
    expect_error("NoSuchBucket", 404, getattr(s3, method), Bucket=bucket + "-absent")


@pytest.mark.parametrize("kind", BY_ID)
def test_configuration_by_id_is_no_such_configuration(s3: Any, bucket: str, kind: str) -> None:
    read = getattr(s3, f"get_bucket_{kind}_configuration")
    delete = getattr(s3, f"delete_bucket_{kind}_configuration")
    expect_error("NoSuchConfiguration", 404, read, Bucket=bucket, Id="report-1")
    expect_error("NoSuchConfiguration", 404, delete, Bucket=bucket, Id="report-1")
    expect_error("NoSuchBucket", 404, read, Bucket=bucket + "-absent", Id="report-1")
    expect_error("NoSuchBucket", 404, delete, Bucket=bucket + "-absent", Id="report-1")


@pytest.mark.parametrize("method", DELETES)
def test_delete_of_what_cannot_be_set_deletes_nothing(s3: Any, bucket: str, method: str) -> None:
    s3.put_object(Bucket=bucket, Key="keep", Body=b"keep")
    answer = getattr(s3, method)(Bucket=bucket)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert keys_of(s3, bucket) == ["keep"]
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"keep"
    assert_not_configured(s3, bucket)
    expect_error("NoSuchBucket", 404, getattr(s3, method), Bucket=bucket + "-absent")


def test_the_empty_put_turns_off_logging_and_notifications(s3: Any, bucket: str) -> None:
    """S3 has no DELETE of these two: the empty document is how SDKs and Terraform remove
    one, and it asks for the state every bucket here is in. One that configures
    anything is 501, changing nothing."""
    s3.put_object(Bucket=bucket, Key="keep", Body=b"keep")
    logging = s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={})
    assert logging["ResponseMetadata"]["HTTPStatusCode"] == 200
    notification = s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={}, SkipDestinationValidation=True
    )
    assert notification["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert_not_configured(s3, bucket)
    target = {"TargetBucket": bucket, "TargetPrefix": "logs/"}
    expect_error(
        "NotImplemented",
        501,
        s3.put_bucket_logging,
        Bucket=bucket,
        BucketLoggingStatus={"LoggingEnabled": target},
    )
    expect_error(
        "NotImplemented",
        501,
        s3.put_bucket_notification_configuration,
        Bucket=bucket,
        NotificationConfiguration={"EventBridgeConfiguration": {}},
    )
    expect_error(
        "NoSuchBucket",
        404,
        s3.put_bucket_logging,
        Bucket=bucket + "-absent",
        BucketLoggingStatus={},
    )
    assert_not_configured(s3, bucket)
    assert keys_of(s3, bucket) == ["keep"]


def test_turning_off_needs_the_write(any_gateway: Gateway, s3: Any, bucket: str) -> None:
    """The empty PUT is a write of the configuration: ``write:buckets`` and the Put
    action, as for any setting."""
    made = make_key(any_gateway, name="reader", scopes=["read:buckets", "write:objects"])
    reader = any_gateway.client(made["access_key_id"], made["secret_access_key"])
    expect_error(
        "AccessDenied", 403, reader.put_bucket_logging, Bucket=bucket, BucketLoggingStatus={}
    )
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=policy(
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutBucketNotification",
                "Resource": f"arn:aws:s3:::{bucket}",
            }
        ),
    )
    expect_error(
        "AccessDenied",
        403,
        s3.put_bucket_notification_configuration,
        Bucket=bucket,
        NotificationConfiguration={},
    )
    s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={})
    s3.delete_bucket_policy(Bucket=bucket)


@pytest.mark.parametrize(("query", "root"), DOCUMENTS, ids=[d[0] for d in DOCUMENTS])
def test_unconfigured_documents(any_gateway: Gateway, bucket: str, query: str, root: str) -> None:
    """The document as sent: S3's namespace, the root boto3 never checks, no children but
    a list's ``IsTruncated``; a HEAD is 405, as S3 answers for any subresource."""
    path = f"/{bucket}?{query}"
    answer = raw_request(any_gateway, "GET", path, headers=sign(any_gateway, "GET", path))
    assert answer.status == 200
    assert answer.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    document = ElementTree.fromstring(answer.body)
    assert document.tag == f"{NS}{root}"
    expected = [(f"{NS}IsTruncated", "false")] if root.startswith("List") else []
    assert [(child.tag, child.text) for child in document] == expected
    assert f'<{root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'.encode() in answer.body
    head = raw_request(any_gateway, "HEAD", path, headers=sign(any_gateway, "HEAD", path))
    assert (head.status, head.body) == (405, b"")


def test_unconfigured_heads_and_a_missing_id(any_gateway: Gateway, bucket: str) -> None:
    """A HEAD naming a subresource, configurable here or not, existing bucket or not: 405
    before anything is looked up, ``Allow`` naming the methods served (as S3 answers)."""
    for path, allow in (
        (f"/{bucket}?website", "DELETE, GET"),
        (f"/{bucket}?replication", "DELETE, GET"),
        (f"/{bucket}?metrics&id=m1", "DELETE, GET"),
        (f"/{bucket}-absent?accelerate", "GET"),
        (f"/{bucket}?tagging", "DELETE, GET, PUT"),
        (f"/{bucket}?versioning", "GET, PUT"),
        (f"/{bucket}-absent?location", "GET"),
    ):
        head = raw_request(any_gateway, "HEAD", path, headers=sign(any_gateway, "HEAD", path))
        assert (head.status, head.body) == (405, b""), path
        assert head.headers["Allow"] == allow, path
    # S3's DELETE of a configuration kept by id needs the id (AWS's documentation is
    # silent on the answer; the gateway's is InvalidArgument).
    path = f"/{bucket}?inventory"
    answer = raw_request(any_gateway, "DELETE", path, headers=sign(any_gateway, "DELETE", path))
    assert answer.status == 400
    assert b"<Code>InvalidArgument</Code>" in answer.body
    assert b"<ArgumentName>id</ArgumentName>" in answer.body


def test_reads_go_through_the_access_decision(any_gateway: Gateway, s3: Any, bucket: str) -> None:
    """A Deny on s3:GetBucketNotification refuses that read, and only it; a key without
    ``read:buckets`` is refused every one of them."""
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=policy(
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetBucketNotification",
                "Resource": f"arn:aws:s3:::{bucket}",
            }
        ),
    )
    expect_error("AccessDenied", 403, s3.get_bucket_notification_configuration, Bucket=bucket)
    assert "Status" not in s3.get_bucket_accelerate_configuration(Bucket=bucket)
    s3.delete_bucket_policy(Bucket=bucket)
    s3.get_bucket_notification_configuration(Bucket=bucket)

    made = make_key(any_gateway, name="objects only", scopes=["read:objects", "write:objects"])
    limited = any_gateway.client(made["access_key_id"], made["secret_access_key"])
    for method, _ in EMPTY_READS:
        expect_error("AccessDenied", 403, getattr(limited, method), Bucket=bucket)
    expect_error("AccessDenied", 403, limited.delete_bucket_website, Bucket=bucket)
    assert_not_configured(s3, bucket)
