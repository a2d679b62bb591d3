"""Object ownership controls: who owns an object written into a bucket, and whether the
bucket takes ACLs at all.

- ``ObjectWriter`` (the gateway's default for buckets without a setting, so that ACLs
  work as the issue asks): the writing account owns the object;
- ``BucketOwnerPreferred``: the bucket owner owns objects written with the
  ``bucket-owner-full-control`` canned ACL, the writer owns the others;
- ``BucketOwnerEnforced``: ACLs are disabled. The bucket owner owns every object, ACLs are
  not consulted when access is decided, and a request setting any ACL other than one that
  gives only the bucket owner full control (``bucket-owner-full-control``, or ``private``
  from the owner) fails with ``AccessControlListNotSupported``.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from gateway.authz.acl import AccessControlList
from gateway.authz.errors import AuthzError

__all__ = ["ObjectOwnership", "check_acl_allowed", "object_owner_for_write"]

OwnerT = TypeVar("OwnerT")


class ObjectOwnership(Enum):
    OBJECT_WRITER = "ObjectWriter"
    BUCKET_OWNER_PREFERRED = "BucketOwnerPreferred"
    BUCKET_OWNER_ENFORCED = "BucketOwnerEnforced"

    @property
    def acls_enabled(self) -> bool:
        return self is not ObjectOwnership.BUCKET_OWNER_ENFORCED


def object_owner_for_write(
    ownership: ObjectOwnership,
    *,
    writer: OwnerT,
    bucket_owner: OwnerT,
    canned_acl: str | None,
) -> OwnerT:
    """The owner of an object a request writes (PutObject, CopyObject, a completed
    multipart upload: the ACL named when the upload was created)."""
    if ownership is ObjectOwnership.BUCKET_OWNER_ENFORCED:
        return bucket_owner
    if (
        ownership is ObjectOwnership.BUCKET_OWNER_PREFERRED
        and canned_acl == "bucket-owner-full-control"
    ):
        return bucket_owner
    return writer


def check_acl_allowed(
    ownership: ObjectOwnership, acl: AccessControlList | None, *, bucket_owner_id: str
) -> None:
    """Refuse a request that sets an ACL the bucket's ownership setting does not take."""
    if ownership.acls_enabled or acl is None:
        return
    if not acl.only_full_control_to(bucket_owner_id):
        raise AuthzError("AccessControlListNotSupported", "The bucket does not allow ACLs")
