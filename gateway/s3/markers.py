"""A write to a key whose current version is a delete marker.

The backends report a key whose latest version is a delete marker as ``NoSuchKey`` with
the marker's fields, which is what S3 answers a read (GetObject, GetObjectTagging,
GetObjectAcl: 404 with ``x-amz-delete-marker: true``). A write that changes the current
version in place (PutObjectTagging, DeleteObjectTagging, PutObjectAcl) has no version to
change: S3 answers it ``405 MethodNotAllowed``, as it answers any request naming a delete
marker by its version id. Deleting the marker (or writing the object) is what the client
can do next, so the 405 keeps the marker's headers.
"""

from __future__ import annotations

from backends.errors import BackendError

__all__ = ["marker_write_refused"]


def marker_write_refused(exc: BackendError) -> BackendError:
    """What a write in place answers for ``exc``: ``MethodNotAllowed`` when it met a
    delete marker as the key's latest version, else ``exc`` itself."""
    if exc.code != "NoSuchKey" or exc.extra.get("DeleteMarker") != "true":
        return exc
    extra = {"DeleteMarker": "true", "ResourceType": "DeleteMarker"}
    for name in ("VersionId", "LastModified"):
        if name in exc.extra:
            extra[name] = exc.extra[name]
    return BackendError(
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
        extra=extra,
    )
