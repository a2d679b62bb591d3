"""The lifecycle sweeper in running gateways, with a lifecycle "day" of one second
(``NFYIO_LIFECYCLE_DAY_SECONDS``) and a pass every 0.2 s: the filesystem backend with two
workers, and the s3 backend in front of moto and in front of SeaweedFS. Rules take
effect within seconds; nothing sleeps for days."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import upstream_env
from tests.e2e.gateway_process import Gateway, start_gateway
from tests.services.seaweedfs import SeaweedFS

SHORT_DAYS = {
    "NFYIO_LIFECYCLE_DAY_SECONDS": "1",
    "NFYIO_LIFECYCLE_SWEEP_INTERVAL": "0.2",
    # Renewed at every pass; a minute is longer than any pause of a worker on a loaded
    # machine, so the other worker never takes the lease over (one holder is asserted).
    "NFYIO_LIFECYCLE_LEASE_SECONDS": "60",
}
WAIT = 30.0


@pytest.fixture(scope="module", params=["filesystem-2-workers", "moto", "seaweedfs"])
def swept(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    data = Path(tmp_path_factory.mktemp("lifecycle")) / "data"
    if request.param == "filesystem-2-workers":
        gw = start_gateway(data, extra_env=SHORT_DAYS, extra_args=["--workers", "2"])
    elif request.param == "moto":
        endpoint: str = request.getfixturevalue("moto_upstream")
        gw = start_gateway(data, extra_env={**SHORT_DAYS, **upstream_env(endpoint)})
    else:
        weed: SeaweedFS = request.getfixturevalue("seaweedfs")
        env = upstream_env(weed.endpoint_url, weed.access_key, weed.secret_key)
        gw = start_gateway(data, extra_env={**SHORT_DAYS, **env})
    yield gw
    gw.stop()


@pytest.fixture
def s3(swept: Gateway) -> Any:
    return swept.client()


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"lc-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


def eventually(check: Callable[[], bool], what: str, gateway: Gateway) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    pytest.fail(f"{what} did not happen within {WAIT} s\n{gateway.log()[-3000:]}")


def keys(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def rule(rule_id: str, prefix: str, **actions: Any) -> dict[str, Any]:
    return {"ID": rule_id, "Status": "Enabled", "Filter": {"Prefix": prefix}, **actions}


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
