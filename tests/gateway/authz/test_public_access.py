"""Public access block and ownership controls: the refusals at write time and the
gateway-wide switch."""

from __future__ import annotations

import pytest

from gateway.authz import (
    AccessControlList,
    AuthzError,
    Grant,
    ObjectOwnership,
    Permission,
    Policy,
    PublicAccessBlock,
    Target,
    canned_acl,
    check_acl_allowed,
    object_owner_for_write,
    refuse_public_acl,
    refuse_public_policy,
)
from tests.gateway.authz.builders import OTHER, OWNER, canonical, policy, stmt

ME, YOU = canonical(OWNER), canonical(OTHER)
PUBLIC_POLICY = policy(stmt())
SHARED_POLICY = policy(stmt(principal={"AWS": OTHER.account_id}))


@pytest.mark.parametrize(
    ("block", "acl", "refused"),
    [
        (PublicAccessBlock(block_public_acls=True), "public-read", True),
        (PublicAccessBlock(block_public_acls=True), "public-read-write", True),
        (PublicAccessBlock(block_public_acls=True), "authenticated-read", True),
        (PublicAccessBlock(block_public_acls=True), "private", False),
        (PublicAccessBlock(block_public_acls=True), "bucket-owner-full-control", False),
        (PublicAccessBlock(block_public_acls=True), "log-delivery-write", False),
        (PublicAccessBlock(ignore_public_acls=True), "public-read", False),
        (PublicAccessBlock(block_public_policy=True), "public-read", False),
        (PublicAccessBlock(), "public-read-write", False),
    ],
)
def test_block_public_acls_refuses_public_acls(
    block: PublicAccessBlock, acl: str, refused: bool
) -> None:
    expanded = canned_acl(acl, owner=YOU, bucket_owner=ME)
    if refused:
        with pytest.raises(AuthzError) as info:
            refuse_public_acl(block, expanded)
        assert info.value.code == "AccessDenied" and info.value.status == 403
    else:
        refuse_public_acl(block, expanded)


def test_block_public_acls_refuses_public_grants() -> None:
    block = PublicAccessBlock(block_public_acls=True)
    refuse_public_acl(block, None)
    refuse_public_acl(block, AccessControlList(ME, (Grant(YOU, Permission.READ),)))
    with pytest.raises(AuthzError):
        refuse_public_acl(
            block,
            AccessControlList(
                ME, (Grant(YOU, Permission.READ), *canned_acl("public-read", owner=ME).grants)
            ),
        )


@pytest.mark.parametrize(
    ("block", "document", "refused"),
    [
        (PublicAccessBlock(block_public_policy=True), PUBLIC_POLICY, True),
        (PublicAccessBlock(block_public_policy=True), SHARED_POLICY, False),
        (PublicAccessBlock(restrict_public_buckets=True), PUBLIC_POLICY, False),
        (PublicAccessBlock(block_public_acls=True, ignore_public_acls=True), PUBLIC_POLICY, False),
        (PublicAccessBlock.all_on(), PUBLIC_POLICY, True),
    ],
)
def test_block_public_policy(block: PublicAccessBlock, document: Policy, refused: bool) -> None:
    if refused:
        with pytest.raises(AuthzError) as info:
            refuse_public_policy(block, document)
        assert info.value.code == "AccessDenied"
    else:
        refuse_public_policy(block, document)


def test_gateway_wide_switch_forces_all_four() -> None:
    assert PublicAccessBlock().effective(force_all=True) == PublicAccessBlock(
        True, True, True, True
    )
    mine = PublicAccessBlock(ignore_public_acls=True)
    assert mine.effective(force_all=False) == mine


def test_blocks_combine_to_the_most_restrictive() -> None:
    a = PublicAccessBlock(block_public_acls=True, restrict_public_buckets=True)
    b = PublicAccessBlock(ignore_public_acls=True)
    assert a.merged(b) == PublicAccessBlock(True, True, False, True)
    assert a.merged(PublicAccessBlock()) == a


@pytest.mark.parametrize(
    ("ownership", "canned", "owner"),
    [
        (ObjectOwnership.OBJECT_WRITER, None, "writer"),
        (ObjectOwnership.OBJECT_WRITER, "bucket-owner-full-control", "writer"),
        (ObjectOwnership.BUCKET_OWNER_PREFERRED, None, "writer"),
        (ObjectOwnership.BUCKET_OWNER_PREFERRED, "public-read", "writer"),
        (ObjectOwnership.BUCKET_OWNER_PREFERRED, "bucket-owner-full-control", "bucket"),
        (ObjectOwnership.BUCKET_OWNER_ENFORCED, None, "bucket"),
        (ObjectOwnership.BUCKET_OWNER_ENFORCED, "bucket-owner-full-control", "bucket"),
    ],
)
def test_object_owner_for_write(ownership: ObjectOwnership, canned: str | None, owner: str) -> None:
    got = object_owner_for_write(
        ownership, writer="writer", bucket_owner="bucket", canned_acl=canned
    )
    assert got == owner


@pytest.mark.parametrize(
    ("ownership", "acl", "refused"),
    [
        (ObjectOwnership.BUCKET_OWNER_ENFORCED, None, False),
        (
            ObjectOwnership.BUCKET_OWNER_ENFORCED,
            canned_acl("bucket-owner-full-control", owner=ME),
            False,
        ),
        (ObjectOwnership.BUCKET_OWNER_ENFORCED, canned_acl("private", owner=ME), False),
        (
            ObjectOwnership.BUCKET_OWNER_ENFORCED,
            canned_acl("private", owner=YOU, bucket_owner=ME),
            True,
        ),
        (ObjectOwnership.BUCKET_OWNER_ENFORCED, canned_acl("public-read", owner=ME), True),
        (
            ObjectOwnership.BUCKET_OWNER_ENFORCED,
            AccessControlList(ME, (Grant(YOU, Permission.READ),)),
            True,
        ),
        (ObjectOwnership.OBJECT_WRITER, canned_acl("public-read", owner=ME), False),
        (
            ObjectOwnership.BUCKET_OWNER_PREFERRED,
            canned_acl("public-read", owner=ME, target=Target.BUCKET),
            False,
        ),
    ],
)
def test_enforced_ownership_refuses_acls(
    ownership: ObjectOwnership, acl: AccessControlList | None, refused: bool
) -> None:
    if refused:
        with pytest.raises(AuthzError) as info:
            check_acl_allowed(ownership, acl, bucket_owner_id=OWNER.canonical_id)
        assert info.value.code == "AccessControlListNotSupported"
        assert info.value.status == 400
    else:
        check_acl_allowed(ownership, acl, bucket_owner_id=OWNER.canonical_id)
