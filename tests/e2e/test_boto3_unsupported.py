"""What the gateway does not implement answers NotImplemented (501) and never falls through
to the bucket or object operation it resembles: the writes of configurations no bucket
here can hold (their reads answer "not configured": test_boto3_unconfigured.py), and the
object subresources restore and torrent. Every gateway: HTTP, HTTPS, both backends."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import expect_error, keys_of, unique
from tests.e2e.test_boto3_unconfigured import assert_not_configured

_ROLE = "arn:aws:iam::123456789012:role/replication"
_TARGET = "arn:aws:s3:::elsewhere"

# Each write with a document boto3 accepts; {bucket} is the bucket's name.
BUCKET_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("put_bucket_website", {"WebsiteConfiguration": {"IndexDocument": {"Suffix": "index.html"}}}),
    (
        "put_bucket_notification_configuration",
        {
            "NotificationConfiguration": {
                "QueueConfigurations": [
                    {
                        "QueueArn": "arn:aws:sqs:us-east-1:123456789012:events",
                        "Events": ["s3:ObjectCreated:*"],
                    }
                ]
            }
        },
    ),
    (
        "put_bucket_logging",
        {
            "BucketLoggingStatus": {
                "LoggingEnabled": {"TargetBucket": "{bucket}", "TargetPrefix": "logs/"}
            }
        },
    ),
    (
        "put_bucket_replication",
        {
            "ReplicationConfiguration": {
                "Role": _ROLE,
                "Rules": [{"Status": "Enabled", "Prefix": "", "Destination": {"Bucket": _TARGET}}],
            }
        },
    ),
    ("put_bucket_accelerate_configuration", {"AccelerateConfiguration": {"Status": "Enabled"}}),
    (
        "put_bucket_analytics_configuration",
        {"Id": "a1", "AnalyticsConfiguration": {"Id": "a1", "StorageClassAnalysis": {}}},
    ),
    ("put_bucket_metrics_configuration", {"Id": "m1", "MetricsConfiguration": {"Id": "m1"}}),
    (
        "put_bucket_inventory_configuration",
        {
            "Id": "i1",
            "InventoryConfiguration": {
                "Id": "i1",
                "IsEnabled": True,
                "Destination": {"S3BucketDestination": {"Bucket": _TARGET, "Format": "CSV"}},
                "IncludedObjectVersions": "All",
                "Schedule": {"Frequency": "Daily"},
            },
        },
    ),
    (
        "put_bucket_intelligent_tiering_configuration",
        {
            "Id": "t1",
            "IntelligentTieringConfiguration": {
                "Id": "t1",
                "Status": "Enabled",
                "Tierings": [{"Days": 90, "AccessTier": "ARCHIVE_ACCESS"}],
            },
        },
    ),
]

OBJECT_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("restore_object", {"RestoreRequest": {"Days": 1}}),
    ("get_object_torrent", {}),
]


def _with_bucket(value: Any, bucket: str) -> Any:
    if isinstance(value, dict):
        return {k: _with_bucket(v, bucket) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_bucket(v, bucket) for v in value]
    return bucket if value == "{bucket}" else value


@pytest.mark.parametrize(("method", "kwargs"), BUCKET_CALLS, ids=[c[0] for c in BUCKET_CALLS])
def test_bucket_configuration_write_not_implemented(
    s3: Any, bucket: str, method: str, kwargs: dict[str, Any]
) -> None:
    s3.put_object(Bucket=bucket, Key="keep", Body=b"keep")
    call = getattr(s3, method)
    expect_error("NotImplemented", 501, call, Bucket=bucket, **_with_bucket(kwargs, bucket))
    # No side effect: the bucket, its one object and its settings are as they were.
    assert keys_of(s3, bucket) == ["keep"]
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"keep"
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    assert_not_configured(s3, bucket)


@pytest.mark.parametrize(("method", "kwargs"), OBJECT_CALLS, ids=[c[0] for c in OBJECT_CALLS])
def test_object_subresource_not_implemented(
    s3: Any, bucket: str, method: str, kwargs: dict[str, Any]
) -> None:
    s3.put_object(Bucket=bucket, Key="keep", Body=b"keep", Metadata={"m": "1"})
    expect_error("NotImplemented", 501, getattr(s3, method), Bucket=bucket, Key="keep", **kwargs)
    assert keys_of(s3, bucket) == ["keep"]
    got = s3.get_object(Bucket=bucket, Key="keep")
    assert got["Body"].read() == b"keep"
    assert got["Metadata"] == {"m": "1"}


def test_archived_objects_upstream_answer_the_errors_sdks_model(upstream_gateway: Gateway) -> None:
    """RestoreObject is not implemented, but the s3 backend passes a storage class to its
    store, which may archive the object (GLACIER, DEEP_ARCHIVE). Reading or copying it is
    then refused with the codes S3 answers and botocore models as exceptions
    (``InvalidObjectState`` for GetObject, ``ObjectNotInActiveTierError`` for CopyObject),
    not rewritten into an ``InvalidRequest`` the SDKs do not know. moto stands in for the
    store (SeaweedFS archives nothing)."""
    s3 = upstream_gateway.client()
    bucket = unique("archive")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="cold", Body=b"x", StorageClass="DEEP_ARCHIVE")
    assert s3.head_object(Bucket=bucket, Key="cold")["StorageClass"] == "DEEP_ARCHIVE"
    with pytest.raises(s3.exceptions.InvalidObjectState) as read:
        s3.get_object(Bucket=bucket, Key="cold")
    assert read.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert read.value.response["StorageClass"] == "DEEP_ARCHIVE"
    with pytest.raises(s3.exceptions.ObjectNotInActiveTierError) as copy:
        s3.copy_object(Bucket=bucket, Key="warm", CopySource={"Bucket": bucket, "Key": "cold"})
    assert copy.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    expect_error(
        "NotImplemented",
        501,
        s3.restore_object,
        Bucket=bucket,
        Key="cold",
        RestoreRequest={"Days": 1},
    )
    assert keys_of(s3, bucket) == ["cold"]
