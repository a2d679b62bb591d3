"""The IAM actions the gateway knows, each with the kind of resource it applies to.

Names and resource types follow AWS's "Actions, resources, and condition keys for Amazon
S3" (service authorization reference). A policy may name any of them (policies written
for AWS validate here); the operation table (``gateway/s3/operations.py``) names the one
each S3 operation needs. IAM matches action names case-insensitively.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

__all__ = [
    "ACTIONS",
    "ResourceKind",
    "canonical_action",
    "resource_kind",
    "versioned_action",
]


class ResourceKind(Enum):
    BUCKET = "bucket"
    """``arn:aws:s3:::bucket``"""
    OBJECT = "object"
    """``arn:aws:s3:::bucket/key``"""
    NONE = "none"
    """Account-level actions (``s3:ListAllMyBuckets``): no bucket or object resource."""


def _table(
    kind: ResourceKind, names: Iterable[str], prefix: str = "s3:"
) -> dict[str, ResourceKind]:
    return {f"{prefix}{name}": kind for name in names}


_BUCKET = (
    "CreateBucket",
    "DeleteBucket",
    "ListBucket",
    "ListBucketVersions",
    "ListBucketMultipartUploads",
    "GetBucketLocation",
    "GetBucketAcl",
    "PutBucketAcl",
    "GetBucketCORS",
    "PutBucketCORS",
    "GetBucketVersioning",
    "PutBucketVersioning",
    "GetBucketPolicy",
    "PutBucketPolicy",
    "DeleteBucketPolicy",
    "GetBucketPolicyStatus",
    "GetBucketPublicAccessBlock",
    "PutBucketPublicAccessBlock",
    "GetBucketOwnershipControls",
    "PutBucketOwnershipControls",
    "GetBucketTagging",
    "PutBucketTagging",
    "GetBucketWebsite",
    "PutBucketWebsite",
    "DeleteBucketWebsite",
    "GetBucketLogging",
    "PutBucketLogging",
    "GetBucketNotification",
    "PutBucketNotification",
    "GetBucketObjectLockConfiguration",
    "PutBucketObjectLockConfiguration",
    "GetBucketRequestPayment",
    "PutBucketRequestPayment",
    "GetAccelerateConfiguration",
    "PutAccelerateConfiguration",
    "GetAnalyticsConfiguration",
    "PutAnalyticsConfiguration",
    "GetEncryptionConfiguration",
    "PutEncryptionConfiguration",
    "GetIntelligentTieringConfiguration",
    "PutIntelligentTieringConfiguration",
    "GetInventoryConfiguration",
    "PutInventoryConfiguration",
    "GetLifecycleConfiguration",
    "PutLifecycleConfiguration",
    "GetMetricsConfiguration",
    "PutMetricsConfiguration",
    "GetReplicationConfiguration",
    "PutReplicationConfiguration",
    "CreateBucketMetadataTableConfiguration",
    "GetBucketMetadataTableConfiguration",
    "DeleteBucketMetadataTableConfiguration",
    "UpdateBucketMetadataAnnotationTableConfiguration",
    "UpdateBucketMetadataInventoryTableConfiguration",
    "UpdateBucketMetadataJournalTableConfiguration",
    "GetBucketAbac",
    "PutBucketAbac",
)

_OBJECT = (
    "AbortMultipartUpload",
    "BypassGovernanceRetention",
    "DeleteObject",
    "DeleteObjectAnnotation",
    "DeleteObjectTagging",
    "DeleteObjectVersion",
    "DeleteObjectVersionTagging",
    "GetObject",
    "GetObjectAcl",
    "GetObjectAnnotation",
    "GetObjectAttributes",
    "GetObjectLegalHold",
    "GetObjectRetention",
    "GetObjectTagging",
    "GetObjectTorrent",
    "GetObjectVersion",
    "GetObjectVersionAcl",
    "GetObjectVersionAttributes",
    "GetObjectVersionForReplication",
    "GetObjectVersionTagging",
    "GetObjectVersionTorrent",
    "InitiateReplication",
    "ListMultipartUploadParts",
    "ListObjectAnnotations",
    "ObjectOwnerOverrideToBucketOwner",
    "PutObject",
    "PutObjectAcl",
    "PutObjectAnnotation",
    "PutObjectLegalHold",
    "PutObjectRetention",
    "PutObjectTagging",
    "PutObjectVersionAcl",
    "PutObjectVersionTagging",
    "ReplicateDelete",
    "ReplicateObject",
    "ReplicateTags",
    "RestoreObject",
    "UpdateObjectEncryption",
)

_ACCOUNT = ("ListAllMyBuckets", "GetAccountPublicAccessBlock", "PutAccountPublicAccessBlock")

ACTIONS: dict[str, ResourceKind] = {
    **_table(ResourceKind.BUCKET, _BUCKET),
    **_table(ResourceKind.OBJECT, _OBJECT),
    **_table(ResourceKind.NONE, _ACCOUNT),
    # CreateSession (the ?session subresource) belongs to directory buckets' service.
    **_table(ResourceKind.BUCKET, ("CreateSession",), prefix="s3express:"),
}
"""Every action the gateway knows, in AWS's spelling, with its resource type."""

_BY_LOWER: dict[str, str] = {name.lower(): name for name in ACTIONS}

_VERSIONED: dict[str, str] = {
    "s3:GetObject": "s3:GetObjectVersion",
    "s3:DeleteObject": "s3:DeleteObjectVersion",
    "s3:GetObjectAcl": "s3:GetObjectVersionAcl",
    "s3:PutObjectAcl": "s3:PutObjectVersionAcl",
    "s3:GetObjectTagging": "s3:GetObjectVersionTagging",
    "s3:PutObjectTagging": "s3:PutObjectVersionTagging",
    "s3:DeleteObjectTagging": "s3:DeleteObjectVersionTagging",
    "s3:GetObjectAttributes": "s3:GetObjectVersionAttributes",
    "s3:GetObjectTorrent": "s3:GetObjectVersionTorrent",
}


def canonical_action(name: str) -> str | None:
    """AWS's spelling of an action named in any case, or None when unknown."""
    return _BY_LOWER.get(name.lower())


def resource_kind(action: str) -> ResourceKind:
    return ACTIONS[action]


def versioned_action(action: str, *, version_id: str | None) -> str:
    """The action a request needs: AWS asks for the ``...Version`` action when the request
    names a version (``versionId``), e.g. ``s3:GetObjectVersion`` for GetObject."""
    if version_id is None:
        return action
    return _VERSIONED.get(action, action)
