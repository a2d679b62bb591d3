"""The one operation table: how each S3 operation is recognised and the scopes it needs.

Routing and authorization both read ``OPERATIONS``; there is no second map. A request
resolves to the first row whose method, target, required query parameters and required
header all match and which names every *subresource* present in the query. Subresources
without an implementation resolve to rows answering ``NotImplemented`` (501), so such a
request never falls through to Get/PutObject.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from gateway.auth.scopes import (
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
    "SUBRESOURCES",
    "Operation",
    "Target",
    "resolve",
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


# Query parameters that select a different resource: a request carrying one must match a
# row that names it.
SUBRESOURCES: frozenset[str] = frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
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

SVC, BKT, OBJ = Target.SERVICE, Target.BUCKET, Target.OBJECT
RO, WO, DO = (READ_OBJECTS,), (WRITE_OBJECTS,), (DELETE_OBJECTS,)
RB, WB = (READ_BUCKETS,), (WRITE_BUCKETS,)
COPY = "x-amz-copy-source"


def _unsupported(target: Target, *subresources: str) -> list[Operation]:
    """Rows for subresources we answer with NotImplemented, read or write by method."""
    read, write = (RB, WB) if target is BKT else (RO, WO)
    rows = []
    for sub in subresources:
        label = "".join(part.capitalize() for part in sub.replace("-", " ").split())
        for method in ("GET", "HEAD", "PUT", "POST", "DELETE"):
            rows.append(
                Operation(
                    f"{method.capitalize()}{'Bucket' if target is BKT else 'Object'}{label}",
                    method,
                    target,
                    (sub,),
                    scopes=read if method in {"GET", "HEAD"} else write,
                    implemented=False,
                )
            )
    return rows


OPERATIONS: tuple[Operation, ...] = (
    # service
    Operation("ListBuckets", "GET", SVC, scopes=RB),
    # buckets
    Operation("GetBucketLocation", "GET", BKT, ("location",), scopes=RB),
    Operation("GetBucketAcl", "GET", BKT, ("acl",), scopes=RB),
    Operation("PutBucketAcl", "PUT", BKT, ("acl",), scopes=WB),
    Operation("GetBucketVersioning", "GET", BKT, ("versioning",), scopes=RB),
    Operation("PutBucketVersioning", "PUT", BKT, ("versioning",), scopes=WB),
    Operation("GetObjectLockConfiguration", "GET", BKT, ("object-lock",), scopes=RB),
    Operation("PutObjectLockConfiguration", "PUT", BKT, ("object-lock",), scopes=WB),
    Operation("ListObjectVersions", "GET", BKT, ("versions",), scopes=RO),
    Operation("ListMultipartUploads", "GET", BKT, ("uploads",), scopes=RO),
    Operation("ListObjectsV2", "GET", BKT, ("list-type=2",), scopes=RO),
    Operation("ListObjects", "GET", BKT, scopes=RO),
    Operation("HeadBucket", "HEAD", BKT, scopes=RB),
    Operation("CreateBucket", "PUT", BKT, scopes=WB),
    Operation("DeleteBucket", "DELETE", BKT, scopes=WB),
    Operation("DeleteObjects", "POST", BKT, ("delete",), scopes=DO),
    Operation("PostObject", "POST", BKT, scopes=WO, implemented=False),
    *_unsupported(
        BKT,
        "accelerate",
        "analytics",
        "cors",
        "encryption",
        "intelligent-tiering",
        "inventory",
        "lifecycle",
        "logging",
        "metadataTable",
        "metrics",
        "notification",
        "ownershipControls",
        "policy",
        "policyStatus",
        "publicAccessBlock",
        "replication",
        "requestPayment",
        "session",
        "tagging",
        "website",
    ),
    # objects: multipart
    Operation("CreateMultipartUpload", "POST", OBJ, ("uploads",), scopes=WO),
    Operation("UploadPartCopy", "PUT", OBJ, ("partNumber", "uploadId"), COPY, scopes=(*WO, *RO)),
    Operation("UploadPart", "PUT", OBJ, ("partNumber", "uploadId"), scopes=WO, streaming=True),
    Operation("CompleteMultipartUpload", "POST", OBJ, ("uploadId",), scopes=WO),
    Operation("AbortMultipartUpload", "DELETE", OBJ, ("uploadId",), scopes=WO),
    Operation("ListParts", "GET", OBJ, ("uploadId",), scopes=RO),
    # objects: ACLs
    Operation("GetObjectAcl", "GET", OBJ, ("acl",), scopes=RO),
    Operation("PutObjectAcl", "PUT", OBJ, ("acl",), scopes=WO),
    # objects: Object Lock
    Operation("GetObjectRetention", "GET", OBJ, ("retention",), scopes=RO),
    Operation("PutObjectRetention", "PUT", OBJ, ("retention",), scopes=WO),
    Operation("GetObjectLegalHold", "GET", OBJ, ("legal-hold",), scopes=RO),
    Operation("PutObjectLegalHold", "PUT", OBJ, ("legal-hold",), scopes=WO),
    # objects
    Operation("GetObject", "GET", OBJ, scopes=RO),
    Operation("HeadObject", "HEAD", OBJ, scopes=RO),
    Operation("CopyObject", "PUT", OBJ, (), COPY, scopes=(*WO, *RO)),
    Operation("PutObject", "PUT", OBJ, scopes=WO, streaming=True),
    Operation("DeleteObject", "DELETE", OBJ, scopes=DO),
    *_unsupported(
        OBJ,
        "attributes",
        "renameObject",
        "restore",
        "select",
        "tagging",
        "torrent",
    ),
)


def _query_matches(required: str, query: Mapping[str, str]) -> bool:
    name, eq, value = required.partition("=")
    if name not in query:
        return False
    return not eq or query[name] == value


def _names(row: Operation) -> set[str]:
    return {q.partition("=")[0] for q in row.query}


def resolve(
    method: str, target: Target, query: Mapping[str, str], headers: Mapping[str, str]
) -> Operation | None:
    """The operation a request names, or None (the caller answers MethodNotAllowed)."""
    present = SUBRESOURCES.intersection(query)
    for row in _ROWS_BY_TARGET[target]:
        if row.method != method:
            continue
        if not present.issubset(_names(row)):
            continue
        if not all(_query_matches(q, query) for q in row.query):
            continue
        if row.header is not None and row.header not in headers:
            continue
        return row
    return None


_ROWS_BY_TARGET: dict[Target, tuple[Operation, ...]] = {
    t: tuple(r for r in OPERATIONS if r.target is t) for t in Target
}
OPERATIONS_BY_NAME: dict[str, Operation] = {r.name: r for r in OPERATIONS}
