"""A bucket deleted by one account and made again by another, on two hosts sharing one
PostgreSQL and one object store: the former owner never reaches the new owner's bucket.

Each host keeps bucket settings (the owner among them) for ``bucket_cache_seconds``. A
host that cached the old owner just before the deletion would, until its entry expired,
let that owner into a bucket of the same name made meanwhile by someone else (a probe
read the new owner's object through the other host). So on PostgreSQL a deleted
bucket's name stays its former owner's for as long as another host may cache it, and a
second more: another account's CreateBucket meanwhile answers ``OperationAborted``
(409), as AWS answers a name reused too soon. The cache is 30 s here, so that the hold
outlasts any pause of a loaded machine between the deletion and the attempts below.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from tests.e2e.fixture_util import two_hosts_fixture
from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import call
from tests.e2e.s3util import expect_error, raw_request
from tests.e2e.tenants import new_tenant, public_read, two_accounts
from tests.security.held_body import held_body, signed_as

hosts = two_hosts_fixture("name-reuse", extra_env={"NFYIO_IDENTITY_BUCKET_CACHE_SECONDS": "30"})


def test_a_deleted_bucket_name_is_not_another_accounts_while_hosts_may_cache_it(
    hosts: tuple[Gateway, Gateway],
) -> None:
    host_a, host_b = hosts
    old, new = new_tenant(host_a, "old"), new_tenant(host_a, "new")
    old_a: Any = host_a.client(old.key_id, old.secret)
    old_b: Any = host_b.client(old.key_id, old.secret)
    new_a: Any = host_a.client(new.key_id, new.secret)
    bucket = f"reuse-{uuid.uuid4().hex[:12]}"

    old_a.create_bucket(Bucket=bucket)
    old_b.put_object(Bucket=bucket, Key="k", Body=b"old")  # host B caches the owner
    old_a.delete_object(Bucket=bucket, Key="k")
    old_a.delete_bucket(Bucket=bucket)

    # Another account, through S3 and through the REST API: not yet.
    expect_error("OperationAborted", 409, new_a.create_bucket, Bucket=bucket)
    status, _, body = call(
        host_a, "POST", "/v1/buckets", headers=new.headers, body={"name": bucket}
    )
    assert status == 409 and json.loads(body)["error"]["code"] == "Conflict", body
    buckets = new_a.list_buckets()["Buckets"]
    assert bucket not in {b["Name"] for b in buckets}

    # The former owner may make it again at once, and is its owner on both hosts.
    old_a.create_bucket(Bucket=bucket)
    old_b.put_object(Bucket=bucket, Key="again", Body=b"old again")
    assert old_a.get_object(Bucket=bucket, Key="again")["Body"].read() == b"old again"
    expect_error("AccessDenied", 403, new_a.get_object, Bucket=bucket, Key="again")


def test_a_setting_written_through_a_host_that_still_caches_a_deleted_bucket_is_refused(
    hosts: tuple[Gateway, Gateway],
) -> None:
    """Host B, still holding a deleted bucket's settings, took a PutBucketPolicy for it
    and stored the policy under the name; the bucket made again with that name (by
    its former owner here, by anyone once the hold is over) started with it: public."""
    host_a, host_b = hosts
    owner = new_tenant(host_a, "owner")
    owner_a: Any = host_a.client(owner.key_id, owner.secret)
    owner_b: Any = host_b.client(owner.key_id, owner.secret)
    bucket = f"reuse-{uuid.uuid4().hex[:12]}"
    public = public_read(bucket)
    owner_a.create_bucket(Bucket=bucket)
    owner_b.head_bucket(Bucket=bucket)  # host B caches the bucket's settings
    owner_a.delete_bucket(Bucket=bucket)

    expect_error("NoSuchBucket", 404, owner_b.put_bucket_policy, Bucket=bucket, Policy=public)
    expect_error(
        "NoSuchBucket", 404, owner_b.put_bucket_acl, Bucket=bucket, ACL="public-read-write"
    )

    owner_a.create_bucket(Bucket=bucket)
    expect_error("NoSuchBucketPolicy", 404, owner_a.get_bucket_policy, Bucket=bucket)
    grants = owner_a.get_bucket_acl(Bucket=bucket)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    owner_a.put_object(Bucket=bucket, Key="k", Body=b"private")
    assert raw_request(host_a, "GET", f"/{bucket}/k").status == 403


def test_a_policy_whose_body_outlasts_its_bucket_never_reaches_the_next_one(
    gateway: Gateway,
) -> None:
    """A PutBucketPolicy is decided before its body arrives, and a body may take a
    minute: its sender deleted the bucket meanwhile, another account made one of the
    name (at once: one host holds no name), and the body's end wrote the sender's
    policy, granting the sender everything, onto the new owner's bucket."""
    old, _, old_s3, new_s3, bucket = two_accounts(
        gateway, "sender", "victim", bucket_prefix="reuse"
    )
    grant = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{old.id}:root"},
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                }
            ],
        }
    ).encode()
    target = f"/{bucket}?policy"
    md5 = {"Content-MD5": base64.b64encode(hashlib.md5(grant).digest()).decode()}
    head = signed_as(gateway, old, "PUT", target, grant, md5)
    with held_body(gateway.s3_port, "PUT", target, head, grant) as held:
        old_s3.delete_bucket(Bucket=bucket)
        new_s3.create_bucket(Bucket=bucket)
        answer = held.send()
    assert answer.status == 404
    expect_error("NoSuchBucketPolicy", 404, new_s3.get_bucket_policy, Bucket=bucket)
    new_s3.put_object(Bucket=bucket, Key="k", Body=b"the victim's")
    expect_error("AccessDenied", 403, old_s3.get_object, Bucket=bucket, Key="k")


def _object_files(gateway: Gateway) -> set[Path]:
    """Every object data file and upload part file of the data directory."""
    return {
        path
        for path in gateway.data_dir.rglob("*")
        if path.is_file() and {"objects", "parts"} & set(path.relative_to(gateway.data_dir).parts)
    }


@pytest.mark.parametrize("size", [1_000, 300_000], ids=["inline", "data-file"])
@pytest.mark.parametrize("api", ["s3", "rest"])
def test_an_object_whose_body_outlasts_its_bucket_never_reaches_the_next_one(
    gateway: Gateway, api: str, size: int
) -> None:
    """A PutObject (or a /v1 upload) is decided, and its bucket read, before its body
    arrives: its sender deleted the bucket meanwhile, another account made one of the
    name, and the body's end stored the sender's object, with the sender's grant, in
    the new owner's bucket. Now 404 NoSuchBucket, and nothing of it is left."""
    old, _, old_s3, new_s3, bucket = two_accounts(
        gateway, "sender", "victim", bucket_prefix="reuse"
    )
    body = b"s" * size
    if api == "s3":
        port, target = gateway.s3_port, f"/{bucket}/k"
        grant = {"x-amz-grant-full-control": f"id={old.canonical_id}"}
        head = signed_as(gateway, old, "PUT", target, body, grant)
    else:
        port, target = gateway.api_port, f"/v1/buckets/{bucket}/objects/content?key=k"
        head = old.headers
    files = _object_files(gateway)

    with held_body(port, "PUT", target, head, body) as held:
        old_s3.delete_bucket(Bucket=bucket)
        new_s3.create_bucket(Bucket=bucket)
        assert held.send().status == 404

    assert new_s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    expect_error("404", 404, new_s3.head_object, Bucket=bucket, Key="k")
    assert _object_files(gateway) <= files  # its data file is gone too
    new_s3.put_object(Bucket=bucket, Key="k", Body=b"the victim's")  # no ownership row left
    expect_error("AccessDenied", 403, old_s3.get_object, Bucket=bucket, Key="k")
    assert new_s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"the victim's"


def test_a_part_whose_body_outlasts_its_bucket_never_reaches_the_next_one(
    gateway: Gateway,
) -> None:
    """DeleteBucket aborts the bucket's uploads in progress (in its transaction): a part
    whose body ends after the name was made again by another account is NoSuchUpload,
    and the upload can be completed into neither bucket."""
    old, _, old_s3, new_s3, bucket = two_accounts(
        gateway, "sender", "victim", bucket_prefix="reuse"
    )
    upload_id = old_s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    first = old_s3.upload_part(
        Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"1" * 5 * 2**20
    )
    body = b"2" * 300_000
    query = urlencode({"partNumber": "2", "uploadId": upload_id}, quote_via=quote)
    target = f"/{bucket}/k?{query}"
    head = signed_as(gateway, old, "PUT", target, body)
    files = _object_files(gateway)

    with held_body(gateway.s3_port, "PUT", target, head, body) as held:
        old_s3.delete_bucket(Bucket=bucket)
        new_s3.create_bucket(Bucket=bucket)
        assert held.send().status == 404
    completion = {
        "Bucket": bucket,
        "Key": "k",
        "UploadId": upload_id,
        "MultipartUpload": {"Parts": [{"PartNumber": 1, "ETag": first["ETag"]}]},
    }
    # the sender has no access to the new owner's bucket; its owner finds no such upload
    expect_error("AccessDenied", 403, old_s3.complete_multipart_upload, **completion)
    expect_error("NoSuchUpload", 404, new_s3.complete_multipart_upload, **completion)
    assert new_s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert new_s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert _object_files(gateway) <= files


def test_an_object_acl_whose_body_outlasts_its_bucket_never_reaches_the_next_one(
    gateway: Gateway,
) -> None:
    """A PutObjectAcl is decided, and its object read, before its body: its sender
    deleted the object and the bucket meanwhile, another account made one of the name
    and wrote the same key, and the body's end gave the new owner's object the sender's
    ACL (the sender then read it)."""
    old, new, old_s3, new_s3, bucket = two_accounts(
        gateway, "sender", "victim", bucket_prefix="reuse"
    )
    old_s3.put_object(Bucket=bucket, Key="k", Body=b"the sender's")
    grantee = (
        '<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        f' xsi:type="CanonicalUser"><ID>{old.canonical_id}</ID></Grantee>'
    )
    acl = (
        '<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<Owner><ID>{old.canonical_id}</ID></Owner><AccessControlList>"
        f"<Grant>{grantee}<Permission>FULL_CONTROL</Permission></Grant>"
        "</AccessControlList></AccessControlPolicy>"
    ).encode()
    target = f"/{bucket}/k?acl"
    head = signed_as(gateway, old, "PUT", target, acl)

    with held_body(gateway.s3_port, "PUT", target, head, acl) as held:
        old_s3.delete_object(Bucket=bucket, Key="k")
        old_s3.delete_bucket(Bucket=bucket)
        new_s3.create_bucket(Bucket=bucket)
        new_s3.put_object(Bucket=bucket, Key="k", Body=b"the victim's")
        assert held.send().status == 404
    expect_error("AccessDenied", 403, old_s3.get_object, Bucket=bucket, Key="k")
    grants = new_s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    assert [(g["Grantee"]["ID"], g["Permission"]) for g in grants] == [
        (new.canonical_id, "FULL_CONTROL")
    ]
