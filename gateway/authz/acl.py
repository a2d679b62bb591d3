"""ACLs: grants, canned ACLs, which actions each permission allows, and publicness.

A grant names a grantee (a canonical user, or one of the predefined groups AllUsers,
AuthenticatedUsers, LogDelivery) and one permission. What a permission allows depends on
where it is granted (AWS's "ACL permission to operations" mapping); ``FULL_CONTROL`` is
all of them. An ACL is public when it grants anything to AllUsers or AuthenticatedUsers.
Parsing headers and XML bodies lives in ``gateway.authz.acl_documents``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum

from gateway.authz.context import PrincipalFacts
from gateway.authz.errors import AuthzError

__all__ = [
    "CANNED_ACLS",
    "AccessControlList",
    "CanonicalUser",
    "EmailGrantee",
    "Grant",
    "Grantee",
    "Group",
    "Permission",
    "Target",
    "allowed_actions",
    "canned_acl",
]


class Permission(Enum):
    READ = "READ"
    WRITE = "WRITE"
    READ_ACP = "READ_ACP"
    WRITE_ACP = "WRITE_ACP"
    FULL_CONTROL = "FULL_CONTROL"


class Group(Enum):
    ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
    AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
    LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"


PUBLIC_GROUPS = frozenset({Group.ALL_USERS, Group.AUTHENTICATED_USERS})


@dataclass(frozen=True, slots=True)
class CanonicalUser:
    id: str
    """64 lower-case hex characters."""
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class EmailGrantee:
    """A grant by e-mail address before the caller resolved it to a canonical user."""

    email: str


Grantee = CanonicalUser | Group | EmailGrantee


class Target(Enum):
    BUCKET = "bucket"
    OBJECT = "object"


_BUCKET: dict[Permission, frozenset[str]] = {
    Permission.READ: frozenset(
        {"s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"}
    ),
    # AWS adds s3:DeleteObjectVersion when the grantee is the bucket owner; owners are
    # decided before ACLs are read, so the table need not say it.
    Permission.WRITE: frozenset({"s3:PutObject", "s3:DeleteObject"}),
    Permission.READ_ACP: frozenset({"s3:GetBucketAcl"}),
    Permission.WRITE_ACP: frozenset({"s3:PutBucketAcl"}),
}
_OBJECT: dict[Permission, frozenset[str]] = {
    # READ access to an object is what GetObjectAttributes asks for (with s3:GetObject)
    Permission.READ: frozenset(
        {
            "s3:GetObject",
            "s3:GetObjectVersion",
            "s3:GetObjectTorrent",
            "s3:GetObjectAttributes",
            "s3:GetObjectVersionAttributes",
        }
    ),
    Permission.WRITE: frozenset(),  # not applicable to objects
    Permission.READ_ACP: frozenset({"s3:GetObjectAcl", "s3:GetObjectVersionAcl"}),
    Permission.WRITE_ACP: frozenset({"s3:PutObjectAcl", "s3:PutObjectVersionAcl"}),
}
PERMISSION_ACTIONS: dict[Target, dict[Permission, frozenset[str]]] = {
    target: {**table, Permission.FULL_CONTROL: frozenset().union(*table.values())}
    for target, table in ((Target.BUCKET, _BUCKET), (Target.OBJECT, _OBJECT))
}
"""Where granted -> permission -> the actions it allows."""


def allowed_actions(target: Target, permission: Permission) -> frozenset[str]:
    return PERMISSION_ACTIONS[target][permission]


@dataclass(frozen=True, slots=True)
class Grant:
    grantee: Grantee
    permission: Permission

    def names(self, principal: PrincipalFacts) -> bool:
        grantee = self.grantee
        if isinstance(grantee, CanonicalUser):
            return principal.canonical_id is not None and (
                principal.canonical_id.lower() == grantee.id.lower()
            )
        if grantee is Group.ALL_USERS:
            return True
        if grantee is Group.AUTHENTICATED_USERS:
            return not principal.is_anonymous
        return False  # LogDelivery: S3's log writer, no caller of the gateway; e-mail: unresolved

    @property
    def is_public(self) -> bool:
        return isinstance(self.grantee, Group) and self.grantee in PUBLIC_GROUPS


@dataclass(frozen=True, slots=True)
class AccessControlList:
    owner: CanonicalUser
    grants: tuple[Grant, ...] = ()

    @property
    def is_public(self) -> bool:
        return any(g.is_public for g in self.grants)

    def without_public_grants(self) -> AccessControlList:
        """The ACL as IgnorePublicAcls reads it."""
        return replace(self, grants=tuple(g for g in self.grants if not g.is_public))

    def grant_for(self, principal: PrincipalFacts, action: str, target: Target) -> Grant | None:
        """The first grant that allows ``action`` to ``principal``, if any."""
        table = PERMISSION_ACTIONS[target]
        for grant in self.grants:
            if action in table[grant.permission] and grant.names(principal):
                return grant
        return None

    def emails(self) -> tuple[str, ...]:
        return tuple(g.grantee.email for g in self.grants if isinstance(g.grantee, EmailGrantee))

    def canonical_ids(self) -> tuple[str, ...]:
        return tuple(g.grantee.id for g in self.grants if isinstance(g.grantee, CanonicalUser))

    def only_full_control_to(self, owner_id: str) -> bool:
        """Every grant is FULL_CONTROL to ``owner_id``: what BucketOwnerEnforced accepts."""
        return all(
            isinstance(g.grantee, CanonicalUser)
            and g.grantee.id.lower() == owner_id.lower()
            and g.permission is Permission.FULL_CONTROL
            for g in self.grants
        )

    def resolve(
        self,
        *,
        by_email: Mapping[str, CanonicalUser],
        by_id: Mapping[str, CanonicalUser],
    ) -> AccessControlList:
        """Replace e-mail grantees by the canonical users they name and fill in display
        names; the caller looked the addresses and ids up (``by_email`` keys are lower
        case). An unknown address is ``UnresolvableGrantByEmailAddress``, an unknown
        canonical id ``InvalidArgument``, as in S3."""
        grants: list[Grant] = []
        for grant in self.grants:
            grantee = grant.grantee
            if isinstance(grantee, EmailGrantee):
                found = by_email.get(grantee.email.lower())
                if found is None:
                    raise AuthzError(
                        "UnresolvableGrantByEmailAddress",
                        "The e-mail address you provided does not match any account on record.",
                    )
                grantee = found
            elif isinstance(grantee, CanonicalUser):
                user = by_id.get(grantee.id.lower())
                if user is None:
                    raise AuthzError("InvalidArgument", "Invalid id")
                grantee = user
            grants.append(Grant(grantee, grant.permission))
        owner = by_id.get(self.owner.id.lower(), self.owner)
        return AccessControlList(owner, tuple(grants))


CANNED_ACLS = (
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
    "log-delivery-write",
)


def canned_acl(
    name: str,
    *,
    owner: CanonicalUser,
    bucket_owner: CanonicalUser | None = None,
    target: Target = Target.OBJECT,
) -> AccessControlList:
    """Expand a canned ACL (``x-amz-acl``) into grants. ``owner`` is the resource's owner,
    ``bucket_owner`` the owner of the bucket an object is written to (the
    ``bucket-owner-*`` ACLs grant to it; they mean ``private`` on buckets and when the
    writer owns the bucket)."""
    grants = [Grant(owner, Permission.FULL_CONTROL)]
    other_owner = (
        bucket_owner
        if target is Target.OBJECT
        and bucket_owner is not None
        and bucket_owner.id.lower() != owner.id.lower()
        else None
    )
    if name == "public-read":
        grants.append(Grant(Group.ALL_USERS, Permission.READ))
    elif name == "public-read-write":
        grants += [
            Grant(Group.ALL_USERS, Permission.READ),
            Grant(Group.ALL_USERS, Permission.WRITE),
        ]
    elif name == "authenticated-read":
        grants.append(Grant(Group.AUTHENTICATED_USERS, Permission.READ))
    elif name == "bucket-owner-read":
        if other_owner is not None:
            grants.append(Grant(other_owner, Permission.READ))
    elif name == "bucket-owner-full-control":
        if other_owner is not None:
            grants.append(Grant(other_owner, Permission.FULL_CONTROL))
    elif name == "log-delivery-write":
        grants += [
            Grant(Group.LOG_DELIVERY, Permission.WRITE),
            Grant(Group.LOG_DELIVERY, Permission.READ_ACP),
        ]
    elif name not in ("private", "aws-exec-read"):
        # aws-exec-read adds READ for Amazon EC2's AMI bundler, a caller the gateway has not.
        raise AuthzError("InvalidArgument", f"Invalid canned ACL: {name}")
    return AccessControlList(owner, tuple(grants))
