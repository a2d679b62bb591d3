"""The one operation table: how each S3 operation is recognised and the scopes it needs.

Routing and authorization both read ``OPERATIONS``; there is no second map. A request
resolves to the first row whose method, target, required query parameters and required
header all match and which names every *subresource* present in the query. Subresources
without an implementation resolve to rows answering ``NotImplemented`` (501), so such a
request never falls through to Get/PutObject.

Bucket configurations no bucket here can hold (``UNCONFIGURABLE``: website, replication,
logging, notification, accelerate, analytics, metrics, inventory, intelligent-tiering) are
read as S3 answers for a bucket without one, the truth here (``gateway/s3/unconfigured.py``);
only their writes answer ``NotImplemented``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from enum import Enum

from gateway.scopes import (
    DELETE_OBJECTS,
    READ_BUCKETS,
    READ_OBJECTS,
    WRITE_BUCKETS,
    WRITE_OBJECTS,
)

__all__ = [
    "COPY",
    "OPERATIONS",
    "OPERATIONS_BY_NAME",
    "PARAMETERS",
    "SUBRESOURCES",
    "UNCONFIGURABLE",
    "UNCONFIGURED",
    "Operation",
    "Target",
    "Unconfigurable",
    "allowed_methods",
    "resolve",
    "unknown_subresource",
]


class Target(Enum):
    SERVICE = "service"
    BUCKET = "bucket"
    OBJECT = "object"


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    method: str
    target: Target
    query: tuple[str, ...] = ()
    """Required query parameters; ``name=value`` requires that value."""
    header: str | None = None
    """A request header that must be present (lower-case)."""
    scopes: tuple[str, ...] = ()
    """Every scope listed is required."""
    streaming: bool = False
    """Whether aws-chunked (``STREAMING-*``) bodies are accepted."""
    implemented: bool = True
    _: KW_ONLY
    action: str
    """The IAM action authorization checks (``s3:GetObject``; AWS's "Actions, resources,
    and condition keys for Amazon S3"). A request naming a version needs the
    ``...Version`` action instead (``gateway.authz.versioned_action``); CopyObject and
    UploadPartCopy name the destination's, the source is read as ``s3:GetObject``."""
    digest: bool = False
    """Whether S3 requires the body's digest: ``Content-MD5`` or an ``x-amz-checksum-*``
    header, else 400 ``InvalidRequest`` before the body is read (``context.read_xml``)."""


# Query parameters that select a different resource: a request carrying one must match a
# row that names it.
SUBRESOURCES: frozenset[str] = frozenset(
    {
        "abac",
        "accelerate",
        "acl",
        "analytics",
        "annotation",
        "attributes",
        "cors",
        "delete",
        "encryption",
        "intelligent-tiering",
        "inventory",
        "legal-hold",
        "lifecycle",
        "location",
        "logging",
        "metadataAnnotationTable",
        "metadataConfiguration",
        "metadataInventoryTable",
        "metadataJournalTable",
        "metadataTable",
        "metrics",
        "notification",
        "object-lock",
        "ownershipControls",
        "policy",
        "policyStatus",
        "publicAccessBlock",
        "renameObject",
        "replication",
        "requestPayment",
        "restore",
        "retention",
        "select",
        "session",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versioning",
        "versions",
        "website",
    }
)

# The query parameters S3's operations take besides subresources (each with a value: a
# name, a marker, a number): botocore's S3 model's query-string members, the listing and
# select selectors, the SDKs' ``x-id``, and presigned URLs' authentication. A parameter
# outside both tables with no value is taken for a subresource a newer SDK names
# (``unknown_subresource``); ``x-amz-*`` names are headers hoisted by presigners.
PARAMETERS: frozenset[str] = frozenset(
    {
        "annotation-prefix",
        "annotationName",
        "bucket-region",
        "continuation-token",
        "delimiter",
        "encoding-type",
        "fetch-owner",
        "id",
        "key-marker",
        "list-type",
        "marker",
        "max-annotation-results",
        "max-buckets",
        "max-directory-buckets",
        "max-keys",
        "max-parts",
        "max-uploads",
        "part-number-marker",
        "partNumber",
        "prefix",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
        "select-type",
        "start-after",
        "upload-id-marker",
        "version-id-marker",
        "versionId",
        "x-id",
        # presigned URLs: SigV4 (X-Amz-*, below) and SigV2 (refused when verified)
        "AWSAccessKeyId",
        "Expires",
        "Signature",
    }
)


def unknown_subresource(query: Mapping[str, str]) -> str | None:
    """The first parameter of ``query`` that names a subresource the gateway does not
    know: a name in neither SUBRESOURCES nor PARAMETERS, given without a value, as S3's
    subresources are (``?annotation``, ``?abac``). Routing ignores parameters it does not
    know, as S3 does; one of these would route the request to the object's or bucket's
    own operation (an annotation's PUT would overwrite the object, a metadata
    configuration's DELETE delete the bucket), so it is refused instead. One pass over the
    query's names; a request without a query costs nothing."""
    for name, value in query.items():
        if (
            not value
            and name not in SUBRESOURCES
            and name not in PARAMETERS
            and name[:6].lower() != "x-amz-"
        ):
            return name
    return None


SVC, BKT, OBJ = Target.SERVICE, Target.BUCKET, Target.OBJECT
RO, WO, DO = (READ_OBJECTS,), (WRITE_OBJECTS,), (DELETE_OBJECTS,)
RB, WB = (READ_BUCKETS,), (WRITE_BUCKETS,)
COPY = "x-amz-copy-source"


# The IAM actions of a subresource's read (GET/HEAD), write (PUT/POST) and DELETE
# requests. Deleting a configuration needs its Put action in S3 (DeleteBucketCors:
# s3:PutBucketCORS) unless S3 has a Delete action for it (the third, else None).
Actions = tuple[str, str, str | None]


@dataclass(frozen=True, slots=True)
class Unconfigurable:
    """A bucket configuration no bucket here can hold: nothing sets it (its writes answer
    ``NotImplemented``), so a read answers what S3 answers for a bucket without one, which
    is the truth, and so does S3's DELETE of it where S3 has one (nothing to delete).
    Tools that read every subresource (Terraform, CDK, S3 browsers) go on instead of
    stopping at a 501."""

    read: str
    """AWS's name of the read (GET)."""
    actions: Actions
    _: KW_ONLY
    empty: str | None = None
    """The root element of the empty document S3 answers (200) ..."""
    missing: str | None = None
    """... or the 404 code S3 answers instead."""
    delete: str | None = None
    """AWS's DELETE of the configuration, when S3 has one: answered as deleting nothing
    (204; for configurations kept by id, ``NoSuchConfiguration``)."""
    by_id: str | None = None
    """Configurations kept by ``id`` (analytics, ...): AWS's name of the read of one (any
    id is ``NoSuchConfiguration``). ``read`` is then the list, ``empty`` its root, and
    ``delete`` needs an ``id``."""
    cleared_by: str | None = None
    """AWS's name of the PUT whose empty document (root ``empty``, no children) is how S3
    turns the configuration off, for configurations S3 has no DELETE of (logging,
    notification): that document asks for the state every bucket here is in, so it is
    accepted (200) like S3's DELETEs above; any other document is ``NotImplemented``."""


UNCONFIGURABLE: dict[str, Unconfigurable] = {
    "accelerate": Unconfigurable(
        "GetBucketAccelerateConfiguration",
        ("s3:GetAccelerateConfiguration", "s3:PutAccelerateConfiguration", None),
        empty="AccelerateConfiguration",
    ),
    "analytics": Unconfigurable(
        "ListBucketAnalyticsConfigurations",
        ("s3:GetAnalyticsConfiguration", "s3:PutAnalyticsConfiguration", None),
        empty="ListBucketAnalyticsConfigurationResult",
        by_id="GetBucketAnalyticsConfiguration",
        delete="DeleteBucketAnalyticsConfiguration",
    ),
    "intelligent-tiering": Unconfigurable(
        "ListBucketIntelligentTieringConfigurations",
        ("s3:GetIntelligentTieringConfiguration", "s3:PutIntelligentTieringConfiguration", None),
        empty="ListBucketIntelligentTieringConfigurationsOutput",
        by_id="GetBucketIntelligentTieringConfiguration",
        delete="DeleteBucketIntelligentTieringConfiguration",
    ),
    "inventory": Unconfigurable(
        "ListBucketInventoryConfigurations",
        ("s3:GetInventoryConfiguration", "s3:PutInventoryConfiguration", None),
        empty="ListInventoryConfigurationsResult",
        by_id="GetBucketInventoryConfiguration",
        delete="DeleteBucketInventoryConfiguration",
    ),
    "logging": Unconfigurable(
        "GetBucketLogging",
        ("s3:GetBucketLogging", "s3:PutBucketLogging", None),
        empty="BucketLoggingStatus",
        cleared_by="PutBucketLogging",
    ),
    "metrics": Unconfigurable(
        "ListBucketMetricsConfigurations",
        ("s3:GetMetricsConfiguration", "s3:PutMetricsConfiguration", None),
        empty="ListMetricsConfigurationsResult",
        by_id="GetBucketMetricsConfiguration",
        delete="DeleteBucketMetricsConfiguration",
    ),
    "notification": Unconfigurable(
        "GetBucketNotificationConfiguration",
        ("s3:GetBucketNotification", "s3:PutBucketNotification", None),
        empty="NotificationConfiguration",
        cleared_by="PutBucketNotificationConfiguration",
    ),
    "replication": Unconfigurable(
        "GetBucketReplication",
        ("s3:GetReplicationConfiguration", "s3:PutReplicationConfiguration", None),
        missing="ReplicationConfigurationNotFoundError",
        delete="DeleteBucketReplication",
    ),
    "website": Unconfigurable(
        "GetBucketWebsite",
        ("s3:GetBucketWebsite", "s3:PutBucketWebsite", "s3:DeleteBucketWebsite"),
        missing="NoSuchWebsiteConfiguration",
        delete="DeleteBucketWebsite",
    ),
}
"""Bucket configurations answered "not configured" (docs/architecture.md)."""

# Subresources answered NotImplemented whatever the method: S3 Metadata tables (both
# generations of their API), attribute-based access control and directory buckets'
# sessions are not "configurations a bucket lacks"; an object's annotations, encryption
# update, restore, select, torrent and rename act on the object. Every subresource of
# botocore's S3 model is in SUBRESOURCES (tests/security/test_unknown_subresources.py).
_METADATA_TABLE: Actions = (
    "s3:GetBucketMetadataTableConfiguration",
    "s3:CreateBucketMetadataTableConfiguration",
    "s3:DeleteBucketMetadataTableConfiguration",
)
_BUCKET_UNSUPPORTED: dict[str, Actions] = {
    "abac": ("s3:GetBucketAbac", "s3:PutBucketAbac", None),
    "metadataAnnotationTable": (
        "s3:GetBucketMetadataTableConfiguration",
        "s3:UpdateBucketMetadataAnnotationTableConfiguration",
        None,
    ),
    "metadataConfiguration": _METADATA_TABLE,
    "metadataInventoryTable": (
        "s3:GetBucketMetadataTableConfiguration",
        "s3:UpdateBucketMetadataInventoryTableConfiguration",
        None,
    ),
    "metadataJournalTable": (
        "s3:GetBucketMetadataTableConfiguration",
        "s3:UpdateBucketMetadataJournalTableConfiguration",
        None,
    ),
    "metadataTable": _METADATA_TABLE,
    "session": ("s3express:CreateSession", "s3express:CreateSession", None),
}
_OBJECT_UNSUPPORTED: dict[str, Actions] = {
    "annotation": (
        "s3:GetObjectAnnotation",
        "s3:PutObjectAnnotation",
        "s3:DeleteObjectAnnotation",
    ),
    # UpdateObjectEncryption (PUT): it changes an object's encryption to SSE-KMS only
    "encryption": ("s3:GetObject", "s3:UpdateObjectEncryption", None),
    "renameObject": ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
    "restore": ("s3:GetObject", "s3:RestoreObject", None),
    "select": ("s3:GetObject", "s3:GetObject", None),  # SelectObjectContent reads the object
    "torrent": ("s3:GetObjectTorrent", "s3:PutObject", None),
}
_READS = frozenset({"GET", "HEAD"})


def _action(method: str, actions: Actions) -> str:
    read_action, write_action, delete_action = actions
    if method in _READS:
        return read_action
    if method == "DELETE":
        return delete_action or write_action
    return write_action


def _not_implemented(target: Target, sub: str, method: str, actions: Actions) -> Operation:
    """The row of one method of a subresource answered NotImplemented."""
    read, write = (RB, WB) if target is BKT else (RO, WO)
    label = "".join(
        part[0].upper() + part[1:] for part in sub.split("-")
    )  # metadataTable -> MetadataTable
    return Operation(
        f"{method.capitalize()}{'Bucket' if target is BKT else 'Object'}{label}",
        method,
        target,
        (sub,),
        scopes=read if method in _READS else write,
        implemented=False,
        action=_action(method, actions),
    )


def _unsupported(target: Target, subresources: Mapping[str, Actions]) -> list[Operation]:
    """Rows for subresources we answer with NotImplemented, read or write by method."""
    return [
        _not_implemented(target, sub, method, actions)
        for sub, actions in subresources.items()
        for method in ("GET", "PUT", "POST", "DELETE")
    ]


def _unconfigurable(subresources: Mapping[str, Unconfigurable]) -> list[Operation]:
    """Rows for configurations no bucket can hold: reads (and S3's DELETE, where it has
    one, or the PUT of the empty document that turns it off) answer "not configured";
    other writes NotImplemented. A read naming an ``id`` comes first: ``resolve`` takes
    the first row that matches. No HEAD rows: S3 answers a HEAD naming a subresource
    ``405 MethodNotAllowed``, as the gateway does for every one."""
    rows = []
    for sub, entry in subresources.items():
        read_action = _action("GET", entry.actions)
        for name, query in ((entry.by_id, (sub, "id")), (entry.read, (sub,))):
            if name is not None:
                rows.append(Operation(name, "GET", BKT, query, scopes=RB, action=read_action))
        rows.append(_not_implemented(BKT, sub, "POST", entry.actions))
        for method, name in (("PUT", entry.cleared_by), ("DELETE", entry.delete)):
            if name is None:
                rows.append(_not_implemented(BKT, sub, method, entry.actions))
            else:
                action = _action(method, entry.actions)
                rows.append(Operation(name, method, BKT, (sub,), scopes=WB, action=action))
    return rows


UNCONFIGURED: tuple[Operation, ...] = tuple(_unconfigurable(UNCONFIGURABLE))
"""The rows of ``UNCONFIGURABLE``: the implemented ones are ``gateway/s3/unconfigured.py``'s."""


OPERATIONS: tuple[Operation, ...] = (
    # service
    Operation("ListBuckets", "GET", SVC, scopes=RB, action="s3:ListAllMyBuckets"),
    # buckets
    Operation(
        "GetBucketLocation", "GET", BKT, ("location",), scopes=RB, action="s3:GetBucketLocation"
    ),
    Operation("GetBucketAcl", "GET", BKT, ("acl",), scopes=RB, action="s3:GetBucketAcl"),
    Operation(
        "GetBucketEncryption",
        "GET",
        BKT,
        ("encryption",),
        scopes=RB,
        action="s3:GetEncryptionConfiguration",
    ),
    Operation(
        "PutBucketEncryption",
        "PUT",
        BKT,
        ("encryption",),
        scopes=WB,
        action="s3:PutEncryptionConfiguration",
    ),
    # S3 has no Delete action for it: DeleteBucketEncryption needs the Put action
    Operation(
        "DeleteBucketEncryption",
        "DELETE",
        BKT,
        ("encryption",),
        scopes=WB,
        action="s3:PutEncryptionConfiguration",
    ),
    Operation("PutBucketAcl", "PUT", BKT, ("acl",), scopes=WB, action="s3:PutBucketAcl"),
    Operation(
        "GetBucketVersioning",
        "GET",
        BKT,
        ("versioning",),
        scopes=RB,
        action="s3:GetBucketVersioning",
    ),
    Operation(
        "PutBucketVersioning",
        "PUT",
        BKT,
        ("versioning",),
        scopes=WB,
        action="s3:PutBucketVersioning",
    ),
    Operation(
        "GetObjectLockConfiguration",
        "GET",
        BKT,
        ("object-lock",),
        scopes=RB,
        action="s3:GetBucketObjectLockConfiguration",
    ),
    Operation(
        "PutObjectLockConfiguration",
        "PUT",
        BKT,
        ("object-lock",),
        scopes=WB,
        action="s3:PutBucketObjectLockConfiguration",
        digest=True,
    ),
    Operation(
        "ListObjectVersions", "GET", BKT, ("versions",), scopes=RO, action="s3:ListBucketVersions"
    ),
    Operation(
        "ListMultipartUploads",
        "GET",
        BKT,
        ("uploads",),
        scopes=RO,
        action="s3:ListBucketMultipartUploads",
    ),
    Operation("ListObjectsV2", "GET", BKT, ("list-type=2",), scopes=RO, action="s3:ListBucket"),
    Operation("ListObjects", "GET", BKT, scopes=RO, action="s3:ListBucket"),
    Operation("HeadBucket", "HEAD", BKT, scopes=RB, action="s3:ListBucket"),
    Operation("CreateBucket", "PUT", BKT, scopes=WB, action="s3:CreateBucket"),
    Operation("DeleteBucket", "DELETE", BKT, scopes=WB, action="s3:DeleteBucket"),
    Operation(
        "DeleteObjects", "POST", BKT, ("delete",), scopes=DO, action="s3:DeleteObject", digest=True
    ),
    # buckets: access control (docs/access-control.md)
    Operation("GetBucketPolicy", "GET", BKT, ("policy",), scopes=RB, action="s3:GetBucketPolicy"),
    Operation("PutBucketPolicy", "PUT", BKT, ("policy",), scopes=WB, action="s3:PutBucketPolicy"),
    Operation(
        "DeleteBucketPolicy", "DELETE", BKT, ("policy",), scopes=WB, action="s3:DeleteBucketPolicy"
    ),
    Operation(
        "GetBucketPolicyStatus",
        "GET",
        BKT,
        ("policyStatus",),
        scopes=RB,
        action="s3:GetBucketPolicyStatus",
    ),
    Operation(
        "GetPublicAccessBlock",
        "GET",
        BKT,
        ("publicAccessBlock",),
        scopes=RB,
        action="s3:GetBucketPublicAccessBlock",
    ),
    Operation(
        "PutPublicAccessBlock",
        "PUT",
        BKT,
        ("publicAccessBlock",),
        scopes=WB,
        action="s3:PutBucketPublicAccessBlock",
    ),
    Operation(
        "DeletePublicAccessBlock",
        "DELETE",
        BKT,
        ("publicAccessBlock",),
        scopes=WB,
        action="s3:PutBucketPublicAccessBlock",
    ),
    Operation(
        "GetBucketOwnershipControls",
        "GET",
        BKT,
        ("ownershipControls",),
        scopes=RB,
        action="s3:GetBucketOwnershipControls",
    ),
    Operation(
        "PutBucketOwnershipControls",
        "PUT",
        BKT,
        ("ownershipControls",),
        scopes=WB,
        action="s3:PutBucketOwnershipControls",
    ),
    Operation(
        "DeleteBucketOwnershipControls",
        "DELETE",
        BKT,
        ("ownershipControls",),
        scopes=WB,
        action="s3:PutBucketOwnershipControls",
    ),
    # buckets: tagging, lifecycle, request payment (docs/lifecycle.md)
    Operation(
        "GetBucketTagging", "GET", BKT, ("tagging",), scopes=RB, action="s3:GetBucketTagging"
    ),
    Operation(
        "PutBucketTagging",
        "PUT",
        BKT,
        ("tagging",),
        scopes=WB,
        action="s3:PutBucketTagging",
        digest=True,
    ),
    # S3 has no Delete action for these: deleting needs the Put action
    Operation(
        "DeleteBucketTagging", "DELETE", BKT, ("tagging",), scopes=WB, action="s3:PutBucketTagging"
    ),
    Operation(
        "GetBucketLifecycleConfiguration",
        "GET",
        BKT,
        ("lifecycle",),
        scopes=RB,
        action="s3:GetLifecycleConfiguration",
    ),
    Operation(
        "PutBucketLifecycleConfiguration",
        "PUT",
        BKT,
        ("lifecycle",),
        scopes=WB,
        action="s3:PutLifecycleConfiguration",
        digest=True,
    ),
    Operation(
        "DeleteBucketLifecycle",
        "DELETE",
        BKT,
        ("lifecycle",),
        scopes=WB,
        action="s3:PutLifecycleConfiguration",
    ),
    Operation(
        "GetBucketRequestPayment",
        "GET",
        BKT,
        ("requestPayment",),
        scopes=RB,
        action="s3:GetBucketRequestPayment",
    ),
    Operation(
        "PutBucketRequestPayment",
        "PUT",
        BKT,
        ("requestPayment",),
        scopes=WB,
        action="s3:PutBucketRequestPayment",
    ),
    # buckets: CORS (docs/cors.md); S3 has no Delete action for it
    Operation("GetBucketCors", "GET", BKT, ("cors",), scopes=RB, action="s3:GetBucketCORS"),
    Operation(
        "PutBucketCors", "PUT", BKT, ("cors",), scopes=WB, action="s3:PutBucketCORS", digest=True
    ),
    Operation("DeleteBucketCors", "DELETE", BKT, ("cors",), scopes=WB, action="s3:PutBucketCORS"),
    # browser form uploads (docs/cors.md): authenticated by the form's own fields
    Operation("PostObject", "POST", BKT, scopes=WO, action="s3:PutObject"),
    *UNCONFIGURED,
    *_unsupported(BKT, _BUCKET_UNSUPPORTED),
    # objects: multipart
    Operation("CreateMultipartUpload", "POST", OBJ, ("uploads",), scopes=WO, action="s3:PutObject"),
    Operation(
        "UploadPartCopy",
        "PUT",
        OBJ,
        ("partNumber", "uploadId"),
        COPY,
        scopes=(*WO, *RO),
        action="s3:PutObject",
    ),
    Operation(
        "UploadPart",
        "PUT",
        OBJ,
        ("partNumber", "uploadId"),
        scopes=WO,
        streaming=True,
        action="s3:PutObject",
    ),
    Operation(
        "CompleteMultipartUpload", "POST", OBJ, ("uploadId",), scopes=WO, action="s3:PutObject"
    ),
    Operation(
        "AbortMultipartUpload",
        "DELETE",
        OBJ,
        ("uploadId",),
        scopes=WO,
        action="s3:AbortMultipartUpload",
    ),
    Operation(
        "ListParts", "GET", OBJ, ("uploadId",), scopes=RO, action="s3:ListMultipartUploadParts"
    ),
    # objects: attributes (gateway/s3/attributes.py)
    Operation(
        "GetObjectAttributes",
        "GET",
        OBJ,
        ("attributes",),
        scopes=RO,
        action="s3:GetObjectAttributes",
    ),
    # objects: ACLs
    Operation("GetObjectAcl", "GET", OBJ, ("acl",), scopes=RO, action="s3:GetObjectAcl"),
    Operation("PutObjectAcl", "PUT", OBJ, ("acl",), scopes=WO, action="s3:PutObjectAcl"),
    # objects: Object Lock
    Operation(
        "GetObjectRetention", "GET", OBJ, ("retention",), scopes=RO, action="s3:GetObjectRetention"
    ),
    Operation(
        "PutObjectRetention",
        "PUT",
        OBJ,
        ("retention",),
        scopes=WO,
        action="s3:PutObjectRetention",
        digest=True,
    ),
    Operation(
        "GetObjectLegalHold", "GET", OBJ, ("legal-hold",), scopes=RO, action="s3:GetObjectLegalHold"
    ),
    Operation(
        "PutObjectLegalHold",
        "PUT",
        OBJ,
        ("legal-hold",),
        scopes=WO,
        action="s3:PutObjectLegalHold",
        digest=True,
    ),
    # objects: tagging
    Operation(
        "GetObjectTagging", "GET", OBJ, ("tagging",), scopes=RO, action="s3:GetObjectTagging"
    ),
    Operation(
        "PutObjectTagging", "PUT", OBJ, ("tagging",), scopes=WO, action="s3:PutObjectTagging"
    ),
    Operation(
        "DeleteObjectTagging",
        "DELETE",
        OBJ,
        ("tagging",),
        scopes=WO,
        action="s3:DeleteObjectTagging",
    ),
    # objects
    Operation("GetObject", "GET", OBJ, scopes=RO, action="s3:GetObject"),
    Operation("HeadObject", "HEAD", OBJ, scopes=RO, action="s3:GetObject"),
    Operation("CopyObject", "PUT", OBJ, (), COPY, scopes=(*WO, *RO), action="s3:PutObject"),
    Operation("PutObject", "PUT", OBJ, scopes=WO, streaming=True, action="s3:PutObject"),
    Operation("DeleteObject", "DELETE", OBJ, scopes=DO, action="s3:DeleteObject"),
    *_unsupported(OBJ, _OBJECT_UNSUPPORTED),
)


def _query_matches(required: tuple[tuple[str, str, bool], ...], query: Mapping[str, str]) -> bool:
    for name, value, has_value in required:
        found = query.get(name)
        if found is None or (has_value and found != value):
            return False
    return True


@dataclass(frozen=True, slots=True)
class _Row:
    """An operation with what ``resolve`` tests, worked out once."""

    operation: Operation
    names: frozenset[str]
    """The query parameter names the row mentions."""
    required: tuple[tuple[str, str, bool], ...]
    """(name, value, whether a value is required) of each of its query entries."""


def _row(operation: Operation) -> _Row:
    required = []
    for entry in operation.query:
        name, eq, value = entry.partition("=")
        required.append((name, value, bool(eq)))
    return _Row(operation, frozenset(name for name, _, _ in required), tuple(required))


def resolve(
    method: str, target: Target, query: Mapping[str, str], headers: Mapping[str, str]
) -> Operation | None:
    """The operation a request names, or None (the caller answers MethodNotAllowed).
    Rows are tried in table order among those of the request's target and method."""
    present = SUBRESOURCES.intersection(query) if query else frozenset()
    for row in _ROWS_BY_TARGET_METHOD.get((target, method), ()):
        if present and not present.issubset(row.names):
            continue
        if row.required and (not query or not _query_matches(row.required, query)):
            continue
        operation = row.operation
        if operation.header is not None and operation.header not in headers:
            continue
        return operation
    return None


def allowed_methods(target: Target, query: Mapping[str, str]) -> list[str]:
    """The methods the gateway serves for this target and these subresources (what a
    405's ``Allow`` header names, as S3's does), whatever headers they would also need.
    Rows answering ``NotImplemented`` serve nothing."""
    present = SUBRESOURCES.intersection(query) if query else frozenset()
    return sorted(
        method
        for (row_target, method), rows in _ROWS_BY_TARGET_METHOD.items()
        if row_target is target
        and any(
            row.operation.implemented
            and present.issubset(row.names)
            and (not row.required or (query and _query_matches(row.required, query)))
            for row in rows
        )
    )


def _index(operations: tuple[Operation, ...]) -> dict[tuple[Target, str], tuple[_Row, ...]]:
    """The table's rows by (target, method), each group in table order."""
    groups: dict[tuple[Target, str], list[_Row]] = {}
    for operation in operations:
        groups.setdefault((operation.target, operation.method), []).append(_row(operation))
    return {key: tuple(rows) for key, rows in groups.items()}


_ROWS_BY_TARGET_METHOD = _index(OPERATIONS)
OPERATIONS_BY_NAME: dict[str, Operation] = {r.name: r for r in OPERATIONS}
