"""Public content and its limits, through boto3 (signed and anonymous) and plain unsigned
HTTP, over HTTP, HTTPS and the upstream backend: canned ACLs, grants, bucket policies
with conditions, and the public access block overriding each."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import expect_error, unique
from tests.e2e.tenants import (
    ALL_USERS,
    Tenant,
    anonymous_client,
    anonymous_get,
    new_tenant,
    policy,
    public_read,
)


@pytest.fixture
def owner(any_gateway: Gateway) -> Tenant:
    return new_tenant(any_gateway, "owner")


@pytest.fixture
def other(any_gateway: Gateway) -> Tenant:
    return new_tenant(any_gateway, "other")


def _bucket(tenant: Tenant, **kwargs: Any) -> tuple[Any, str]:
    s3 = tenant.client()
    name = unique("pub")
    s3.create_bucket(Bucket=name, **kwargs)
    return s3, name


def test_public_read_bucket_is_listable_and_readable_anonymously(
    any_gateway: Gateway, owner: Tenant
) -> None:
    s3, bucket = _bucket(owner, ACL="public-read")
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"<h1>hi</h1>", ACL="public-read")
    s3.put_object(Bucket=bucket, Key="private.txt", Body=b"secret")
    anon = anonymous_client(any_gateway)
    listed = anon.list_objects_v2(Bucket=bucket)
    assert sorted(o["Key"] for o in listed["Contents"]) == ["index.html", "private.txt"]
    assert anon.get_object(Bucket=bucket, Key="index.html")["Body"].read() == b"<h1>hi</h1>"
    # Plain HTTP, no signature at all: what a browser does.
    page = anonymous_get(any_gateway, f"/{bucket}/index.html")
    assert page.status == 200 and page.body == b"<h1>hi</h1>"
    listing = anonymous_get(any_gateway, f"/{bucket}?list-type=2")
    assert listing.status == 200 and b"index.html" in listing.body
    # The bucket's READ lists; each object's own ACL decides reading it.
    expect_error("AccessDenied", 403, anon.get_object, Bucket=bucket, Key="private.txt")
    assert anonymous_get(any_gateway, f"/{bucket}/private.txt").status == 403
    # Not writable, and no ACL reading for the public.
    expect_error("AccessDenied", 403, anon.put_object, Bucket=bucket, Key="x", Body=b"x")
    expect_error("AccessDenied", 403, anon.delete_object, Bucket=bucket, Key="index.html")
    expect_error("AccessDenied", 403, anon.get_bucket_acl, Bucket=bucket)
    assert s3.head_object(Bucket=bucket, Key="index.html")["ContentLength"] == 11


def test_public_read_write_bucket_is_writable_anonymously(
    any_gateway: Gateway, owner: Tenant
) -> None:
    s3, bucket = _bucket(owner, ACL="public-read-write")
    anon = anonymous_client(any_gateway)
    anon.put_object(Bucket=bucket, Key="dropped", Body=b"from nobody")
    # An anonymous writer's object belongs to the bucket owner, who can read it.
    assert s3.get_object(Bucket=bucket, Key="dropped")["Body"].read() == b"from nobody"
    acl = s3.get_object_acl(Bucket=bucket, Key="dropped")
    assert acl["Owner"]["ID"] == owner.canonical_id
    anon.delete_object(Bucket=bucket, Key="dropped")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_authenticated_read_is_for_accounts_not_anonymous(
    any_gateway: Gateway, owner: Tenant, other: Tenant
) -> None:
    s3, bucket = _bucket(owner)
    s3.put_object(Bucket=bucket, Key="k", Body=b"members", ACL="authenticated-read")
    assert other.client().get_object(Bucket=bucket, Key="k")["Body"].read() == b"members"
    expect_error(
        "AccessDenied", 403, anonymous_client(any_gateway).get_object, Bucket=bucket, Key="k"
    )
    assert anonymous_get(any_gateway, f"/{bucket}/k").status == 403


def test_grants_by_canonical_id_and_by_email(
    any_gateway: Gateway, owner: Tenant, other: Tenant
) -> None:
    third = new_tenant(any_gateway, "third")
    s3, bucket = _bucket(owner)
    s3.put_object(Bucket=bucket, Key="by-id", Body=b"1", GrantRead=f'id="{other.canonical_id}"')
    s3.put_object(
        Bucket=bucket, Key="by-email", Body=b"2", GrantRead=f'emailAddress="{third.email}"'
    )
    assert other.client().get_object(Bucket=bucket, Key="by-id")["Body"].read() == b"1"
    assert third.client().get_object(Bucket=bucket, Key="by-email")["Body"].read() == b"2"
    expect_error("AccessDenied", 403, third.client().get_object, Bucket=bucket, Key="by-id")
    expect_error("AccessDenied", 403, other.client().get_object, Bucket=bucket, Key="by-email")
    # A grant by e-mail reads back as the canonical user it named; grant headers set
    # exactly the grants they list (the owner's rights come from owning the object).
    grants = s3.get_object_acl(Bucket=bucket, Key="by-email")["Grants"]
    assert [(g["Grantee"]["ID"], g["Permission"]) for g in grants] == [(third.canonical_id, "READ")]
    assert s3.get_object(Bucket=bucket, Key="by-email")["Body"].read() == b"2"
    expect_error(
        "UnresolvableGrantByEmailAddress",
        400,
        s3.put_object,
        Bucket=bucket,
        Key="nobody",
        Body=b"x",
        GrantRead='emailAddress="nobody@nowhere.example"',
    )
    expect_error(
        "InvalidArgument",
        400,
        s3.put_object_acl,
        Bucket=bucket,
        Key="by-id",
        GrantRead='id="' + "0" * 64 + '"',
    )
    # Bucket grants: READ lists, WRITE writes.
    s3.put_bucket_acl(
        Bucket=bucket,
        GrantRead=f'id="{other.canonical_id}"',
        GrantFullControl=f'id="{owner.canonical_id}"',
    )
    listed = other.client().list_objects_v2(Bucket=bucket)
    assert sorted(o["Key"] for o in listed["Contents"]) == ["by-email", "by-id"]
    expect_error("AccessDenied", 403, third.client().list_objects_v2, Bucket=bucket)
    expect_error("AccessDenied", 403, other.client().put_object, Bucket=bucket, Key="w", Body=b"")


def test_policy_grants_another_account_read_on_a_prefix_only(owner: Tenant, other: Tenant) -> None:
    s3, bucket = _bucket(owner)
    for key in ("shared/a.txt", "shared/deep/b.txt", "private/c.txt"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=policy(
            {
                "Sid": "ReadShared",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{other.id}:root"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/shared/*",
            },
            {
                "Sid": "ListShared",
                "Effect": "Allow",
                "Principal": {"AWS": other.id},
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{bucket}",
                "Condition": {"StringLike": {"s3:prefix": "shared/*"}},
            },
        ),
    )
    b = other.client()
    assert b.get_object(Bucket=bucket, Key="shared/deep/b.txt")["Body"].read() == (
        b"shared/deep/b.txt"
    )
    expect_error("AccessDenied", 403, b.get_object, Bucket=bucket, Key="private/c.txt")
    listed = b.list_objects_v2(Bucket=bucket, Prefix="shared/")
    assert [o["Key"] for o in listed["Contents"]] == ["shared/a.txt", "shared/deep/b.txt"]
    expect_error("AccessDenied", 403, b.list_objects_v2, Bucket=bucket, Prefix="private/")
    expect_error("AccessDenied", 403, b.list_objects_v2, Bucket=bucket)
    expect_error("AccessDenied", 403, b.put_object, Bucket=bucket, Key="shared/x", Body=b"")
    expect_error("AccessDenied", 403, b.get_bucket_policy, Bucket=bucket)


def test_deny_without_secure_transport(any_gateway: Gateway, owner: Tenant) -> None:
    """The classic "HTTPS only" policy: an explicit Deny beats even the owner's scopes."""
    s3, bucket = _bucket(owner)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=policy(
            {
                "Sid": "HttpsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ),
    )
    if any_gateway.tls_ca:
        assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    else:
        expect_error("AccessDenied", 403, s3.get_object, Bucket=bucket, Key="k")
        expect_error("AccessDenied", 403, s3.put_object, Bucket=bucket, Key="k2", Body=b"")
    # The account's admin keeps the policy under its control (no lock-out).
    s3.delete_bucket_policy(Bucket=bucket)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"


def test_ip_address_condition(any_gateway: Gateway, owner: Tenant) -> None:
    s3, bucket = _bucket(owner)
    s3.put_object(Bucket=bucket, Key="k", Body=b"local only")

    def public_from(cidr: str) -> str:
        return public_read(bucket, {"IpAddress": {"aws:SourceIp": cidr}})

    s3.put_bucket_policy(Bucket=bucket, Policy=public_from("127.0.0.0/8"))
    assert anonymous_get(any_gateway, f"/{bucket}/k").body == b"local only"
    s3.put_bucket_policy(Bucket=bucket, Policy=public_from("10.0.0.0/8"))
    assert anonymous_get(any_gateway, f"/{bucket}/k").status == 403
    status = s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]
    assert status["IsPublic"] is False  # pinned to an address range


def test_public_access_block_overrides_each_grant(any_gateway: Gateway, owner: Tenant) -> None:
    s3, bucket = _bucket(owner, ACL="public-read")
    s3.put_object(Bucket=bucket, Key="k", Body=b"v", ACL="public-read")
    anon = anonymous_client(any_gateway)
    assert anon.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"

    def block(**flags: bool) -> None:
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": flags.get("acls", False),
                "IgnorePublicAcls": flags.get("ignore", False),
                "BlockPublicPolicy": flags.get("policy", False),
                "RestrictPublicBuckets": flags.get("restrict", False),
            },
        )

    # IgnorePublicAcls: the public grants stop granting (and are kept).
    block(ignore=True)
    expect_error("AccessDenied", 403, anon.get_object, Bucket=bucket, Key="k")
    assert anonymous_get(any_gateway, f"/{bucket}/k").status == 403
    grants = s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    assert any(g["Grantee"].get("URI") == ALL_USERS for g in grants)
    # BlockPublicAcls: setting a public ACL is refused, private ones still work.
    block(acls=True)
    expect_error("AccessDenied", 403, s3.put_bucket_acl, Bucket=bucket, ACL="public-read")
    expect_error(
        "AccessDenied", 403, s3.put_object, Bucket=bucket, Key="p", Body=b"", ACL="public-read"
    )
    expect_error(
        "AccessDenied",
        403,
        s3.put_object,
        Bucket=bucket,
        Key="p",
        Body=b"",
        GrantRead=f'uri="{ALL_USERS}"',
    )
    s3.put_object(Bucket=bucket, Key="p", Body=b"", ACL="private")
    # BlockPublicPolicy: a public policy is refused.
    public = public_read(bucket)
    block(policy=True)
    expect_error("AccessDenied", 403, s3.put_bucket_policy, Bucket=bucket, Policy=public)
    # RestrictPublicBuckets: a public policy set before grants nothing to outsiders.
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="private")
    s3.put_bucket_policy(Bucket=bucket, Policy=public)
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    assert anonymous_get(any_gateway, f"/{bucket}/k").status == 200
    block(restrict=True)
    assert anonymous_get(any_gateway, f"/{bucket}/k").status == 403
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    s3.delete_public_access_block(Bucket=bucket)
    assert anonymous_get(any_gateway, f"/{bucket}/k").status == 200


def test_anonymous_is_denied_where_nothing_grants(any_gateway: Gateway, owner: Tenant) -> None:
    s3, bucket = _bucket(owner)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    anon = anonymous_client(any_gateway)
    expect_error("AccessDenied", 403, anon.list_buckets)
    expect_error("AccessDenied", 403, anon.list_objects_v2, Bucket=bucket)
    expect_error("AccessDenied", 403, anon.get_object, Bucket=bucket, Key="k")
    expect_error("AccessDenied", 403, anon.create_bucket, Bucket=unique("anon"))
    expect_error("AccessDenied", 403, anon.put_bucket_acl, Bucket=bucket, ACL="public-read")
