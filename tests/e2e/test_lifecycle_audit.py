"""What the lifecycle sweeper removes is on the audit record, read the way an operator
reads it: ``GET /v1/audit-events`` (the bucket owner's admins and the root key) and
``nfyio-gateway audit export``. A running gateway with two workers (the lease holder may
be either; the listing is served by either), a lifecycle "day" of one second and a pass
every 0.2 s (``NFYIO_LIFECYCLE_*``, as tests/e2e/test_lifecycle_sweeper.py); the rules are
set with boto3."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.e2e.lifecycle_util import SHORT_DAYS, WAIT
from tests.e2e.rest_util import ADMIN, api_json, call
from tests.e2e.tenants import Tenant, new_tenant

SERVICE = {"type": "service", "id": "lifecycle", "account": None}


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = {**SHORT_DAYS, "NFYIO_LIFECYCLE_LEASE_SECONDS": "5"}
    yield from own_gateway(
        tmp_path_factory, "lifecycle-audit", extra_env=env, extra_args=["--workers", "2"]
    )


@pytest.fixture(scope="module")
def tenant(swept: Gateway) -> Tenant:
    return new_tenant(swept, "lca")


@pytest.fixture
def bucket(tenant: Tenant) -> str:
    name = f"lca-{uuid.uuid4().hex[:16]}"
    tenant.client().create_bucket(Bucket=name)
    return name


def audit(gateway: Gateway, headers: dict[str, str] = ADMIN, **query: str) -> list[Any]:
    """One page of ``GET /v1/audit-events``, oldest first."""
    path = "/v1/audit-events?" + urllib.parse.urlencode({"limit": "1000", **query})
    found: list[Any] = api_json(gateway, "GET", path, headers=headers)["events"]
    return list(reversed(found))


def wait_for(gateway: Gateway, fetch: Callable[[], list[Any]], count: int, what: str) -> list[Any]:
    deadline = time.monotonic() + WAIT
    found: list[Any] = []
    while time.monotonic() < deadline:
        found = fetch()
        if len(found) >= count:
            return found
        time.sleep(0.2)
    pytest.fail(f"{what}: {len(found)} events within {WAIT} s\n{gateway.log()[-3000:]}")


def rule(rule_id: str, prefix: str, **actions: Any) -> dict[str, Any]:
    return {"ID": rule_id, "Status": "Enabled", "Filter": {"Prefix": prefix}, **actions}


def configure(s3: Any, bucket: str, *rules: dict[str, Any]) -> None:
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": list(rules)}
    )


def cli_export(gateway: Gateway, *args: str) -> list[Any]:
    command = [sys.executable, "-m", "gateway.cli", "audit", "export", *args]
    done = subprocess.run(
        [*command, "--data-dir", str(gateway.data_dir)],
        capture_output=True,
        text=True,
        env=dict(gateway.env),
        cwd=gateway.data_dir.parent,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_an_expired_object_can_be_traced(swept: Gateway, tenant: Tenant, bucket: str) -> None:
    """Unversioned bucket: "where did this object go?" answered by the owner's log, the
    root key's, a target filter on the key, a bucket filter and the command line."""
    s3 = tenant.client()
    key = "tmp/Q1 report é.txt"  # a space and a non-ASCII letter in the target id
    s3.put_object(Bucket=bucket, Key=key, Body=b"quarter")
    s3.put_object(Bucket=bucket, Key="keep/b", Body=b"x")
    configure(s3, bucket, rule("tmp-after-1-day", "tmp/", Expiration={"Days": 1}))

    found = wait_for(
        swept,
        lambda: audit(swept, tenant.headers, bucket=bucket, action="lifecycle.*"),
        1,
        "expiry of tmp/",
    )
    assert len(found) == 1
    event = found[0]
    assert event["action"] == "lifecycle.object.expire"
    assert event["outcome"] == "success"
    assert event["actor"] == SERVICE
    assert event["target"] == {"type": "object", "id": f"{bucket}/{key}"}
    assert event["account"] == tenant.id
    assert event["client_address"] is None
    details = event["details"]
    assert (details["bucket"], details["key"], details["version_id"]) == (bucket, key, None)
    assert details["rule_id"] == "tmp-after-1-day"
    assert details["s3_operation"] == "S3.EXPIRE.OBJECT"
    assert details["size"] == len(b"quarter")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["keep/b"]

    ids = [event["id"]]
    assert [e["id"] for e in audit(swept, target=f"{bucket}/{key}")] == ids  # root key
    assert [e["id"] for e in audit(swept, actor="lifecycle", bucket=bucket)] == ids
    assert audit(swept, bucket=bucket, action="lifecycle.upload.abort") == []
    other = new_tenant(swept, "lca")
    assert audit(swept, other.headers, bucket=bucket) == []  # another account's log
    exported = cli_export(swept, "--bucket", bucket, "--action", "lifecycle.*")
    assert [e["id"] for e in exported] == ids
    assert exported[0] == event


def test_noncurrent_versions_expired(swept: Gateway, tenant: Tenant, bucket: str) -> None:
    s3 = tenant.client()
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    versions = [s3.put_object(Bucket=bucket, Key="k", Body=str(i).encode()) for i in range(3)]
    ids = [v["VersionId"] for v in versions]
    configure(
        s3, bucket, rule("old-versions", "k", NoncurrentVersionExpiration={"NoncurrentDays": 1})
    )
    found = wait_for(
        swept,
        lambda: audit(swept, tenant.headers, bucket=bucket, action="lifecycle.version.expire"),
        2,
        "expiry of two noncurrent versions",
    )
    assert len(found) == 2
    assert {e["details"]["version_id"] for e in found} == set(ids[:2])
    for event in found:
        assert event["outcome"] == "success"
        assert event["actor"] == SERVICE
        assert event["target"] == {"type": "object", "id": f"{bucket}/k"}
        assert event["details"]["rule_id"] == "old-versions"
    left = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert [v["VersionId"] for v in left] == [ids[2]]


def test_a_current_version_expired_behind_a_delete_marker(
    swept: Gateway, tenant: Tenant, bucket: str
) -> None:
    s3 = tenant.client()
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    hidden = s3.put_object(Bucket=bucket, Key="doc", Body=b"data")["VersionId"]
    configure(s3, bucket, rule("expire-current", "", Expiration={"Days": 1}))
    found = wait_for(
        swept,
        lambda: audit(swept, tenant.headers, bucket=bucket, action="lifecycle.*"),
        1,
        "a delete marker over doc",
    )
    assert len(found) == 1
    event = found[0]
    markers = s3.list_object_versions(Bucket=bucket)["DeleteMarkers"]
    assert len(markers) == 1 and markers[0]["IsLatest"]
    assert event["action"] == "lifecycle.delete_marker.create"
    assert event["actor"] == SERVICE
    assert event["target"] == {"type": "object", "id": f"{bucket}/doc"}
    assert event["details"]["version_id"] == markers[0]["VersionId"]
    assert event["details"]["expired_version_id"] == hidden
    assert event["details"]["rule_id"] == "expire-current"
    assert event["details"]["s3_operation"] == "S3.CREATE.DELETEMARKER"
    # the data is still there, as the noncurrent version the event names
    assert s3.get_object(Bucket=bucket, Key="doc", VersionId=hidden)["Body"].read() == b"data"


def test_an_incomplete_upload_aborted(swept: Gateway, tenant: Tenant, bucket: str) -> None:
    s3 = tenant.client()
    doomed = s3.create_multipart_upload(Bucket=bucket, Key="up/big")["UploadId"]
    s3.create_multipart_upload(Bucket=bucket, Key="keep/big")
    configure(
        s3,
        bucket,
        rule("stale-uploads", "up/", AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1}),
    )
    found = wait_for(
        swept,
        lambda: audit(swept, tenant.headers, bucket=bucket, action="lifecycle.*"),
        1,
        "abort of up/big",
    )
    assert len(found) == 1
    event = found[0]
    assert event["action"] == "lifecycle.upload.abort"
    assert event["actor"] == SERVICE
    assert event["target"] == {"type": "upload", "id": f"{bucket}/up/big"}
    assert event["details"]["upload_id"] == doomed
    assert event["details"]["rule_id"] == "stale-uploads"
    assert event["details"]["s3_operation"] == "S3.DELETE.UPLOAD"
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [u["Key"] for u in uploads] == ["keep/big"]


def test_a_refused_deletion_is_recorded_once_and_the_sweep_goes_on(
    swept: Gateway, tenant: Tenant
) -> None:
    """A noncurrent version under a legal hold cannot go: one failure event however many
    passes retry it, while another key of the bucket is still expired."""
    s3 = tenant.client()
    bucket = f"lca-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    held = s3.put_object(Bucket=bucket, Key="held", Body=b"1", ObjectLockLegalHoldStatus="ON")[
        "VersionId"
    ]
    s3.put_object(Bucket=bucket, Key="held", Body=b"2")
    s3.put_object(Bucket=bucket, Key="other", Body=b"1")
    s3.put_object(Bucket=bucket, Key="other", Body=b"2")
    configure(s3, bucket, rule("versions", "", NoncurrentVersionExpiration={"NoncurrentDays": 1}))

    def both() -> list[Any]:
        return audit(swept, tenant.headers, bucket=bucket, action="lifecycle.version.expire")

    found = wait_for(swept, both, 2, "the refusal and the other key's expiry")
    time.sleep(2.0)  # ten more passes: the refusal is not recorded again
    found = both()
    outcomes = sorted((e["target"]["id"], e["outcome"]) for e in found)
    assert outcomes == [(f"{bucket}/held", "failure"), (f"{bucket}/other", "success")]
    failure = next(e for e in found if e["outcome"] == "failure")
    assert failure["details"]["version_id"] == held
    assert failure["details"]["error"] == "AccessDenied"
    assert failure["details"]["rule_id"] == "versions"
    assert failure["actor"] == SERVICE
    kept = s3.head_object(Bucket=bucket, Key="held", VersionId=held)
    assert kept["ObjectLockLegalHoldStatus"] == "ON"


def test_filters_refuse_what_names_nothing(swept: Gateway) -> None:
    # A target may hold control characters (an object key's): only a longer one than
    # is stored names nothing.
    for bad in ("bucket=a%2Fb", "bucket=", "target=" + "t" * 1301, "bucket=" + "b" * 256):
        status, _, raw = call(swept, "GET", f"/v1/audit-events?{bad}", headers=ADMIN)
        assert status == 400, bad
        error = json.loads(raw)["error"]
        assert error["code"] == "ValidationError"
