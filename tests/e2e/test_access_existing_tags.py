"""Bucket policies that test ``s3:ExistingObjectTag/<tag>``, through boto3 against the real
gateway, over HTTP and HTTPS on the filesystem backend and over HTTP with the s3 backend
in front of moto and of SeaweedFS (``any_gateway``): a Deny on a tag stops reads of the
objects tagged so and of nothing else; an Allow on a tag shares exactly the objects tagged
so with another account; a ``versionId`` selects that version's tags; a tag change decides
the next request; a missing object has no tags (and its answer does not tell a refused
caller whether it exists)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import call_status, expect_error, seaweedfs, unique
from tests.e2e.tenants import Tenant, new_tenant, policy


@pytest.fixture
def alice(any_gateway: Gateway) -> Tenant:
    return new_tenant(any_gateway, "alice")


@pytest.fixture
def bob(any_gateway: Gateway) -> Tenant:
    return new_tenant(any_gateway, "bob")


def _tag(s3: Any, bucket: str, key: str, *, version: str | None = None, **tags: str) -> None:
    extra = {} if version is None else {"VersionId": version}
    if tags:
        tag_set = [{"Key": k, "Value": v} for k, v in tags.items()]
        s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": tag_set}, **extra)
    else:
        s3.delete_object_tagging(Bucket=bucket, Key=key, **extra)


def _reads(s3: Any, bucket: str, key: str, **kwargs: Any) -> tuple[int, int]:
    """(GetObject, HeadObject) statuses."""
    get = call_status(s3.get_object, Bucket=bucket, Key=key, **kwargs)
    head = call_status(s3.head_object, Bucket=bucket, Key=key, **kwargs)
    return get, head


def _deny_secret_reads(bucket: str) -> str:
    return policy(
        {
            "Sid": "NoSecretReads",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"StringEquals": {"s3:ExistingObjectTag/classification": "secret"}},
        }
    )


def test_deny_by_existing_tag_blocks_reads_of_tagged_objects_only(alice: Tenant) -> None:
    s3 = alice.client()
    bucket = unique("tagdeny")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="secret", Body=b"s", Tagging="classification=secret")
    s3.put_object(Bucket=bucket, Key="plain", Body=b"p")
    s3.put_object(Bucket=bucket, Key="public", Body=b"o", Tagging="classification=public")
    # tag names are case-sensitive: "Classification" is another tag
    s3.put_object(Bucket=bucket, Key="cased", Body=b"c", Tagging="Classification=secret")
    s3.put_bucket_policy(Bucket=bucket, Policy=_deny_secret_reads(bucket))

    # The Deny binds the bucket owner too (an explicit deny beats the owner's scopes).
    assert _reads(s3, bucket, "secret") == (403, 403)
    exc = expect_error("AccessDenied", 403, s3.get_object, Bucket=bucket, Key="secret")
    assert "explicit deny" in exc.response["Error"]["Message"]
    for key in ("plain", "public", "cased"):
        assert _reads(s3, bucket, key) == (200, 200), key
    # A copy reads its source as s3:GetObject: the Deny covers it, so the tag cannot be
    # shed by copying the object elsewhere.
    expect_error(
        "AccessDenied",
        403,
        s3.copy_object,
        Bucket=bucket,
        Key="escaped",
        CopySource={"Bucket": bucket, "Key": "secret"},
    )
    s3.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": "plain"})
    # Other actions are not named by the statement: the tags stay readable and changeable.
    assert s3.get_object_tagging(Bucket=bucket, Key="secret")["TagSet"] == [
        {"Key": "classification", "Value": "secret"}
    ]
    # The next request sees a tag change at once.
    _tag(s3, bucket, "secret", classification="public")
    _tag(s3, bucket, "plain", classification="secret")
    assert _reads(s3, bucket, "secret") == (200, 200)
    assert _reads(s3, bucket, "plain") == (403, 403)
    _tag(s3, bucket, "plain")
    assert s3.get_object(Bucket=bucket, Key="plain")["Body"].read() == b"p"
    # A key that does not exist has no tags: the owner hears NoSuchKey as before.
    expect_error("NoSuchKey", 404, s3.get_object, Bucket=bucket, Key="ghost")
    assert call_status(s3.head_object, Bucket=bucket, Key="ghost") == 404


def test_allow_by_existing_tag_shares_only_the_objects_tagged_so(
    alice: Tenant, bob: Tenant
) -> None:
    s3 = alice.client()
    bucket = unique("tagshare")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="shared", Body=b"for bob", Tagging="share=bob")
    s3.put_object(Bucket=bucket, Key="private", Body=b"alice only")
    s3.put_object(Bucket=bucket, Key="carols", Body=b"for carol", Tagging="share=carol")
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=policy(
            {
                "Sid": "ShareWithBob",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{bob.id}:root"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": {"StringEquals": {"s3:ExistingObjectTag/share": "bob"}},
            }
        ),
    )
    b = bob.client()
    assert b.get_object(Bucket=bucket, Key="shared")["Body"].read() == b"for bob"
    assert call_status(b.head_object, Bucket=bucket, Key="shared") == 200
    for key in ("private", "carols"):
        expect_error("AccessDenied", 403, b.get_object, Bucket=bucket, Key=key)
        assert call_status(b.head_object, Bucket=bucket, Key=key) == 403
    # A missing key has no tags, so nothing allows bob: AccessDenied, exactly as for an
    # existing object he may not read (the answer does not tell him the key is free).
    expect_error("AccessDenied", 403, b.get_object, Bucket=bucket, Key="ghost")
    assert call_status(b.head_object, Bucket=bucket, Key="ghost") == 403
    # The Allow names s3:GetObject only: bob cannot read or change the tags themselves.
    expect_error("AccessDenied", 403, b.get_object_tagging, Bucket=bucket, Key="shared")
    expect_error(
        "AccessDenied",
        403,
        b.put_object_tagging,
        Bucket=bucket,
        Key="private",
        Tagging={"TagSet": [{"Key": "share", "Value": "bob"}]},
    )
    # Alice's tag changes decide bob's next request.
    _tag(s3, bucket, "private", share="bob")
    _tag(s3, bucket, "shared")
    assert b.get_object(Bucket=bucket, Key="private")["Body"].read() == b"alice only"
    expect_error("AccessDenied", 403, b.get_object, Bucket=bucket, Key="shared")
    # The owner reads everything: the Allow is for bob, and owners need none.
    for key in ("shared", "private", "carols"):
        assert _reads(s3, bucket, key) == (200, 200)


def test_version_id_selects_that_versions_tags(
    alice: Tenant, request: pytest.FixtureRequest
) -> None:
    s3 = alice.client()
    bucket = unique("tagversion")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    old = s3.put_object(Bucket=bucket, Key="k", Body=b"old", Tagging="classification=secret")
    new = s3.put_object(Bucket=bucket, Key="k", Body=b"new")
    v1, v2 = old["VersionId"], new["VersionId"]
    s3.put_bucket_policy(Bucket=bucket, Policy=_deny_secret_reads(bucket))

    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"new"
    assert _reads(s3, bucket, "k", VersionId=v2) == (200, 200)
    assert _reads(s3, bucket, "k", VersionId=v1) == (403, 403)
    # Tagging the current version denies the plain read too; v1 stays denied.
    _tag(s3, bucket, "k", version=v2, classification="secret")
    assert _reads(s3, bucket, "k") == (403, 403)
    _tag(s3, bucket, "k", version=v1, classification="public")
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"old"
    assert _reads(s3, bucket, "k", VersionId=v2) == (403, 403)
    # A delete marker on top: the current version is gone, so no tags and no denial;
    # the answer is the usual 404 with the marker's headers.
    s3.delete_object(Bucket=bucket, Key="k")
    exc = expect_error("NoSuchKey", 404, s3.get_object, Bucket=bucket, Key="k")
    headers = exc.response["ResponseMetadata"]["HTTPHeaders"]
    if not seaweedfs(request):  # SeaweedFS: a marker's 404 has no marker headers (documented)
        assert headers.get("x-amz-delete-marker") == "true"
    # The tagged version is still denied by its own tags.
    assert _reads(s3, bucket, "k", VersionId=v2) == (403, 403)


def test_other_object_actions_read_the_existing_tags(alice: Tenant) -> None:
    """PutObjectTagging, GetObjectAcl and GetObjectAttributes carry the key; DeleteObject
    does not (AWS: no policy can deny deleting or overwriting an object by its existing
    tags)."""
    s3 = alice.client()
    bucket = unique("taglock")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="locked", Body=b"l", Tagging="locked=true")
    s3.put_object(Bucket=bucket, Key="free", Body=b"f")
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=policy(
            {
                "Sid": "KeepLocks",
                "Effect": "Deny",
                "Principal": "*",
                "Action": [
                    "s3:PutObjectTagging",
                    "s3:DeleteObjectTagging",
                    "s3:GetObjectAcl",
                    "s3:GetObjectAttributes",
                    "s3:DeleteObject",
                    "s3:PutObject",
                ],
                "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": {"StringEquals": {"s3:ExistingObjectTag/locked": "true"}},
            }
        ),
    )
    new_tags = {"TagSet": [{"Key": "locked", "Value": "false"}]}
    expect_error(
        "AccessDenied", 403, s3.put_object_tagging, Bucket=bucket, Key="locked", Tagging=new_tags
    )
    expect_error("AccessDenied", 403, s3.delete_object_tagging, Bucket=bucket, Key="locked")
    expect_error("AccessDenied", 403, s3.get_object_acl, Bucket=bucket, Key="locked")
    expect_error(
        "AccessDenied",
        403,
        s3.get_object_attributes,
        Bucket=bucket,
        Key="locked",
        ObjectAttributes=["ETag"],
    )
    assert s3.get_object_acl(Bucket=bucket, Key="free")["Grants"]
    assert s3.get_object_attributes(Bucket=bucket, Key="free", ObjectAttributes=["ETag"])["ETag"]
    s3.put_object_tagging(Bucket=bucket, Key="free", Tagging=new_tags)
    # Writes and deletes of the object itself are not judged by its existing tags.
    s3.put_object(Bucket=bucket, Key="locked", Body=b"overwritten")
    s3.put_object(Bucket=bucket, Key="again", Body=b"a", Tagging="locked=true")
    s3.delete_object(Bucket=bucket, Key="again")
    assert call_status(s3.head_object, Bucket=bucket, Key="again") == 404
