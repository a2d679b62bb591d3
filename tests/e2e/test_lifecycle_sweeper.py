"""The lifecycle sweeper in running gateways, with a lifecycle "day" of one second
(``NFYIO_LIFECYCLE_DAY_SECONDS``) and a pass every 0.2 s: the filesystem backend with two
workers, and the s3 backend in front of moto and in front of SeaweedFS. Rules take
effect within seconds; nothing sleeps for days."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.lifecycle_util import eventually, keys, new_bucket, rule, swept_gateway


@pytest.fixture(scope="module", params=["filesystem-2-workers", "moto", "seaweedfs"])
def swept(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    yield from swept_gateway(request, tmp_path_factory, "lifecycle")


@pytest.fixture
def s3(swept: Gateway) -> Any:
    return swept.client()


@pytest.fixture
def bucket(s3: Any) -> str:
    return new_bucket(s3, "lc")


def test_expired_objects_go_and_others_stay(swept: Gateway, s3: Any, bucket: str) -> None:
    for key in ("tmp/a", "tmp/b", "keep/c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={"Rules": [rule("tmp", "tmp/", Expiration={"Days": 1})]},
    )
    eventually(lambda: keys(s3, bucket) == ["keep/c"], "expiration of tmp/", swept)
    # a later object under the prefix expires too; the rule is not a one-off
    s3.put_object(Bucket=bucket, Key="tmp/later", Body=b"x")
    eventually(lambda: keys(s3, bucket) == ["keep/c"], "expiration of tmp/later", swept)


def test_noncurrent_versions_and_markers(swept: Gateway, s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for i in range(4):
        s3.put_object(Bucket=bucket, Key="k", Body=str(i).encode())
    s3.put_object(Bucket=bucket, Key="gone", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="gone")
    only = s3.list_object_versions(Bucket=bucket, Prefix="gone")["Versions"][0]["VersionId"]
    s3.delete_object(Bucket=bucket, Key="gone", VersionId=only)  # only its marker is left
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                rule(
                    "versions",
                    "k",
                    NoncurrentVersionExpiration={"NoncurrentDays": 1, "NewerNoncurrentVersions": 1},
                ),
                rule("markers", "gone", Expiration={"ExpiredObjectDeleteMarker": True}),
            ]
        },
    )

    def settled() -> bool:
        listing = s3.list_object_versions(Bucket=bucket)
        versions = [v["Key"] for v in listing.get("Versions", [])]
        markers = [m["Key"] for m in listing.get("DeleteMarkers", [])]
        return versions == ["k", "k"] and markers == []

    eventually(settled, "noncurrent expiration and marker removal", swept)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"3"


def test_incomplete_uploads_are_aborted(swept: Gateway, s3: Any, bucket: str) -> None:
    doomed = s3.create_multipart_upload(Bucket=bucket, Key="up/big")["UploadId"]
    s3.create_multipart_upload(Bucket=bucket, Key="keep/big")
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                rule("uploads", "up/", AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1})
            ]
        },
    )

    def aborted() -> bool:
        uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        return [u["Key"] for u in uploads] == ["keep/big"]

    eventually(aborted, "abort of up/big", swept)
    assert doomed not in [
        u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    ]


def test_one_sweeper_per_deployment(swept: Gateway, s3: Any, bucket: str) -> None:
    """Every pass in the log was made by one holder of the lease (two workers on the
    filesystem gateway, one process on the others)."""
    s3.put_object(Bucket=bucket, Key="tmp/x", Body=b"x")
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={"Rules": [rule("tmp", "tmp/", Expiration={"Days": 1})]},
    )
    eventually(lambda: keys(s3, bucket) == [], "expiration of tmp/x", swept)
    holders = set(re.findall(r"lifecycle pass: holder=(\S+)", swept.log()))
    assert len(holders) == 1, holders
