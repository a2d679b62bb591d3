"""Operation name -> handler. Checked against the operation table at import time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gateway.s3 import (
    acl,
    attributes,
    bucket_access,
    bucket_encryption,
    buckets,
    cors,
    lifecycle,
    listing,
    multipart,
    object_lock,
    objects,
    post_object,
    request_payment,
    tagging,
    unconfigured,
)
from gateway.s3.context import Context, Result
from gateway.s3.operations import OPERATIONS

__all__ = ["HANDLERS", "Handler"]

Handler = Callable[[Context], Awaitable[Result]]

HANDLERS: dict[str, Handler] = {
    "ListBuckets": buckets.list_buckets,
    "CreateBucket": buckets.create_bucket,
    "HeadBucket": buckets.head_bucket,
    "DeleteBucket": buckets.delete_bucket,
    "GetBucketLocation": buckets.get_bucket_location,
    "GetBucketVersioning": buckets.get_bucket_versioning,
    "GetBucketEncryption": bucket_encryption.get_bucket_encryption,
    "PutBucketEncryption": bucket_encryption.put_bucket_encryption,
    "DeleteBucketEncryption": bucket_encryption.delete_bucket_encryption,
    "PutBucketVersioning": buckets.put_bucket_versioning,
    "GetObjectLockConfiguration": object_lock.get_object_lock_configuration,
    "PutObjectLockConfiguration": object_lock.put_object_lock_configuration,
    "GetObjectRetention": object_lock.get_object_retention,
    "PutObjectRetention": object_lock.put_object_retention,
    "GetObjectLegalHold": object_lock.get_object_legal_hold,
    "PutObjectLegalHold": object_lock.put_object_legal_hold,
    "GetBucketAcl": acl.get_bucket_acl,
    "PutBucketAcl": acl.put_bucket_acl,
    "GetObjectAcl": acl.get_object_acl,
    "PutObjectAcl": acl.put_object_acl,
    "GetBucketPolicy": bucket_access.get_bucket_policy,
    "PutBucketPolicy": bucket_access.put_bucket_policy,
    "DeleteBucketPolicy": bucket_access.delete_bucket_policy,
    "GetBucketPolicyStatus": bucket_access.get_bucket_policy_status,
    "GetPublicAccessBlock": bucket_access.get_public_access_block,
    "PutPublicAccessBlock": bucket_access.put_public_access_block,
    "DeletePublicAccessBlock": bucket_access.delete_public_access_block,
    "GetBucketOwnershipControls": bucket_access.get_bucket_ownership_controls,
    "PutBucketOwnershipControls": bucket_access.put_bucket_ownership_controls,
    "DeleteBucketOwnershipControls": bucket_access.delete_bucket_ownership_controls,
    "GetBucketCors": cors.get_bucket_cors,
    "PutBucketCors": cors.put_bucket_cors,
    "DeleteBucketCors": cors.delete_bucket_cors,
    "PostObject": post_object.post_object,
    "GetBucketTagging": tagging.get_bucket_tagging,
    "PutBucketTagging": tagging.put_bucket_tagging,
    "DeleteBucketTagging": tagging.delete_bucket_tagging,
    "GetBucketLifecycleConfiguration": lifecycle.get_bucket_lifecycle_configuration,
    "PutBucketLifecycleConfiguration": lifecycle.put_bucket_lifecycle_configuration,
    "DeleteBucketLifecycle": lifecycle.delete_bucket_lifecycle,
    "GetBucketRequestPayment": request_payment.get_bucket_request_payment,
    "PutBucketRequestPayment": request_payment.put_bucket_request_payment,
    # website, replication, logging, notification, accelerate, analytics, metrics,
    # inventory, intelligent-tiering: read as "not configured" (gateway/s3/unconfigured.py)
    **unconfigured.HANDLERS,
    "GetObjectTagging": tagging.get_object_tagging,
    "PutObjectTagging": tagging.put_object_tagging,
    "DeleteObjectTagging": tagging.delete_object_tagging,
    "ListObjects": listing.list_objects,
    "ListObjectsV2": listing.list_objects_v2,
    "ListObjectVersions": listing.list_object_versions,
    "PutObject": objects.put_object,
    "GetObject": objects.get_object,
    "HeadObject": objects.head_object,
    "DeleteObject": objects.delete_object,
    "DeleteObjects": objects.delete_objects,
    "GetObjectAttributes": attributes.get_object_attributes,
    "CopyObject": objects.copy_object,
    "CreateMultipartUpload": multipart.create_multipart_upload,
    "UploadPart": multipart.upload_part,
    "UploadPartCopy": multipart.upload_part_copy,
    "CompleteMultipartUpload": multipart.complete_multipart_upload,
    "AbortMultipartUpload": multipart.abort_multipart_upload,
    "ListParts": multipart.list_parts,
    "ListMultipartUploads": multipart.list_multipart_uploads,
}

_implemented = {op.name for op in OPERATIONS if op.implemented}
if _implemented != set(HANDLERS):  # pragma: no cover - a programming error, caught by tests
    raise RuntimeError(
        f"operation table and handlers disagree: {sorted(_implemented ^ set(HANDLERS))}"
    )
