"""The audit log's vocabulary: dotted action names, and which S3 operations are audited.

Names read ``<what>.<verb>`` (``access_key.create``), sign-ins
``auth.<grant>.<outcome>`` (``auth.password.failure``). ``GET /v1/audit-events?action=``
filters by one name or by a prefix ending in ``.*`` (``access_key.*``). docs/audit.md
lists every name with what its target and details are.
"""

from __future__ import annotations

# Action names, not secrets (ruff S105 reads "password" / "token" in them).
# ruff: noqa: S105

__all__ = ["ACTIONS", "LIFECYCLE_ACTIONS", "S3_ACTIONS", "S3_NOT_AUDITED"]

# Identity: access keys, users, OAuth clients, accounts.
ACCESS_KEY_CREATE = "access_key.create"
ACCESS_KEY_REVOKE = "access_key.revoke"
ACCESS_KEY_ROTATE = "access_key.rotate"
ACCESS_KEY_EXPIRED = "access_key.expired"
ACCESS_KEY_USE = "access_key.use"
USER_CREATE = "user.create"
USER_UPDATE = "user.update"
USER_DISABLE = "user.disable"
USER_ENABLE = "user.enable"
USER_PASSWORD_CHANGE = "user.password_change"
USER_DELETE = "user.delete"
CLIENT_CREATE = "client.create"
CLIENT_DELETE = "client.delete"
ACCOUNT_CREATE = "account.create"
ACCOUNT_UPDATE = "account.update"
ACCOUNT_DELETE = "account.delete"
# Keys of the gateway itself.
MASTER_KEY_ROTATE = "master_key.rotate"
SIGNING_KEY_ROTATE = "signing_key.rotate"
SIGNING_KEY_REMOVE = "signing_key.remove"
# Sign-ins and sessions.
AUTH_PASSWORD_SUCCESS = "auth.password.success"
AUTH_PASSWORD_FAILURE = "auth.password.failure"
AUTH_CLIENT_CREDENTIALS_SUCCESS = "auth.client_credentials.success"
AUTH_CLIENT_FAILURE = "auth.client.failure"
REFRESH_TOKEN_REUSE = "refresh_token.reuse_detected"
SESSION_REVOKE = "session.revoke"
ACCESS_TOKEN_REVOKE = "access_token.revoke"
# Buckets (REST and S3).
BUCKET_CREATE = "bucket.create"
BUCKET_DELETE = "bucket.delete"

S3_ACTIONS: dict[str, str] = {
    "CreateBucket": BUCKET_CREATE,
    "DeleteBucket": BUCKET_DELETE,
    "PutBucketAcl": "bucket.acl.put",
    "PutObjectAcl": "object.acl.put",
    "PutBucketPolicy": "bucket.policy.put",
    "DeleteBucketPolicy": "bucket.policy.delete",
    "PutPublicAccessBlock": "bucket.public_access_block.put",
    "DeletePublicAccessBlock": "bucket.public_access_block.delete",
    "PutBucketOwnershipControls": "bucket.ownership_controls.put",
    "DeleteBucketOwnershipControls": "bucket.ownership_controls.delete",
    "PutBucketVersioning": "bucket.versioning.put",
    "PutObjectLockConfiguration": "bucket.object_lock.put",
    "PutBucketEncryption": "bucket.encryption.put",
    "DeleteBucketEncryption": "bucket.encryption.delete",
    "PutBucketCors": "bucket.cors.put",
    "DeleteBucketCors": "bucket.cors.delete",
    "PutBucketLifecycleConfiguration": "bucket.lifecycle.put",
    "DeleteBucketLifecycle": "bucket.lifecycle.delete",
    "PutBucketTagging": "bucket.tagging.put",
    "DeleteBucketTagging": "bucket.tagging.delete",
    "PutObjectRetention": "object.retention.put",
    "PutObjectLegalHold": "object.legal_hold.put",
}
"""S3 operations that change who may reach a bucket or an object, or how long and how data
is kept: each attempt by an authenticated caller is an event (``bucket.*``; ``object.*``
for an object's ACL, retention and legal hold, with the version the request names), and
each success of an anonymous one, in the bucket owner's log (:mod:`gateway.audit.s3`).
Operations the gateway answers ``NotImplemented`` are not recorded."""

_DATA_PLANE = "data plane: the access log and the metrics have it"
_NOTHING_STORED = "changes nothing the gateway keeps"
S3_NOT_AUDITED: dict[str, str] = {
    "DeleteObjects": _DATA_PLANE,
    "PostObject": _DATA_PLANE,
    "CreateMultipartUpload": _DATA_PLANE,
    "UploadPart": _DATA_PLANE,
    "UploadPartCopy": _DATA_PLANE,
    "CompleteMultipartUpload": _DATA_PLANE,
    "AbortMultipartUpload": _DATA_PLANE,
    "PutObject": _DATA_PLANE,
    "CopyObject": _DATA_PLANE,
    "DeleteObject": _DATA_PLANE,
    # Tags are written with the object too (x-amz-tagging on PutObject, CopyObject,
    # CreateMultipartUpload, PostObject): auditing only these two would be half a record.
    "PutObjectTagging": _DATA_PLANE,
    "DeleteObjectTagging": _DATA_PLANE,
    "PutBucketRequestPayment": _NOTHING_STORED + " (BucketOwner only)",
    "PutBucketLogging": _NOTHING_STORED + " (the empty document only)",
    "PutBucketNotificationConfiguration": _NOTHING_STORED + " (the empty document only)",
    "DeleteBucketAnalyticsConfiguration": _NOTHING_STORED,
    "DeleteBucketIntelligentTieringConfiguration": _NOTHING_STORED,
    "DeleteBucketInventoryConfiguration": _NOTHING_STORED,
    "DeleteBucketMetricsConfiguration": _NOTHING_STORED,
    "DeleteBucketReplication": _NOTHING_STORED,
    "DeleteBucketWebsite": _NOTHING_STORED,
}
"""Every other implemented S3 operation that is not a read, and why it is no event
(``tests/security/test_unaudited_changes.py`` holds the two tables to the operation
table: a new writing operation must be put in one of them)."""

LIFECYCLE_ACTIONS: dict[str, tuple[str, str]] = {
    "expire_object": ("lifecycle.object.expire", "S3.EXPIRE.OBJECT"),
    "create_delete_marker": ("lifecycle.delete_marker.create", "S3.CREATE.DELETEMARKER"),
    "expire_version": ("lifecycle.version.expire", "S3.EXPIRE.OBJECT"),
    "expire_delete_marker": ("lifecycle.delete_marker.expire", "S3.EXPIRE.OBJECT"),
    "abort_upload": ("lifecycle.upload.abort", "S3.DELETE.UPLOAD"),
}
"""What the lifecycle sweeper removes or creates, by the sweeper's kind
(``gateway.lifecycle.audit.Kind``): the action recorded, and the operation AWS's server
access logs show for the same lifecycle action (``details.s3_operation``). Each object,
version, delete marker or upload is one event, by the actor ``service``/``lifecycle``;
a refused deletion is an event too (``outcome: failure``)."""

ACTIONS: frozenset[str] = frozenset(
    {
        value
        for name, value in globals().items()
        if name.isupper() and not name.startswith("_") and isinstance(value, str)
    }
    | set(S3_ACTIONS.values())
    | {action for action, _ in LIFECYCLE_ACTIONS.values()}
)
"""Every action name the gateway records."""
