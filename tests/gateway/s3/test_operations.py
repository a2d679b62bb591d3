"""Request shape -> operation and scopes, for every row of the operation table.

Path-style and virtual-hosted-style requests must resolve identically; a request with an
unsupported subresource must resolve to a NotImplemented row, never to Get/PutObject; a
read of a configuration no bucket can hold resolves to AWS's operation (``?analytics``:
the list, ``?analytics&id=``: one configuration).
"""

from __future__ import annotations

import pytest

from gateway.authz.actions import ACTIONS, ResourceKind
from gateway.s3.addressing import parse_address
from gateway.s3.operations import (
    OPERATIONS,
    OPERATIONS_BY_NAME,
    Operation,
    Target,
    allowed_methods,
    resolve,
)

COPY = {"x-amz-copy-source": "/src/key"}

# (method, target: "service" | "bucket" | "object", query, headers, operation, scopes)
TABLE: list[tuple[str, str, str, dict[str, str], str, tuple[str, ...]]] = [
    ("GET", "service", "", {}, "ListBuckets", ("read:buckets",)),
    ("GET", "bucket", "location", {}, "GetBucketLocation", ("read:buckets",)),
    ("GET", "bucket", "acl", {}, "GetBucketAcl", ("read:buckets",)),
    ("PUT", "bucket", "acl", {}, "PutBucketAcl", ("write:buckets",)),
    ("GET", "bucket", "encryption", {}, "GetBucketEncryption", ("read:buckets",)),
    ("PUT", "bucket", "encryption", {}, "PutBucketEncryption", ("write:buckets",)),
    ("DELETE", "bucket", "encryption", {}, "DeleteBucketEncryption", ("write:buckets",)),
    ("GET", "bucket", "versioning", {}, "GetBucketVersioning", ("read:buckets",)),
    ("PUT", "bucket", "versioning", {}, "PutBucketVersioning", ("write:buckets",)),
    ("GET", "bucket", "object-lock", {}, "GetObjectLockConfiguration", ("read:buckets",)),
    ("PUT", "bucket", "object-lock", {}, "PutObjectLockConfiguration", ("write:buckets",)),
    ("GET", "bucket", "versions&prefix=a", {}, "ListObjectVersions", ("read:objects",)),
    ("GET", "bucket", "uploads", {}, "ListMultipartUploads", ("read:objects",)),
    ("GET", "bucket", "list-type=2&prefix=a", {}, "ListObjectsV2", ("read:objects",)),
    ("GET", "bucket", "list-type=3", {}, "ListObjects", ("read:objects",)),
    ("GET", "bucket", "prefix=a&marker=b", {}, "ListObjects", ("read:objects",)),
    ("HEAD", "bucket", "", {}, "HeadBucket", ("read:buckets",)),
    ("PUT", "bucket", "", {}, "CreateBucket", ("write:buckets",)),
    ("DELETE", "bucket", "", {}, "DeleteBucket", ("write:buckets",)),
    ("POST", "bucket", "delete", {}, "DeleteObjects", ("delete:objects",)),
    ("POST", "bucket", "", {}, "PostObject", ("write:objects",)),
    ("POST", "object", "uploads", {}, "CreateMultipartUpload", ("write:objects",)),
    (
        "PUT",
        "object",
        "partNumber=1&uploadId=u",
        COPY,
        "UploadPartCopy",
        ("write:objects", "read:objects"),
    ),
    ("PUT", "object", "partNumber=1&uploadId=u", {}, "UploadPart", ("write:objects",)),
    ("POST", "object", "uploadId=u", {}, "CompleteMultipartUpload", ("write:objects",)),
    ("DELETE", "object", "uploadId=u", {}, "AbortMultipartUpload", ("write:objects",)),
    ("GET", "object", "uploadId=u", {}, "ListParts", ("read:objects",)),
    ("GET", "object", "acl", {}, "GetObjectAcl", ("read:objects",)),
    ("GET", "object", "attributes", {}, "GetObjectAttributes", ("read:objects",)),
    ("PUT", "object", "acl", {}, "PutObjectAcl", ("write:objects",)),
    ("GET", "object", "retention&versionId=v", {}, "GetObjectRetention", ("read:objects",)),
    ("PUT", "object", "retention", {}, "PutObjectRetention", ("write:objects",)),
    ("GET", "object", "legal-hold", {}, "GetObjectLegalHold", ("read:objects",)),
    ("PUT", "object", "legal-hold&versionId=v", {}, "PutObjectLegalHold", ("write:objects",)),
    ("GET", "object", "", {}, "GetObject", ("read:objects",)),
    ("GET", "object", "partNumber=2&versionId=null", {}, "GetObject", ("read:objects",)),
    ("GET", "object", "response-content-type=a", {}, "GetObject", ("read:objects",)),
    ("HEAD", "object", "", {}, "HeadObject", ("read:objects",)),
    ("PUT", "object", "", COPY, "CopyObject", ("write:objects", "read:objects")),
    ("PUT", "object", "", {}, "PutObject", ("write:objects",)),
    ("DELETE", "object", "", {}, "DeleteObject", ("delete:objects",)),
    ("DELETE", "object", "versionId=null", {}, "DeleteObject", ("delete:objects",)),
    # access-control subresources
    ("PUT", "bucket", "policy", {}, "PutBucketPolicy", ("write:buckets",)),
    ("GET", "bucket", "policy", {}, "GetBucketPolicy", ("read:buckets",)),
    ("DELETE", "bucket", "policy", {}, "DeleteBucketPolicy", ("write:buckets",)),
    ("GET", "bucket", "policyStatus", {}, "GetBucketPolicyStatus", ("read:buckets",)),
    ("GET", "bucket", "publicAccessBlock", {}, "GetPublicAccessBlock", ("read:buckets",)),
    ("PUT", "bucket", "publicAccessBlock", {}, "PutPublicAccessBlock", ("write:buckets",)),
    ("DELETE", "bucket", "publicAccessBlock", {}, "DeletePublicAccessBlock", ("write:buckets",)),
    ("GET", "bucket", "ownershipControls", {}, "GetBucketOwnershipControls", ("read:buckets",)),
    ("PUT", "bucket", "ownershipControls", {}, "PutBucketOwnershipControls", ("write:buckets",)),
    (
        "DELETE",
        "bucket",
        "ownershipControls",
        {},
        "DeleteBucketOwnershipControls",
        ("write:buckets",),
    ),
    # CORS (docs/cors.md)
    ("GET", "bucket", "cors", {}, "GetBucketCors", ("read:buckets",)),
    ("PUT", "bucket", "cors", {}, "PutBucketCors", ("write:buckets",)),
    ("DELETE", "bucket", "cors", {}, "DeleteBucketCors", ("write:buckets",)),
    # tagging, lifecycle, request payment
    ("GET", "bucket", "tagging", {}, "GetBucketTagging", ("read:buckets",)),
    ("PUT", "bucket", "tagging", {}, "PutBucketTagging", ("write:buckets",)),
    ("DELETE", "bucket", "tagging", {}, "DeleteBucketTagging", ("write:buckets",)),
    ("GET", "bucket", "lifecycle", {}, "GetBucketLifecycleConfiguration", ("read:buckets",)),
    ("PUT", "bucket", "lifecycle", {}, "PutBucketLifecycleConfiguration", ("write:buckets",)),
    ("DELETE", "bucket", "lifecycle", {}, "DeleteBucketLifecycle", ("write:buckets",)),
    ("GET", "bucket", "requestPayment", {}, "GetBucketRequestPayment", ("read:buckets",)),
    ("PUT", "bucket", "requestPayment", {}, "PutBucketRequestPayment", ("write:buckets",)),
    ("GET", "object", "tagging", {}, "GetObjectTagging", ("read:objects",)),
    ("GET", "object", "tagging&versionId=v", {}, "GetObjectTagging", ("read:objects",)),
    ("PUT", "object", "tagging", {}, "PutObjectTagging", ("write:objects",)),
    ("PUT", "object", "tagging", COPY, "PutObjectTagging", ("write:objects",)),
    ("DELETE", "object", "tagging", {}, "DeleteObjectTagging", ("write:objects",)),
    # configurations no bucket can hold: read as "not configured" (gateway/s3/unconfigured.py)
    ("GET", "bucket", "accelerate", {}, "GetBucketAccelerateConfiguration", ("read:buckets",)),
    ("GET", "bucket", "logging", {}, "GetBucketLogging", ("read:buckets",)),
    ("GET", "bucket", "notification", {}, "GetBucketNotificationConfiguration", ("read:buckets",)),
    ("PUT", "bucket", "logging", {}, "PutBucketLogging", ("write:buckets",)),
    (
        "PUT",
        "bucket",
        "notification",
        {},
        "PutBucketNotificationConfiguration",
        ("write:buckets",),
    ),
    ("GET", "bucket", "replication", {}, "GetBucketReplication", ("read:buckets",)),
    ("DELETE", "bucket", "replication", {}, "DeleteBucketReplication", ("write:buckets",)),
    ("GET", "bucket", "website", {}, "GetBucketWebsite", ("read:buckets",)),
    ("DELETE", "bucket", "website", {}, "DeleteBucketWebsite", ("write:buckets",)),
    ("GET", "bucket", "analytics", {}, "ListBucketAnalyticsConfigurations", ("read:buckets",)),
    (
        "GET",
        "bucket",
        "analytics&continuation-token=t",
        {},
        "ListBucketAnalyticsConfigurations",
        ("read:buckets",),
    ),
    ("GET", "bucket", "analytics&id=a", {}, "GetBucketAnalyticsConfiguration", ("read:buckets",)),
    (
        "DELETE",
        "bucket",
        "analytics&id=a",
        {},
        "DeleteBucketAnalyticsConfiguration",
        ("write:buckets",),
    ),
    ("GET", "bucket", "metrics", {}, "ListBucketMetricsConfigurations", ("read:buckets",)),
    (
        "GET",
        "bucket",
        "metrics&continuation-token=t",
        {},
        "ListBucketMetricsConfigurations",
        ("read:buckets",),
    ),
    ("GET", "bucket", "metrics&id=a", {}, "GetBucketMetricsConfiguration", ("read:buckets",)),
    (
        "DELETE",
        "bucket",
        "metrics&id=a",
        {},
        "DeleteBucketMetricsConfiguration",
        ("write:buckets",),
    ),
    ("GET", "bucket", "inventory", {}, "ListBucketInventoryConfigurations", ("read:buckets",)),
    (
        "GET",
        "bucket",
        "inventory&continuation-token=t",
        {},
        "ListBucketInventoryConfigurations",
        ("read:buckets",),
    ),
    ("GET", "bucket", "inventory&id=a", {}, "GetBucketInventoryConfiguration", ("read:buckets",)),
    (
        "DELETE",
        "bucket",
        "inventory&id=a",
        {},
        "DeleteBucketInventoryConfiguration",
        ("write:buckets",),
    ),
    (
        "GET",
        "bucket",
        "intelligent-tiering",
        {},
        "ListBucketIntelligentTieringConfigurations",
        ("read:buckets",),
    ),
    (
        "GET",
        "bucket",
        "intelligent-tiering&continuation-token=t",
        {},
        "ListBucketIntelligentTieringConfigurations",
        ("read:buckets",),
    ),
    (
        "GET",
        "bucket",
        "intelligent-tiering&id=a",
        {},
        "GetBucketIntelligentTieringConfiguration",
        ("read:buckets",),
    ),
    (
        "DELETE",
        "bucket",
        "intelligent-tiering&id=a",
        {},
        "DeleteBucketIntelligentTieringConfiguration",
        ("write:buckets",),
    ),
    # their writes, and subresources without an implementation, never fall through to the
    # plain operation
    ("PUT", "bucket", "website", {}, "PutBucketWebsite", ("write:buckets",)),
    ("PUT", "bucket", "analytics&id=a", {}, "PutBucketAnalytics", ("write:buckets",)),
    ("POST", "bucket", "notification", {}, "PostBucketNotification", ("write:buckets",)),
    ("DELETE", "bucket", "accelerate", {}, "DeleteBucketAccelerate", ("write:buckets",)),
    ("GET", "bucket", "metadataTable", {}, "GetBucketMetadataTable", ("read:buckets",)),
    ("GET", "bucket", "session", {}, "GetBucketSession", ("read:buckets",)),
    ("POST", "object", "restore", {}, "PostObjectRestore", ("write:objects",)),
    ("PUT", "object", "annotation", {}, "PutObjectAnnotation", ("write:objects",)),
    ("DELETE", "object", "annotation", {}, "DeleteObjectAnnotation", ("write:objects",)),
    ("PUT", "object", "encryption", {}, "PutObjectEncryption", ("write:objects",)),
    ("GET", "bucket", "abac", {}, "GetBucketAbac", ("read:buckets",)),
    (
        "DELETE",
        "bucket",
        "metadataConfiguration",
        {},
        "DeleteBucketMetadataConfiguration",
        ("write:buckets",),
    ),
    (
        "PUT",
        "bucket",
        "metadataJournalTable",
        {},
        "PutBucketMetadataJournalTable",
        ("write:buckets",),
    ),
    ("POST", "object", "select&select-type=2", {}, "PostObjectSelect", ("write:objects",)),
    ("PUT", "object", "retention", COPY, "PutObjectRetention", ("write:objects",)),
]


def _paths(target: str, query: str) -> list[tuple[str, str | None]]:
    """(request target, Host) pairs: path-style and virtual-hosted-style."""
    suffix = f"?{query}" if query else ""
    if target == "service":
        return [(f"/{suffix}", "localhost:7007"), (f"/{suffix}", "s3.example.com")]
    if target == "bucket":
        return [
            (f"/my-bucket{suffix}", "localhost:7007"),
            (f"/my-bucket/{suffix}", "localhost:7007"),
            (f"/{suffix}", "my-bucket.s3.example.com:7007"),
        ]
    return [
        (f"/my-bucket/dir/a%20key{suffix}", "localhost:7007"),
        (f"/dir/a%20key{suffix}", "my-bucket.s3.example.com"),
    ]


def _query(raw: str) -> dict[str, str]:
    pairs = [p.partition("=") for p in raw.split("&") if p]
    return {name: value for name, _, value in pairs}


@pytest.mark.parametrize(("method", "target", "query", "headers", "name", "scopes"), TABLE)
def test_request_shape_resolves_to_operation(
    method: str,
    target: str,
    query: str,
    headers: dict[str, str],
    name: str,
    scopes: tuple[str, ...],
) -> None:
    for request_target, host in _paths(target, query):
        address = parse_address(request_target, host, "s3.example.com")
        assert address.target.value == target, (request_target, host)
        if target != "service":
            assert address.bucket == "my-bucket"
        if target == "object":
            assert address.key == "dir/a key"
        op = resolve(method, address.target, _query(address.raw_query), headers)
        assert op is not None
        assert op.name == name
        assert op.scopes == scopes


def test_every_row_is_reachable_and_named_once() -> None:
    names = [op.name for op in OPERATIONS]
    assert len(names) == len(set(names))
    covered = {row[4] for row in TABLE}
    implemented = {op.name for op in OPERATIONS if op.implemented}
    assert implemented <= covered, sorted(implemented - covered)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_each_row_resolves_to_itself(op: Operation) -> None:
    query = _query("&".join(q if "=" in q else f"{q}=" for q in op.query))
    headers = {op.header: "/src/key"} if op.header else {}
    resolved = resolve(op.method, op.target, query, headers)
    assert resolved is op


def test_unknown_method_resolves_to_nothing() -> None:
    address = parse_address("/my-bucket/key", "localhost", None)
    assert resolve("PATCH", address.target, {}, {}) is None


@pytest.mark.parametrize(
    ("target", "query", "allow"),
    [
        (Target.BUCKET, "tagging", ["DELETE", "GET", "PUT"]),
        (Target.BUCKET, "versioning", ["GET", "PUT"]),
        (Target.BUCKET, "location", ["GET"]),
        (Target.BUCKET, "website", ["DELETE", "GET"]),  # PUT answers NotImplemented
        (Target.BUCKET, "analytics&id=a", ["DELETE", "GET"]),
        (Target.BUCKET, "metadataTable", []),
        (Target.OBJECT, "tagging", ["DELETE", "GET", "PUT"]),
        (Target.OBJECT, "uploadId=u", ["DELETE", "GET", "POST"]),  # PUT needs partNumber
        (Target.OBJECT, "torrent", []),
    ],
)
def test_a_head_naming_a_subresource_is_405_with_the_methods_served(
    target: Target, query: str, allow: list[str]
) -> None:
    """S3 has no HEAD form of any subresource: 405, Allow naming what the resource takes."""
    params = dict(entry.partition("=")[::2] for entry in query.split("&"))
    assert resolve("HEAD", target, params, {}) is None
    assert allowed_methods(target, params) == allow


def test_not_implemented_rows_are_marked() -> None:
    assert OPERATIONS_BY_NAME["GetBucketWebsite"].implemented
    assert not OPERATIONS_BY_NAME["PutBucketWebsite"].implemented
    assert not OPERATIONS_BY_NAME["GetBucketMetadataTable"].implemented
    assert OPERATIONS_BY_NAME["GetBucketLifecycleConfiguration"].implemented
    assert OPERATIONS_BY_NAME["GetObject"].implemented
    assert OPERATIONS_BY_NAME["PutObject"].streaming
    assert OPERATIONS_BY_NAME["UploadPart"].streaming
    assert not OPERATIONS_BY_NAME["CopyObject"].streaming


def test_raw_path_is_kept_and_decoded_once() -> None:
    address = parse_address("/b-k-t/a%252Fb/..//c%2B+d?x=1", "localhost", None)
    assert address.raw_path == "/b-k-t/a%252Fb/..//c%2B+d"
    assert address.key == "a%2Fb/..//c++d"
    assert address.raw_query == "x=1"


# The IAM action of each implemented operation, from AWS's "Actions, resources, and
# condition keys for Amazon S3" and each operation's API reference ("permissions").
ACTIONS_OF_IMPLEMENTED: dict[str, str] = {
    "ListBuckets": "s3:ListAllMyBuckets",
    "GetBucketLocation": "s3:GetBucketLocation",
    "GetBucketAcl": "s3:GetBucketAcl",
    "PutBucketAcl": "s3:PutBucketAcl",
    "GetBucketVersioning": "s3:GetBucketVersioning",
    "ListObjectVersions": "s3:ListBucketVersions",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "CreateBucket": "s3:CreateBucket",
    "DeleteBucket": "s3:DeleteBucket",
    "DeleteObjects": "s3:DeleteObject",
    "GetBucketPolicy": "s3:GetBucketPolicy",
    "PutBucketPolicy": "s3:PutBucketPolicy",
    "DeleteBucketPolicy": "s3:DeleteBucketPolicy",
    "GetBucketPolicyStatus": "s3:GetBucketPolicyStatus",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "GetBucketOwnershipControls": "s3:GetBucketOwnershipControls",
    "PutBucketOwnershipControls": "s3:PutBucketOwnershipControls",
    "DeleteBucketOwnershipControls": "s3:PutBucketOwnershipControls",
    "GetBucketTagging": "s3:GetBucketTagging",
    "PutBucketTagging": "s3:PutBucketTagging",
    "DeleteBucketTagging": "s3:PutBucketTagging",
    "GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
    "GetBucketRequestPayment": "s3:GetBucketRequestPayment",
    "PutBucketRequestPayment": "s3:PutBucketRequestPayment",
    "GetObjectTagging": "s3:GetObjectTagging",
    "PutObjectTagging": "s3:PutObjectTagging",
    "DeleteObjectTagging": "s3:DeleteObjectTagging",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPartCopy": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "ListParts": "s3:ListMultipartUploadParts",
    "GetObjectAcl": "s3:GetObjectAcl",
    "GetObjectAttributes": "s3:GetObjectAttributes",
    "PutObjectAcl": "s3:PutObjectAcl",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "CopyObject": "s3:PutObject",
    "PutObject": "s3:PutObject",
    "DeleteObject": "s3:DeleteObject",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "DeleteBucketEncryption": "s3:PutEncryptionConfiguration",
    "PutBucketVersioning": "s3:PutBucketVersioning",
    "GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
    "PutObjectLockConfiguration": "s3:PutBucketObjectLockConfiguration",
    "GetObjectRetention": "s3:GetObjectRetention",
    "PutObjectRetention": "s3:PutObjectRetention",
    "GetObjectLegalHold": "s3:GetObjectLegalHold",
    "PutObjectLegalHold": "s3:PutObjectLegalHold",
    "GetBucketCors": "s3:GetBucketCORS",
    "PutBucketCors": "s3:PutBucketCORS",
    "DeleteBucketCors": "s3:PutBucketCORS",
    "PostObject": "s3:PutObject",
    # Reads of configurations no bucket can hold, S3's deletes of them (DeleteBucket-
    # Replication and DeleteBucket*Configuration need the Put action, as in S3), and the
    # empty PUTs that are S3's way to turn logging and notifications off
    "GetBucketAccelerateConfiguration": "s3:GetAccelerateConfiguration",
    "GetBucketLogging": "s3:GetBucketLogging",
    "GetBucketNotificationConfiguration": "s3:GetBucketNotification",
    "PutBucketLogging": "s3:PutBucketLogging",
    "PutBucketNotificationConfiguration": "s3:PutBucketNotification",
    "GetBucketReplication": "s3:GetReplicationConfiguration",
    "DeleteBucketReplication": "s3:PutReplicationConfiguration",
    "GetBucketWebsite": "s3:GetBucketWebsite",
    "DeleteBucketWebsite": "s3:DeleteBucketWebsite",
    "ListBucketAnalyticsConfigurations": "s3:GetAnalyticsConfiguration",
    "GetBucketAnalyticsConfiguration": "s3:GetAnalyticsConfiguration",
    "DeleteBucketAnalyticsConfiguration": "s3:PutAnalyticsConfiguration",
    "ListBucketMetricsConfigurations": "s3:GetMetricsConfiguration",
    "GetBucketMetricsConfiguration": "s3:GetMetricsConfiguration",
    "DeleteBucketMetricsConfiguration": "s3:PutMetricsConfiguration",
    "ListBucketInventoryConfigurations": "s3:GetInventoryConfiguration",
    "GetBucketInventoryConfiguration": "s3:GetInventoryConfiguration",
    "DeleteBucketInventoryConfiguration": "s3:PutInventoryConfiguration",
    "ListBucketIntelligentTieringConfigurations": "s3:GetIntelligentTieringConfiguration",
    "GetBucketIntelligentTieringConfiguration": "s3:GetIntelligentTieringConfiguration",
    "DeleteBucketIntelligentTieringConfiguration": "s3:PutIntelligentTieringConfiguration",
}


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_every_row_names_a_known_action(op: Operation) -> None:
    assert op.action in ACTIONS, f"{op.name}: {op.action!r} is not in gateway.authz.actions"
    kind = ACTIONS[op.action]
    if op.target is Target.SERVICE:
        assert kind is ResourceKind.NONE
    elif op.target is Target.OBJECT:
        assert kind is ResourceKind.OBJECT
    elif op.name in {"DeleteObjects", "PostObject"}:
        assert kind is ResourceKind.OBJECT  # decided per key
    else:
        assert kind is ResourceKind.BUCKET


def test_implemented_rows_name_aws_actions() -> None:
    implemented = {op.name: op.action for op in OPERATIONS if op.implemented}
    assert implemented == ACTIONS_OF_IMPLEMENTED


def test_subresource_rows_name_their_configuration_actions() -> None:
    by_name = OPERATIONS_BY_NAME
    assert by_name["GetBucketPolicy"].action == "s3:GetBucketPolicy"
    assert by_name["PutBucketPolicy"].action == "s3:PutBucketPolicy"
    assert by_name["DeleteBucketPolicy"].action == "s3:DeleteBucketPolicy"
    assert by_name["DeleteBucketCors"].action == "s3:PutBucketCORS"
    assert by_name["DeletePublicAccessBlock"].action == "s3:PutBucketPublicAccessBlock"
    assert by_name["GetBucketPolicyStatus"].action == "s3:GetBucketPolicyStatus"
    assert by_name["DeleteBucketOwnershipControls"].action == "s3:PutBucketOwnershipControls"
    assert by_name["GetObjectTagging"].action == "s3:GetObjectTagging"
    assert by_name["DeleteObjectTagging"].action == "s3:DeleteObjectTagging"
    assert by_name["PostObjectRestore"].action == "s3:RestoreObject"
    assert by_name["GetBucketNotificationConfiguration"].action == "s3:GetBucketNotification"
    assert by_name["PutBucketNotificationConfiguration"].action == "s3:PutBucketNotification"
    assert by_name["PutBucketLogging"].action == "s3:PutBucketLogging"
    assert by_name["DeleteBucketWebsite"].action == "s3:DeleteBucketWebsite"
    assert by_name["DeleteBucketReplication"].action == "s3:PutReplicationConfiguration"
    assert (
        by_name["DeleteBucketMetadataTable"].action == "s3:DeleteBucketMetadataTableConfiguration"
    )
