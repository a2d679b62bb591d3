"""ACLs and public access blocks survive the round trip through their stored JSON."""

from __future__ import annotations

import pytest

from gateway.authz import (
    AccessControlList,
    CanonicalUser,
    EmailGrantee,
    Grant,
    Group,
    Permission,
    PublicAccessBlock,
    canned_acl,
)
from gateway.authz.stored import acl_from_json, acl_to_json, block_from_json, block_to_json

OWNER = CanonicalUser("a" * 64, "owner")


@pytest.mark.parametrize(
    "acl",
    [
        canned_acl("private", owner=OWNER),
        canned_acl("public-read-write", owner=OWNER),
        canned_acl("log-delivery-write", owner=OWNER),
        AccessControlList(
            OWNER,
            (
                Grant(CanonicalUser("b" * 64, "Bob & Co <ltd>"), Permission.READ_ACP),
                Grant(Group.AUTHENTICATED_USERS, Permission.READ),
            ),
        ),
        AccessControlList(CanonicalUser("c" * 64)),
    ],
)
def test_acl_round_trip(acl: AccessControlList) -> None:
    assert acl_from_json(acl_to_json(acl)) == acl


def test_unresolved_email_grants_are_never_stored() -> None:
    acl = AccessControlList(OWNER, (Grant(EmailGrantee("x@y.io"), Permission.READ),))
    with pytest.raises(ValueError):
        acl_to_json(acl)


@pytest.mark.parametrize("flags", [(False,) * 4, (True,) * 4, (True, False, True, False)])
def test_block_round_trip(flags: tuple[bool, bool, bool, bool]) -> None:
    block = PublicAccessBlock(*flags)
    assert block_from_json(block_to_json(block)) == block
