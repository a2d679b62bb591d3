"""Storage backends behind the gateway: the interface and its implementations."""

from backends.base import Backend
from backends.errors import BackendError
from backends.types import (
    BucketInfo,
    ByteRange,
    Conditions,
    CopySource,
    DeleteResult,
    ListPage,
    ObjectInfo,
    ObjectLock,
    ObjectLockConfig,
    ObjectMeta,
    ObjectRead,
    Part,
    PartsPage,
    PayloadStream,
    Upload,
    UploadsPage,
    VersionsPage,
)

__all__ = [
    "Backend",
    "BackendError",
    "BucketInfo",
    "ByteRange",
    "Conditions",
    "CopySource",
    "DeleteResult",
    "ListPage",
    "ObjectInfo",
    "ObjectLock",
    "ObjectLockConfig",
    "ObjectMeta",
    "ObjectRead",
    "Part",
    "PartsPage",
    "PayloadStream",
    "Upload",
    "UploadsPage",
    "VersionsPage",
]
