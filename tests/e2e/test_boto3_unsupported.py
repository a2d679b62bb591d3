"""Subresources the gateway does not implement answer NotImplemented (501) and never fall
through to the bucket or object operation they resemble."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.s3util import expect_error, keys_of

BUCKET_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("get_bucket_website", {}),
    ("get_bucket_notification_configuration", {}),
    ("get_bucket_logging", {}),
    ("get_bucket_replication", {}),
    ("get_bucket_accelerate_configuration", {}),
]

OBJECT_CALLS: list[tuple[str, dict[str, Any]]] = [
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
