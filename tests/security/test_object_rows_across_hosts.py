"""An object written through one host never takes the owner or ACL of a version written
through another.

Object ownership and ACLs live in rows of the shared state store; a bucket keeps them
only once one was needed (its ``object_acls`` flag, read with the bucket's other settings
and cached by each host for ``identity.bucket_cache_seconds``), and from then on every
write records one, so that a key's latest row is its current version's. Host B, holding
the bucket's settings from before host A wrote the bucket's first row (a ``public-read``
object), overwrote that key without a row of its own: the private object B was given
was then served to anyone under A's old ``public-read`` row, through either host, for
good. The cache is 30 s here, so B's answer is surely stale when it writes.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest

from tests.e2e.fixture_util import two_hosts_fixture
from tests.e2e.gateway_process import Gateway
from tests.e2e.tenants import new_tenant

pytestmark = pytest.mark.multihost


hosts = two_hosts_fixture("object-rows", extra_env={"NFYIO_IDENTITY_BUCKET_CACHE_SECONDS": "30"})


def _anonymous_get(host: Gateway, bucket: str, key: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"{host.s3_url}/{bucket}/{key}", timeout=30) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), b""


@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
def test_a_write_through_a_host_with_stale_settings_keeps_its_own_acl(
    hosts: tuple[Gateway, Gateway], versioned: bool
) -> None:
    host_a, host_b = hosts
    s3_a: Any = host_a.client()
    s3_b: Any = host_b.client()
    bucket = f"rows-{uuid.uuid4().hex[:12]}"
    s3_a.create_bucket(Bucket=bucket)
    if versioned:
        s3_a.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3_b.put_object(Bucket=bucket, Key="other", Body=b"x")  # B now holds: no rows

    s3_a.put_object(Bucket=bucket, Key="k", Body=b"published", ACL="public-read")
    assert _anonymous_get(host_a, bucket, "k") == (200, b"published")

    # The owner replaces it through B with a private object (no ACL: the owner's only).
    s3_b.put_object(Bucket=bucket, Key="k", Body=b"private")
    for host in (host_a, host_b):
        assert _anonymous_get(host, bucket, "k")[0] == 403, host.s3_url
    grants = s3_a.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]


def test_a_version_deleted_through_a_host_with_stale_settings_takes_its_acl_along(
    hosts: tuple[Gateway, Gateway],
) -> None:
    """The same for a delete: B, holding "no rows", deleted the public version A had
    just written without its row, and the private version below it became current
    under that row."""
    host_a, host_b = hosts
    s3_a: Any = host_a.client()
    s3_b: Any = host_b.client()
    bucket = f"rows-{uuid.uuid4().hex[:12]}"
    s3_a.create_bucket(Bucket=bucket)
    s3_a.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3_b.put_object(Bucket=bucket, Key="k", Body=b"private")  # B now holds: no rows

    public = s3_a.put_object(Bucket=bucket, Key="k", Body=b"published", ACL="public-read")
    assert _anonymous_get(host_a, bucket, "k") == (200, b"published")
    s3_b.delete_object(Bucket=bucket, Key="k", VersionId=public["VersionId"])
    for host in (host_a, host_b):
        assert _anonymous_get(host, bucket, "k")[0] == 403, host.s3_url
    assert s3_a.get_object(Bucket=bucket, Key="k")["Body"].read() == b"private"


def test_versions_written_in_one_second_keep_their_own_acls(
    hosts: tuple[Gateway, Gateway],
) -> None:
    """One host will do: the upstream store dates versions in whole seconds and
    SeaweedFS's version ids shrink, so the rows of a public version and the private one
    written just after it tied on the time and the older won: the newer, private object
    was served to anyone. A new ACL on the older version later must not lift it above
    the newer one either. Three keys: some pair lands in one second."""
    host, _ = hosts
    s3: Any = host.client()
    bucket = f"rows-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    older = {}
    for key in ("k0", "k1", "k2"):
        older[key] = s3.put_object(Bucket=bucket, Key=key, Body=b"published", ACL="public-read")
        s3.put_object(Bucket=bucket, Key=key, Body=b"private")
    for key, first in older.items():
        assert _anonymous_get(host, bucket, key)[0] == 403, key
        s3.put_object_acl(Bucket=bucket, Key=key, VersionId=first["VersionId"], ACL="public-read")
        assert _anonymous_get(host, bucket, key)[0] == 403, key


def test_an_upload_another_account_started_is_completed_as_its_own_through_either_host(
    hosts: tuple[Gateway, Gateway],
) -> None:
    host_a, host_b = hosts
    writer = new_tenant(host_a, "writer")
    s3_a: Any = host_a.client()
    s3_b: Any = host_b.client()
    bucket = f"rows-{uuid.uuid4().hex[:12]}"
    s3_a.create_bucket(Bucket=bucket)
    s3_a.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{writer.id}:root"},
                        "Action": ["s3:PutObject", "s3:GetObject"],
                        "Resource": f"arn:aws:s3:::{bucket}/*",
                    }
                ],
            }
        ),
    )
    s3_b.put_object(Bucket=bucket, Key="other", Body=b"x")  # B now holds: no rows
    writer_a: Any = host_a.client(writer.key_id, writer.secret)
    writer_b: Any = host_b.client(writer.key_id, writer.secret)
    upload = writer_a.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    part = writer_b.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"w")
    writer_b.complete_multipart_upload(
        Bucket=bucket,
        Key="k",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    owner = writer_a.get_object_acl(Bucket=bucket, Key="k")["Owner"]["ID"]
    assert owner == writer.canonical_id
