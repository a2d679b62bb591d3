"""Subresources the gateway does not implement answer NotImplemented (501) and never fall
through to the bucket or object operation they resemble."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.s3util import expect_error, keys_of

BUCKET_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("get_bucket_lifecycle_configuration", {}),
    (
        "put_bucket_lifecycle_configuration",
        {
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "ID": "r",
                        "Status": "Enabled",
                        "Filter": {"Prefix": ""},
                        "Expiration": {"Days": 1},
                    }
                ]
            }
        },
    ),
    ("delete_bucket_lifecycle", {}),
    ("get_bucket_tagging", {}),
    ("put_bucket_tagging", {"Tagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}),
    ("delete_bucket_tagging", {}),
    ("get_bucket_website", {}),
    ("get_bucket_notification_configuration", {}),
    ("get_bucket_logging", {}),
    ("get_bucket_replication", {}),
    ("get_bucket_accelerate_configuration", {}),
    ("get_bucket_request_payment", {}),
]

OBJECT_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("get_object_tagging", {}),
    ("put_object_tagging", {"Tagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}),
    ("delete_object_tagging", {}),
    ("restore_object", {"RestoreRequest": {"Days": 1}}),
    ("get_object_torrent", {}),
]


@pytest.mark.parametrize(("method", "kwargs"), BUCKET_CALLS, ids=[c[0] for c in BUCKET_CALLS])
def test_bucket_subresource_not_implemented(
    s3: Any, bucket: str, method: str, kwargs: dict[str, Any]
) -> None:
    s3.put_object(Bucket=bucket, Key="keep", Body=b"keep")
    expect_error("NotImplemented", 501, getattr(s3, method), Bucket=bucket, **kwargs)
    # No side effect: the bucket and its one object are as they were.
    assert keys_of(s3, bucket) == ["keep"]
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"keep"
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)


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


def test_put_tagging_on_missing_key_creates_nothing(s3: Any, bucket: str) -> None:
    expect_error(
        "NotImplemented",
        501,
        s3.put_object_tagging,
        Bucket=bucket,
        Key="ghost",
        Tagging={"TagSet": []},
    )
    assert keys_of(s3, bucket) == []


def test_put_bucket_tagging_on_new_name_creates_no_bucket(s3: Any, bucket: str) -> None:
    name = bucket + "-ghost"
    err = s3.exceptions.ClientError
    with pytest.raises(err) as info:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": []})
    assert info.value.response["Error"]["Code"] in {"NotImplemented", "NoSuchBucket"}
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
