"""Class: a change an anonymous caller made is in the audit log.

With the public access block off, ``BucketOwnerPreferred`` and ``WRITE_ACP`` granted to
``AllUsers``, an unsigned ``PUT /bucket?acl`` (``x-amz-acl: public-read-write``) answered
200 and left the bucket world-writable with no audit event: ``gateway/audit/s3.py``
skipped every anonymous caller, so the only trace was an access-log line. The same for
PutObjectAcl.

Now an anonymous caller's successful change (any S3 operation audited for authenticated
callers) is one ``success`` event in the bucket owner's account's log, with the actor
``{"type": "anonymous", "id": null, "account": null}``, as CloudTrail records anonymous
callers; its refused attempts stay unrecorded (anyone may send them: a flood must not
fill the log).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import ADMIN, api_json
from tests.e2e.tenants import ALL_USERS, Tenant, anonymous_client, new_tenant, policy

ANONYMOUS_ACTOR = {"type": "anonymous", "id": None, "account": None}


def _events(gateway: Gateway, headers: dict[str, str], **query: str) -> list[dict[str, Any]]:
    path = "/v1/audit-events?" + "&".join(f"{k}={v}" for k, v in query.items())
    found: list[dict[str, Any]] = api_json(gateway, "GET", path, headers=headers)["events"]
    return found


def _of_request(gateway: Gateway, request_id: str) -> list[dict[str, Any]]:
    """The events of one request in every account's log (the root key's view)."""
    return [e for e in _events(gateway, ADMIN, limit="1000") if e["request_id"] == request_id]


def _request_id(answer: dict[str, Any]) -> str:
    request_id: str = answer["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
    return request_id


def _open_bucket(owner: Tenant) -> tuple[Any, str, dict[str, Any]]:
    """A bucket of ``owner``'s whose ACL and the object ``k``'s grant ``WRITE_ACP`` to
    everyone, with ACLs enabled and no public access block: the owner's client, the
    bucket's name and its ACL owner."""
    s3 = owner.client()
    bucket = f"anon-audit-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_ownership_controls(
        Bucket=bucket,
        OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]},
    )
    s3.delete_public_access_block(Bucket=bucket)
    acl_owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]
    grants = {
        "Owner": acl_owner,
        "Grants": [
            {
                "Grantee": {"Type": "CanonicalUser", "ID": acl_owner["ID"]},
                "Permission": "FULL_CONTROL",
            },
            {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "WRITE_ACP"},
        ],
    }
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy=grants)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_object_acl(Bucket=bucket, Key="k", AccessControlPolicy=grants)
    return s3, bucket, acl_owner


def _assert_in_owners_log(
    gateway: Gateway, owner: Tenant, stranger: Tenant, request_id: str
) -> dict[str, Any]:
    found = _of_request(gateway, request_id)
    assert len(found) == 1, found
    event = found[0]
    assert event["outcome"] == "success"
    assert event["actor"] == ANONYMOUS_ACTOR
    assert event["account"] == owner.id
    assert event["client_address"] == "127.0.0.1"
    assert any(e["id"] == event["id"] for e in _events(gateway, owner.headers, limit="1000"))
    assert all(e["request_id"] != request_id for e in _events(gateway, stranger.headers))
    return event


def test_an_anonymous_bucket_acl_change_is_in_the_owners_log(gateway: Gateway) -> None:
    owner, stranger = new_tenant(gateway, "owner"), new_tenant(gateway, "stranger")
    s3, bucket, _ = _open_bucket(owner)
    answer = anonymous_client(gateway).put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    permissions = {g["Permission"] for g in s3.get_bucket_acl(Bucket=bucket)["Grants"]}
    assert {"READ", "WRITE"} <= permissions  # the change the event must tell of

    event = _assert_in_owners_log(gateway, owner, stranger, _request_id(answer))
    assert event["action"] == "bucket.acl.put"
    assert event["target"] == {"type": "bucket", "id": bucket}
    assert event["details"] == {"operation": "PutBucketAcl"}
    # the owner's admins find it by the bucket, as every other change to it
    by_bucket = _events(gateway, owner.headers, bucket=bucket, action="bucket.acl.put")
    assert [e["actor"]["type"] for e in by_bucket][:1] == ["anonymous"]


def test_an_anonymous_object_acl_change_is_in_the_owners_log(gateway: Gateway) -> None:
    owner, stranger = new_tenant(gateway, "owner"), new_tenant(gateway, "stranger")
    _, bucket, _ = _open_bucket(owner)
    answer = anonymous_client(gateway).put_object_acl(Bucket=bucket, Key="k", ACL="public-read")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200

    event = _assert_in_owners_log(gateway, owner, stranger, _request_id(answer))
    assert event["action"] == "object.acl.put"
    assert event["target"] == {"type": "object", "id": f"{bucket}/k"}
    assert event["details"] == {"operation": "PutObjectAcl", "version_id": None}


def test_an_anonymous_bucket_deletion_is_in_the_owners_log(gateway: Gateway) -> None:
    """The bucket's owner record goes with the bucket; the owner the access decision found
    is kept for the event (it was filed for the root key alone, ``account: null``)."""
    owner, stranger = new_tenant(gateway, "owner"), new_tenant(gateway, "stranger")
    s3 = owner.client()
    bucket = f"anon-audit-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=policy(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:DeleteBucket",
                "Resource": f"arn:aws:s3:::{bucket}",
            }
        ),
    )
    answer = anonymous_client(gateway).delete_bucket(Bucket=bucket)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    event = _assert_in_owners_log(gateway, owner, stranger, _request_id(answer))
    assert (event["action"], event["target"]) == ("bucket.delete", {"type": "bucket", "id": bucket})


@pytest.mark.parametrize(
    "attempt",
    [
        lambda anon, bucket: anon.put_bucket_acl(Bucket=bucket, ACL="public-read-write"),
        lambda anon, bucket: anon.put_object_acl(Bucket=bucket, Key="k", ACL="public-read"),
        lambda anon, bucket: anon.put_bucket_policy(Bucket=bucket, Policy=policy()),
        lambda anon, bucket: anon.delete_bucket(Bucket=bucket),
    ],
    ids=["PutBucketAcl", "PutObjectAcl", "PutBucketPolicy", "DeleteBucket"],
)
def test_a_refused_anonymous_attempt_is_no_event(gateway: Gateway, attempt: Any) -> None:
    owner = new_tenant(gateway, "owner")
    s3 = owner.client()
    bucket = f"anon-audit-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as refused:
        attempt(anonymous_client(gateway), bucket)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] in (403, 405)
    request_id = _request_id(refused.value.response)
    assert _of_request(gateway, request_id) == []
    # the access log has it
    assert f"request_id={request_id} " in gateway.log()
