"""``S3Backend``: the gateway's storage is another S3-compatible store.

Each operation family lives in a mixin of its own (``buckets``, ``objects``, ``copy``,
``multipart``, ``versions``, ``attributes``, ``tagging``) over ``client.UpstreamClient``,
which holds the one aiobotocore client. Bodies stream both ways; see ``streams``.
"""

from __future__ import annotations

from backends.s3.attributes import AttributesMixin
from backends.s3.buckets import BucketsMixin
from backends.s3.copy import CopyMixin
from backends.s3.multipart import MultipartMixin
from backends.s3.objects import ObjectsMixin
from backends.s3.sse import SseMixin
from backends.s3.tagging import TaggingMixin
from backends.s3.versions import VersionsMixin

__all__ = ["S3Backend"]


class S3Backend(
    BucketsMixin,
    ObjectsMixin,
    MultipartMixin,
    CopyMixin,
    SseMixin,
    VersionsMixin,
    AttributesMixin,
    TaggingMixin,
):
    """Every ``Backend`` method as calls to an upstream S3-compatible store."""

    name = "s3"
