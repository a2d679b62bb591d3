"""Request headers S3 acts on that the gateway does not: refused, never ignored.

Ignoring one would silently do something other than what the client asked: an append
would overwrite the object (``x-amz-write-offset-bytes``), an object the client asked S3
to hold would stay deletable (``x-amz-object-lock-event-hold``), an abort or a delete the
client made conditional would happen unconditionally (``x-amz-if-match-initiated-time``,
``x-amz-if-match-size``). Each answers ``501 NotImplemented`` naming the header, before the
request changes anything. A value that asks for nothing (an event hold ``OFF``, the
``global`` bucket namespace every bucket here is in) is accepted.

One table, ``REFUSED``, by operation. Cost: one dict lookup per request, then one header
lookup per header listed for the operation (five for PutObject, none for GET or HEAD).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.s3.errors import S3Error

__all__ = ["REFUSED", "Refused", "refuse_unevaluated"]


@dataclass(frozen=True, slots=True)
class Refused:
    header: str
    """Lower case, as ``S3Request.headers`` holds names."""
    asks: str
    """What the header asks S3 to do (the error message names it)."""
    harmless: frozenset[str] = frozenset()
    """Values (compared case-insensitively) that ask for nothing: accepted."""


_EVENT_HOLD = (
    Refused("x-amz-object-lock-event-hold", "An Object Lock event hold", frozenset({"off"})),
    Refused("x-amz-object-lock-event-hold-duration-days", "An Object Lock event hold duration"),
    Refused("x-amz-object-lock-event-hold-duration-years", "An Object Lock event hold duration"),
)

# A redirect S3 serves from a website endpoint; no bucket here can be a website
# (PutBucketWebsite is refused), so storing it would promise a redirect never served.
_REDIRECT = Refused("x-amz-website-redirect-location", "A website redirect (website hosting)")

REFUSED: dict[str, tuple[Refused, ...]] = {
    "PutObject": (
        Refused("x-amz-write-offset-bytes", "Appending to an object (S3 Express One Zone)"),
        *_EVENT_HOLD,
        _REDIRECT,
    ),
    "PostObject": (*_EVENT_HOLD, _REDIRECT),  # its form fields, as headers (post_object.py)
    "CopyObject": (*_EVENT_HOLD, _REDIRECT),
    "CreateMultipartUpload": (*_EVENT_HOLD, _REDIRECT),
    "DeleteObject": (
        Refused("x-amz-if-match-last-modified-time", "A delete conditional on LastModified"),
        Refused("x-amz-if-match-size", "A delete conditional on the object size"),
    ),
    "AbortMultipartUpload": (
        Refused("x-amz-if-match-initiated-time", "An abort conditional on the upload's start"),
    ),
    "CreateBucket": (
        Refused(
            "x-amz-bucket-namespace", "An account-regional bucket namespace", frozenset({"global"})
        ),
    ),
}
"""By operation name: the headers S3 acts on (in general purpose or directory buckets)
that the gateway refuses rather than ignore."""


def refuse_unevaluated(operation: str, headers: Mapping[str, str]) -> None:
    """Raise ``NotImplemented`` naming the first header of ``REFUSED[operation]`` the
    request carries with a value that asks for something."""
    for entry in REFUSED.get(operation, ()):
        value = headers.get(entry.header)
        if value is not None and value.strip().lower() not in entry.harmless:
            raise S3Error(
                "NotImplemented",
                f"{entry.asks} is not implemented",
                extra={"Header": entry.header},
            )
