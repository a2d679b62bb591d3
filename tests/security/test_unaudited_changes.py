"""Changes to who may reach data, or how long it is kept, that left no audit event.

The class: an S3 operation that writes a setting is audited only if its name is in
``gateway.audit.actions.S3_ACTIONS``, a table kept by hand beside the operation table.
PutObjectRetention and PutObjectLegalHold (which decide whether a version can be deleted,
and with ``x-amz-bypass-governance-retention`` shorten a lock), PutBucketTagging and
DeleteBucketTagging were implemented without a row there: nobody could later say who
lifted a legal hold. Every implemented operation that is not a read is now in that table
or in ``S3_NOT_AUDITED`` with its reason, and the test below holds the two to the
operation table, so a new writing operation cannot slip past.
"""

from __future__ import annotations

import json
import urllib.parse
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from gateway.audit.actions import ACTIONS, S3_ACTIONS, S3_NOT_AUDITED
from gateway.s3.operations import OPERATIONS
from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import api_json
from tests.e2e.tenants import new_tenant


def test_every_writing_operation_is_audited_or_says_why_not() -> None:
    writing = {op.name for op in OPERATIONS if op.implemented and op.method not in {"GET", "HEAD"}}
    assert not set(S3_ACTIONS) & set(S3_NOT_AUDITED)
    assert writing == set(S3_ACTIONS) | set(S3_NOT_AUDITED)
    assert set(S3_ACTIONS.values()) <= ACTIONS
    assert len(set(S3_ACTIONS.values())) == len(S3_ACTIONS), "one action per operation"


def _events(gateway: Gateway, headers: dict[str, str], **query: str) -> list[dict[str, Any]]:
    path = "/v1/audit-events?" + urllib.parse.urlencode(query)
    found: list[dict[str, Any]] = api_json(gateway, "GET", path, headers=headers)["events"]
    return found


def test_object_lock_and_bucket_tag_changes_are_events(gateway: Gateway) -> None:
    owner = new_tenant(gateway, "lock")
    other = new_tenant(gateway, "lock")
    bucket = f"lock-{uuid.uuid4().hex[:10]}"
    s3 = owner.client()
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    version = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
    until = datetime.now(UTC) + timedelta(days=1)
    s3.put_object_retention(
        Bucket=bucket, Key="k", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until}
    )
    s3.put_object_legal_hold(Bucket=bucket, Key="k", VersionId=version, LegalHold={"Status": "ON"})
    s3.put_object_legal_hold(Bucket=bucket, Key="k", LegalHold={"Status": "OFF"})
    s3.put_object_retention(
        Bucket=bucket,
        Key="k",
        Retention={},
        BypassGovernanceRetention=True,
    )
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "a"}]})
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError):
        other.client().put_object_legal_hold(Bucket=bucket, Key="k", LegalHold={"Status": "ON"})

    mine = list(reversed(_events(gateway, owner.headers, bucket=bucket)))
    assert [(e["action"], e["target"]["id"], e["outcome"]) for e in mine] == [
        ("bucket.create", bucket, "success"),
        ("object.retention.put", f"{bucket}/k", "success"),
        ("object.legal_hold.put", f"{bucket}/k", "success"),
        ("object.legal_hold.put", f"{bucket}/k", "success"),
        ("object.retention.put", f"{bucket}/k", "success"),
        ("bucket.tagging.put", bucket, "success"),
        ("bucket.tagging.delete", bucket, "success"),
    ]
    assert all(e["actor"]["id"] == owner.key_id and e["request_id"] for e in mine)
    assert [e["details"].get("version_id") for e in mine[1:5]] == [None, version, None, None]
    assert mine[4]["details"]["bypass_governance_retention"] is True
    assert "bypass_governance_retention" not in mine[1]["details"]
    tried = _events(gateway, other.headers, bucket=bucket)
    assert [(e["action"], e["outcome"]) for e in tried] == [("object.legal_hold.put", "failure")]
    assert tried[0]["details"]["error"] == "AccessDenied"
    assert json.dumps(tried)
