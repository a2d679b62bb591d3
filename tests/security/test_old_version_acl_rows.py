"""An ACL given to an older version of a key never answers for the key's current object.

A bucket keeps per-object ownership rows only once one was needed; versions written
before have none, and a key's current row is its latest one. PutObjectAcl with a
``versionId`` naming an older version, in a bucket without rows, gave that version the
key's only row: its ``public-read`` answered for the current version, private, to anyone.
Now the versions newer than the one named get their default rows in the same
transaction, so the current object stays private, and so does the one that is current
once it is deleted.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.tenants import anonymous_read, new_tenant


@pytest.mark.parametrize("last", ["Enabled", "Suspended"])
@pytest.mark.parametrize("gateway_name", ["gateway", "pg_gateway"])
def test_a_public_acl_on_an_older_version_leaves_newer_ones_private(
    request: pytest.FixtureRequest, gateway_name: str, last: str
) -> None:
    gw: Gateway = request.getfixturevalue(gateway_name)
    owner = new_tenant(gw, "oldacl")
    s3: Any = owner.client()
    bucket = f"oldacl-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    old = s3.put_object(Bucket=bucket, Key="k", Body=b"old")["VersionId"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"middle")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": last})
    current = s3.put_object(Bucket=bucket, Key="k", Body=b"current").get("VersionId", "null")

    s3.put_object_acl(Bucket=bucket, Key="k", VersionId=old, ACL="public-read")

    assert anonymous_read(gw, f"/{bucket}/k?versionId={old}") == (200, b"old")
    assert anonymous_read(gw, f"/{bucket}/k") == (403, b"")
    s3.delete_object(Bucket=bucket, Key="k", VersionId=current)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"middle"
    assert anonymous_read(gw, f"/{bucket}/k") == (403, b"")
    grants = s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    assert [(g["Grantee"].get("ID"), g["Permission"]) for g in grants] == [
        (owner.canonical_id, "FULL_CONTROL")
    ]
