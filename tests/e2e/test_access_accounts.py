"""Two accounts through boto3 over HTTP, HTTPS and the upstream backend: isolation by
default, every escape attempt refused, and what sharing does (objects written across
accounts are the writer's unless ownership controls say otherwise)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import bearer
from tests.e2e.s3util import client_error, expect_error, raw_request, unique, urlopen
from tests.e2e.tenants import Tenant, new_tenant, policy

PART = 5 * 1024 * 1024


@pytest.fixture
def alice(any_gateway: Gateway) -> Tenant:
    return new_tenant(any_gateway, "alice")


@pytest.fixture
def bob(any_gateway: Gateway) -> Tenant:
    return new_tenant(any_gateway, "bob")


@pytest.fixture
def alice_bucket(alice: Tenant) -> str:
    s3 = alice.client()
    name = unique("alice")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="secret.txt", Body=b"alice's secret")
    return name


def _grant_write(alice: Tenant, bucket: str, bob: Tenant) -> None:
    alice.client().put_bucket_acl(
        Bucket=bucket,
        GrantFullControl=f'id="{alice.canonical_id}"',
        GrantWrite=f'id="{bob.canonical_id}"',
        GrantRead=f'id="{bob.canonical_id}"',
    )


def test_buckets_are_private_to_their_account(
    alice: Tenant, bob: Tenant, alice_bucket: str
) -> None:
    b = bob.client()
    names = [x["Name"] for x in b.list_buckets()["Buckets"]]
    assert alice_bucket not in names
    owner = alice.client().list_buckets()
    assert alice_bucket in [x["Name"] for x in owner["Buckets"]]
    assert owner["Owner"]["ID"] == alice.canonical_id
    assert b.list_buckets()["Owner"]["ID"] == bob.canonical_id
    calls: list[tuple[str, dict[str, Any]]] = [
        ("head_bucket", {}),
        ("list_objects_v2", {}),
        ("list_objects", {}),
        ("list_object_versions", {}),
        ("list_multipart_uploads", {}),
        ("get_bucket_acl", {}),
        ("get_bucket_location", {}),
        ("get_bucket_policy", {}),
        ("get_public_access_block", {}),
        ("get_bucket_ownership_controls", {}),
        ("put_bucket_acl", {"ACL": "public-read"}),
        ("put_bucket_policy", {"Policy": policy()}),
        ("delete_bucket_policy", {}),
        ("delete_bucket", {}),
        ("get_object", {"Key": "secret.txt"}),
        ("head_object", {"Key": "secret.txt"}),
        ("get_object_acl", {"Key": "secret.txt"}),
        ("put_object_acl", {"Key": "secret.txt", "ACL": "public-read"}),
        ("put_object", {"Key": "secret.txt", "Body": b"overwritten"}),
        ("delete_object", {"Key": "secret.txt"}),
        ("create_multipart_upload", {"Key": "mp"}),
    ]
    for method, kwargs in calls:
        exc = client_error(getattr(b, method), Bucket=alice_bucket, **kwargs)
        status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
        assert status == 403, (method, exc.response)
    # CreateBucket on a taken name is S3's conflict, not a way in.
    expect_error("BucketAlreadyExists", 409, b.create_bucket, Bucket=alice_bucket)
    expect_error("BucketAlreadyOwnedByYou", 409, alice.client().create_bucket, Bucket=alice_bucket)
    got = alice.client().get_object(Bucket=alice_bucket, Key="secret.txt")
    assert got["Body"].read() == b"alice's secret"


def test_delete_objects_is_decided_per_key(alice: Tenant, bob: Tenant, alice_bucket: str) -> None:
    result = bob.client().delete_objects(
        Bucket=alice_bucket, Delete={"Objects": [{"Key": "secret.txt"}, {"Key": "ghost"}]}
    )
    assert sorted(e["Code"] for e in result["Errors"]) == ["AccessDenied", "AccessDenied"]
    assert "Deleted" not in result
    listed = alice.client().list_objects_v2(Bucket=alice_bucket)
    assert [o["Key"] for o in listed["Contents"]] == ["secret.txt"]


def test_copies_cannot_read_another_accounts_source(
    alice: Tenant, bob: Tenant, alice_bucket: str
) -> None:
    b = bob.client()
    mine = unique("bob")
    b.create_bucket(Bucket=mine)
    source = {"Bucket": alice_bucket, "Key": "secret.txt"}
    expect_error("AccessDenied", 403, b.copy_object, Bucket=mine, Key="stolen", CopySource=source)
    upload = b.create_multipart_upload(Bucket=mine, Key="stolen-mp")["UploadId"]
    expect_error(
        "AccessDenied",
        403,
        b.upload_part_copy,
        Bucket=mine,
        Key="stolen-mp",
        UploadId=upload,
        PartNumber=1,
        CopySource=source,
    )
    b.abort_multipart_upload(Bucket=mine, Key="stolen-mp", UploadId=upload)
    assert "Contents" not in b.list_objects_v2(Bucket=mine)
    # Copying into someone else's bucket is refused too, even from one's own object.
    b.put_object(Bucket=mine, Key="mine", Body=b"bob")
    expect_error(
        "AccessDenied",
        403,
        b.copy_object,
        Bucket=alice_bucket,
        Key="planted",
        CopySource={"Bucket": mine, "Key": "mine"},
    )
    # With a READ grant on the object, the copy works.
    alice.client().put_object_acl(
        Bucket=alice_bucket, Key="secret.txt", GrantRead=f'id="{bob.canonical_id}"'
    )
    b.copy_object(Bucket=mine, Key="shared", CopySource=source)
    assert b.get_object(Bucket=mine, Key="shared")["Body"].read() == b"alice's secret"


def test_presigned_urls_carry_their_signers_rights(
    any_gateway: Gateway, alice: Tenant, bob: Tenant, alice_bucket: str
) -> None:
    for signer in ("s3v4", "s3"):  # SigV4 and SigV2 query signatures
        url = bob.client(signature_version=signer).generate_presigned_url(
            "get_object", Params={"Bucket": alice_bucket, "Key": "secret.txt"}, ExpiresIn=300
        )
        response = urlopen(any_gateway, url)
        assert response.status == 403 and response.error_code() == "AccessDenied", signer
    url = alice.client().generate_presigned_url(
        "get_object", Params={"Bucket": alice_bucket, "Key": "secret.txt"}, ExpiresIn=300
    )
    assert urlopen(any_gateway, url).body == b"alice's secret"


def test_bearer_credentials_stay_in_their_account(
    any_gateway: Gateway, alice: Tenant, bob: Tenant, alice_bucket: str
) -> None:
    path = f"/{alice_bucket}/secret.txt"
    assert raw_request(any_gateway, "GET", path, headers=bearer(bob.secret)).status == 403
    assert raw_request(any_gateway, "GET", path, headers=bearer(alice.secret)).status == 200


def test_multipart_uploads_of_another_account_are_out_of_reach(
    alice: Tenant, bob: Tenant, alice_bucket: str
) -> None:
    a, b = alice.client(), bob.client()
    upload = a.create_multipart_upload(Bucket=alice_bucket, Key="big")["UploadId"]
    _grant_write(alice, alice_bucket, bob)  # even with WRITE on the bucket
    expect_error(
        "AccessDenied",
        403,
        b.upload_part,
        Bucket=alice_bucket,
        Key="big",
        UploadId=upload,
        PartNumber=1,
        Body=b"x",
    )
    expect_error("AccessDenied", 403, b.list_parts, Bucket=alice_bucket, Key="big", UploadId=upload)
    expect_error(
        "AccessDenied",
        403,
        b.abort_multipart_upload,
        Bucket=alice_bucket,
        Key="big",
        UploadId=upload,
    )
    expect_error(
        "AccessDenied",
        403,
        b.complete_multipart_upload,
        Bucket=alice_bucket,
        Key="big",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"x"'}]},
    )
    a.abort_multipart_upload(Bucket=alice_bucket, Key="big", UploadId=upload)


def test_objects_written_across_accounts_belong_to_the_writer(
    alice: Tenant, bob: Tenant, alice_bucket: str
) -> None:
    a, b = alice.client(), bob.client()
    _grant_write(alice, alice_bucket, bob)
    b.put_object(Bucket=alice_bucket, Key="from-bob", Body=b"bob's")
    # The bucket owner lists it but cannot read it: bob owns it (ObjectWriter).
    listed = a.list_objects_v2(Bucket=alice_bucket, FetchOwner=True)["Contents"]
    owners = {o["Key"]: o["Owner"]["ID"] for o in listed}
    assert owners == {"from-bob": bob.canonical_id, "secret.txt": alice.canonical_id}
    v1 = {o["Key"]: o["Owner"]["ID"] for o in a.list_objects(Bucket=alice_bucket)["Contents"]}
    assert v1 == owners
    versions = a.list_object_versions(Bucket=alice_bucket)["Versions"]
    assert {v["Key"]: v["Owner"]["ID"] for v in versions} == owners
    expect_error("AccessDenied", 403, a.get_object, Bucket=alice_bucket, Key="from-bob")
    acl = b.get_object_acl(Bucket=alice_bucket, Key="from-bob")
    assert acl["Owner"]["ID"] == bob.canonical_id
    # The writer can grant the bucket owner, who can always delete.
    b.put_object(
        Bucket=alice_bucket, Key="handed", Body=b"for alice", ACL="bucket-owner-full-control"
    )
    assert a.get_object(Bucket=alice_bucket, Key="handed")["Body"].read() == b"for alice"
    a.delete_object(Bucket=alice_bucket, Key="from-bob")
    # Bob's own multipart upload into alice's bucket: initiated and owned by bob.
    upload = b.create_multipart_upload(Bucket=alice_bucket, Key="bob-mp")["UploadId"]
    uploads = a.list_multipart_uploads(Bucket=alice_bucket)["Uploads"]
    mine = [u for u in uploads if u["UploadId"] == upload]
    assert mine[0]["Initiator"]["ID"] == bob.canonical_id
    assert mine[0]["Owner"]["ID"] == bob.canonical_id
    part = b.upload_part(
        Bucket=alice_bucket, Key="bob-mp", UploadId=upload, PartNumber=1, Body=b"p" * 10
    )
    assert b.list_parts(Bucket=alice_bucket, Key="bob-mp", UploadId=upload)["Parts"]
    b.complete_multipart_upload(
        Bucket=alice_bucket,
        Key="bob-mp",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert b.get_object(Bucket=alice_bucket, Key="bob-mp")["Body"].read() == b"p" * 10
    expect_error("AccessDenied", 403, a.get_object, Bucket=alice_bucket, Key="bob-mp")
    # The bucket owner's own later overwrite makes the key hers again.
    a.put_object(Bucket=alice_bucket, Key="bob-mp", Body=b"alice again")
    assert a.get_object(Bucket=alice_bucket, Key="bob-mp")["Body"].read() == b"alice again"
    expect_error("AccessDenied", 403, b.get_object_acl, Bucket=alice_bucket, Key="bob-mp")


def test_ownership_controls(alice: Tenant, bob: Tenant, alice_bucket: str) -> None:
    a, b = alice.client(), bob.client()
    _grant_write(alice, alice_bucket, bob)

    def ownership(value: str) -> None:
        a.put_bucket_ownership_controls(
            Bucket=alice_bucket,
            OwnershipControls={"Rules": [{"ObjectOwnership": value}]},
        )

    ownership("BucketOwnerPreferred")
    b.put_object(Bucket=alice_bucket, Key="pref", Body=b"1", ACL="bucket-owner-full-control")
    b.put_object(Bucket=alice_bucket, Key="writer", Body=b"2")
    assert a.get_object_acl(Bucket=alice_bucket, Key="pref")["Owner"]["ID"] == alice.canonical_id
    assert b.get_object_acl(Bucket=alice_bucket, Key="writer")["Owner"]["ID"] == bob.canonical_id
    got = a.get_bucket_ownership_controls(Bucket=alice_bucket)["OwnershipControls"]
    assert got["Rules"] == [{"ObjectOwnership": "BucketOwnerPreferred"}]
    # Enforced: ACLs off, the bucket owner owns everything written from now on and reads
    # what others wrote before too.
    a.put_bucket_acl(Bucket=alice_bucket, ACL="private")
    ownership("BucketOwnerEnforced")
    a.put_bucket_policy(
        Bucket=alice_bucket,
        Policy=policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": bob.id},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{alice_bucket}/*",
            }
        ),
    )
    b.put_object(Bucket=alice_bucket, Key="enforced", Body=b"3")
    assert a.get_object(Bucket=alice_bucket, Key="enforced")["Body"].read() == b"3"
    assert a.get_object(Bucket=alice_bucket, Key="writer")["Body"].read() == b"2"
    expect_error(
        "AccessControlListNotSupported",
        400,
        b.put_object,
        Bucket=alice_bucket,
        Key="acl",
        Body=b"",
        ACL="public-read",
    )
    expect_error(
        "AccessControlListNotSupported",
        400,
        a.put_bucket_acl,
        Bucket=alice_bucket,
        ACL="public-read",
    )
    b.put_object(Bucket=alice_bucket, Key="ok", Body=b"", ACL="bucket-owner-full-control")
    a.delete_bucket_ownership_controls(Bucket=alice_bucket)
    expect_error(
        "OwnershipControlsNotFoundError",
        404,
        a.get_bucket_ownership_controls,
        Bucket=alice_bucket,
    )


def test_bucket_settings_round_trip_and_answer_aws_404s(
    alice: Tenant, bob: Tenant, alice_bucket: str
) -> None:
    a = alice.client()
    expect_error("NoSuchBucketPolicy", 404, a.get_bucket_policy, Bucket=alice_bucket)
    expect_error("NoSuchBucketPolicy", 404, a.get_bucket_policy_status, Bucket=alice_bucket)
    expect_error(
        "NoSuchPublicAccessBlockConfiguration", 404, a.get_public_access_block, Bucket=alice_bucket
    )
    expect_error(
        "OwnershipControlsNotFoundError", 404, a.get_bucket_ownership_controls, Bucket=alice_bucket
    )
    document = policy(
        {
            "Sid": "Bob",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{bob.id}:root"},
            "Action": ["s3:GetObject"],
            "Resource": f"arn:aws:s3:::{alice_bucket}/*",
        }
    )
    a.put_bucket_policy(Bucket=alice_bucket, Policy=document)
    assert json.loads(a.get_bucket_policy(Bucket=alice_bucket)["Policy"]) == json.loads(document)
    assert a.get_bucket_policy_status(Bucket=alice_bucket)["PolicyStatus"]["IsPublic"] is False
    assert bob.client().get_object(Bucket=alice_bucket, Key="secret.txt")["Body"].read()
    for bad, reason in (
        ("not json", "first byte"),
        (
            policy({"Effect": "Allow", "Principal": "*", "Action": "s3:Fly", "Resource": "*"}),
            "action",
        ),
        (
            policy(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "acct_NOSUCHACCOUNT00000000"},
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{alice_bucket}/*",
                }
            ),
            "principal",
        ),
        (
            policy(
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::another-bucket/*",
                }
            ),
            "resource",
        ),
        *(
            (
                policy(
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{alice_bucket}/*",
                        "Condition": {"StringEquals": {"s3:ExistingObjectTag/t": constant}},
                    }
                ),
                "invalid json",  # NaN and Infinity are Python's JSON, not JSON
            )
            for constant in (float("nan"), float("inf"), float("-inf"))
        ),
    ):
        exc = expect_error(
            "MalformedPolicy", 400, a.put_bucket_policy, Bucket=alice_bucket, Policy=bad
        )
        assert reason in exc.response["Error"]["Message"].lower(), exc.response
        assert json.loads(a.get_bucket_policy(Bucket=alice_bucket)["Policy"]) == json.loads(
            document
        )
    a.put_public_access_block(
        Bucket=alice_bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": False,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": False,
        },
    )
    got = a.get_public_access_block(Bucket=alice_bucket)["PublicAccessBlockConfiguration"]
    assert got == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": False,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": False,
    }
    # Deleting the bucket forgets its settings: a bucket made again starts afresh.
    a.delete_object(Bucket=alice_bucket, Key="secret.txt")
    a.delete_bucket(Bucket=alice_bucket)
    b = bob.client()
    b.create_bucket(Bucket=alice_bucket)
    expect_error("NoSuchBucketPolicy", 404, b.get_bucket_policy, Bucket=alice_bucket)
    expect_error(
        "NoSuchPublicAccessBlockConfiguration", 404, b.get_public_access_block, Bucket=alice_bucket
    )
    assert b.get_bucket_acl(Bucket=alice_bucket)["Owner"]["ID"] == bob.canonical_id
    expect_error("AccessDenied", 403, a.list_objects_v2, Bucket=alice_bucket)
    b.delete_bucket(Bucket=alice_bucket)


def test_missing_buckets_are_missing_for_every_account(bob: Tenant) -> None:
    b = bob.client()
    ghost = unique("ghost")
    expect_error("NoSuchBucket", 404, b.list_objects_v2, Bucket=ghost)
    expect_error("NoSuchBucket", 404, b.get_object, Bucket=ghost, Key="k")
