"""A PutObjectAcl applies to the object version it was decided for, or to none.

It is decided at its head, against the object as it is then (the sender's ``WRITE_ACP``
grant in the object's ACL, a bucket policy's ``s3:ExistingObjectTag``), and its body may
take a minute. Meanwhile the key's owner wrote it again (same bucket, nothing deleted);
the body's end gave that new object the sender's ACL, and the sender, who had no right
on it, read it. Now 409 ``OperationAborted`` and the new object keeps its own ACL.

PutObjectTagging, PutObjectRetention and PutObjectLegalHold read their body before the
decision (its condition keys are in it): a body sent slowly is decided against the object
as it is when it has arrived, as the last test shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.conftest import upstream_env
from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import expect_error
from tests.e2e.tenants import Tenant, policy, two_accounts
from tests.security.held_body import held_body, signed_as
from tests.services.seaweedfs import SeaweedFS


def _held(
    gateway: Gateway, sender: Tenant, target: str, body: bytes, meanwhile: Callable[[], None]
) -> tuple[int, bytes]:
    """A PUT of ``sender`` to ``target`` whose body waits for ``meanwhile``; the answer."""
    head = signed_as(gateway, sender, "PUT", target, body)
    with held_body(gateway.s3_port, "PUT", target, head, body) as held:
        meanwhile()
        answer = held.send()
    return answer.status, answer.body


def _full_control(tenant: Tenant, owner: Tenant) -> bytes:
    """An ACL document of an object of ``owner`` giving ``tenant`` full control."""
    grantee = (
        '<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        f' xsi:type="CanonicalUser"><ID>{tenant.canonical_id}</ID></Grantee>'
    )
    return (
        '<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<Owner><ID>{owner.canonical_id}</ID></Owner><AccessControlList>"
        f"<Grant>{grantee}<Permission>FULL_CONTROL</Permission></Grant>"
        "</AccessControlList></AccessControlPolicy>"
    ).encode()


def _shared_by_tag(owner_s3: Any, bucket: str, sender: Tenant, action: str) -> None:
    """A bucket policy allowing ``sender`` ``action`` on objects tagged ``share=yes``,
    and the object ``k`` so tagged."""
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{sender.id}:root"},
        "Action": action,
        "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": {"StringEquals": {"s3:ExistingObjectTag/share": "yes"}},
    }
    owner_s3.put_bucket_policy(Bucket=bucket, Policy=policy(statement))
    owner_s3.put_object(Bucket=bucket, Key="k", Body=b"shared", Tagging="share=yes")


def _grants(client: Any, bucket: str, key: str) -> list[tuple[str, str]]:
    grants = client.get_object_acl(Bucket=bucket, Key=key)["Grants"]
    return [(g["Grantee"].get("ID", ""), g["Permission"]) for g in grants]


@pytest.fixture(scope="module")
def upstream_gateway(
    tmp_path_factory: pytest.TempPathFactory, seaweedfs: SeaweedFS
) -> Iterator[Gateway]:
    env = upstream_env(seaweedfs.endpoint_url, seaweedfs.access_key, seaweedfs.secret_key)
    yield from own_gateway(tmp_path_factory, "decided-up", extra_env=env)


@pytest.fixture(params=["sqlite", "postgresql", "upstream"])
def any_gateway(request: pytest.FixtureRequest) -> Gateway:
    """The filesystem backend with its ownership rows in SQLite, or in PostgreSQL; the
    s3 backend (SeaweedFS: its times are whole seconds, the versions differ by ETag)."""
    names = {"sqlite": "gateway", "postgresql": "pg_gateway", "upstream": "upstream_gateway"}
    found: Gateway = request.getfixturevalue(names[request.param])
    return found


@pytest.mark.parametrize("versioning", ["none", "enabled"])
def test_an_acl_granted_on_an_object_never_reaches_the_one_written_over_it(
    any_gateway: Gateway, versioning: str
) -> None:
    """The sender's right is a WRITE_ACP grant on the object; the owner writes the key
    again, privately, while the sender's body is under way."""
    gateway = any_gateway
    owner, sender, owner_s3, sender_s3, bucket = two_accounts(
        gateway, "owner", "sender", bucket_prefix="decided"
    )
    if versioning == "enabled":
        owner_s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    owner_s3.put_object(
        Bucket=bucket,
        Key="k",
        Body=b"shared",
        GrantWriteACP=f"id={sender.canonical_id}",
        GrantFullControl=f"id={owner.canonical_id}",
    )

    def write_again() -> None:
        owner_s3.put_object(Bucket=bucket, Key="k", Body=b"the owner's secret")

    document = _full_control(sender, owner)
    status, body = _held(gateway, sender, f"/{bucket}/k?acl", document, write_again)
    assert status == 409 and b"<Code>OperationAborted</Code>" in body, body
    expect_error("AccessDenied", 403, sender_s3.get_object, Bucket=bucket, Key="k")
    assert _grants(owner_s3, bucket, "k") == [(owner.canonical_id, "FULL_CONTROL")]
    assert owner_s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"the owner's secret"


def test_an_acl_decided_by_an_existing_tag_never_reaches_an_untagged_object(
    any_gateway: Gateway,
) -> None:
    """The sender's right is a policy Allow on objects tagged ``share=yes``; the owner
    writes the key again, untagged: nothing but the object changed (no ownership rows)."""
    gateway = any_gateway
    owner, sender, owner_s3, sender_s3, bucket = two_accounts(
        gateway, "owner", "sender", bucket_prefix="decided"
    )
    _shared_by_tag(owner_s3, bucket, sender, "s3:PutObjectAcl")

    def write_again() -> None:
        owner_s3.put_object(Bucket=bucket, Key="k", Body=b"the owner's secret")

    document = _full_control(sender, owner)
    status, body = _held(gateway, sender, f"/{bucket}/k?acl", document, write_again)
    assert status == 409 and b"<Code>OperationAborted</Code>" in body, body
    expect_error("AccessDenied", 403, sender_s3.get_object, Bucket=bucket, Key="k")
    assert _grants(owner_s3, bucket, "k") == [(owner.canonical_id, "FULL_CONTROL")]
    # the same request, sent again, is decided against the object as it is: refused
    expect_error(
        "AccessDenied",
        403,
        sender_s3.put_object_acl,
        Bucket=bucket,
        Key="k",
        ACL="bucket-owner-full-control",
    )


def test_an_acl_whose_grant_was_revoked_meanwhile_is_not_applied(any_gateway: Gateway) -> None:
    """The object stays; its owner takes the sender's WRITE_ACP grant back while the
    sender's body is under way: the ACL the sender was decided for is not the one it
    would replace (the row is compared as the decision read it)."""
    gateway = any_gateway
    owner, sender, owner_s3, sender_s3, bucket = two_accounts(
        gateway, "owner", "sender", bucket_prefix="decided"
    )
    owner_s3.put_object(
        Bucket=bucket,
        Key="k",
        Body=b"the owner's",
        GrantWriteACP=f"id={sender.canonical_id}",
        GrantFullControl=f"id={owner.canonical_id}",
    )

    def revoke() -> None:
        owner_s3.put_object_acl(Bucket=bucket, Key="k", ACL="private")

    document = _full_control(sender, owner)
    status, body = _held(gateway, sender, f"/{bucket}/k?acl", document, revoke)
    assert status == 409 and b"<Code>OperationAborted</Code>" in body, body
    expect_error("AccessDenied", 403, sender_s3.get_object, Bucket=bucket, Key="k")
    assert _grants(owner_s3, bucket, "k") == [(owner.canonical_id, "FULL_CONTROL")]


def test_tags_sent_slowly_are_decided_against_the_object_they_reach(
    gateway: Gateway,
) -> None:
    """PutObjectTagging (like PutObjectRetention and PutObjectLegalHold) reads its body
    before its decision: written over meanwhile, untagged, the key is refused to the
    sender whose right needed the tag, and the owner's new object stays untagged."""
    _, sender, owner_s3, _, bucket = two_accounts(
        gateway, "owner", "sender", bucket_prefix="decided"
    )
    _shared_by_tag(owner_s3, bucket, sender, "s3:PutObjectTagging")
    tagging = (
        b'<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>'
        b"<Tag><Key>share</Key><Value>yes</Value></Tag>"
        b"<Tag><Key>by</Key><Value>sender</Value></Tag></TagSet></Tagging>"
    )

    def write_again() -> None:
        owner_s3.put_object(Bucket=bucket, Key="k", Body=b"the owner's secret")

    status, body = _held(gateway, sender, f"/{bucket}/k?tagging", tagging, write_again)
    assert status == 403 and b"<Code>AccessDenied</Code>" in body, body
    assert owner_s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
