"""The public access block: four independent switches a bucket (or the whole gateway)
sets to keep its content from being public.

- ``block_public_acls``: a request that would set a public ACL (PutBucketAcl,
  PutObjectAcl, and PutObject/CopyObject/CreateMultipartUpload/CreateBucket with a public
  canned ACL or grant) is refused with ``AccessDenied`` (:func:`refuse_public_acl`);
- ``ignore_public_acls``: grants to AllUsers/AuthenticatedUsers are ignored when access
  is decided (the ACL itself is kept and still read back);
- ``block_public_policy``: PutBucketPolicy with a public policy is refused with
  ``AccessDenied`` (:func:`refuse_public_policy`);
- ``restrict_public_buckets``: while the bucket's policy is public, the policy grants
  nothing to callers outside the bucket owner's account (not even to accounts it names).

None of them changes stored ACLs or policies. The gateway-wide setting forces all four
on for every bucket (:meth:`PublicAccessBlock.effective`); several blocks combine to
the most restrictive (:meth:`PublicAccessBlock.merged`), as AWS combines bucket and
account settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.authz.acl import AccessControlList
from gateway.authz.errors import AuthzError
from gateway.authz.policy import Policy
from gateway.authz.public import is_public

__all__ = ["PublicAccessBlock", "refuse_public_acl", "refuse_public_policy"]


@dataclass(frozen=True, slots=True)
class PublicAccessBlock:
    block_public_acls: bool = False
    ignore_public_acls: bool = False
    block_public_policy: bool = False
    restrict_public_buckets: bool = False

    @classmethod
    def all_on(cls) -> PublicAccessBlock:
        return cls(True, True, True, True)

    def merged(self, other: PublicAccessBlock) -> PublicAccessBlock:
        """The most restrictive combination of two blocks (each switch ORed)."""
        return PublicAccessBlock(
            self.block_public_acls or other.block_public_acls,
            self.ignore_public_acls or other.ignore_public_acls,
            self.block_public_policy or other.block_public_policy,
            self.restrict_public_buckets or other.restrict_public_buckets,
        )

    def effective(self, *, force_all: bool) -> PublicAccessBlock:
        """The block in force for a bucket with this setting, given the gateway-wide
        "force all on" switch."""
        return PublicAccessBlock.all_on() if force_all else self


def refuse_public_acl(block: PublicAccessBlock, acl: AccessControlList | None) -> None:
    """Raise ``AccessDenied`` when ``acl`` (the one a request sets) is public and the
    block says BlockPublicAcls."""
    if block.block_public_acls and acl is not None and acl.is_public:
        raise AuthzError(
            "AccessDenied", "Access Denied: public ACLs are blocked by the public access block"
        )


def refuse_public_policy(block: PublicAccessBlock, policy: Policy) -> None:
    """Raise ``AccessDenied`` when PutBucketPolicy sets a public policy under
    BlockPublicPolicy."""
    if block.block_public_policy and is_public(policy):
        raise AuthzError(
            "AccessDenied",
            "Access Denied: public policies are blocked by the public access block",
        )
