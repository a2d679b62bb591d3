"""Headers a presigned URL carries in its query string: user metadata and a canned ACL.

Presigners that "hoist" ``x-amz-*`` headers into the query (the JavaScript SDK v3's
``getSignedUrl`` by default, Go's and Ruby's for metadata, the Java SDK v1's
``addRequestParameter("x-amz-acl", ...)``, the v2 SDK's ``putRawQueryParameter``) put
``x-amz-meta-*`` and ``x-amz-acl`` there, and Amazon S3 applies them: the browser or
``curl`` that uses the URL sends no such headers. The query of a SigV4 presigned URL is
part of its canonical request, and a SigV2 presigned URL's string to sign lists its
query's ``x-amz-*`` parameters with its headers (``sigv4.presign_v2``), so these values
are signed; that is what lets them act as headers here. They join the headers before the
access decision, so a hoisted ACL is decided as a header's is (``s3:x-amz-acl``, public
access blocks, ``BucketOwnerEnforced``). Only these are taken from the query: a hoisted
``x-amz-tagging`` is ignored by S3 (and here), and encryption or Object Lock must come
as signed headers.

A name given both as a header and in the query with different values is ambiguous:
``InvalidArgument``, rather than a guess. ``x-amz-meta-`` (an empty name) is hoisted as
any other: the write leaves it out and counts it, as it does the header
(``headers.object_meta``, ``x-amz-missing-meta`` on reads).

Cost: one scan of the query's names for presigned requests; one membership test for others.
"""

from __future__ import annotations

from dataclasses import replace

from gateway.s3.errors import S3Error
from gateway.s3.headers import HEADER_NAME, META_PREFIX
from gateway.s3.request import S3Request

__all__ = ["with_hoisted_headers"]


_CANNED_ACL = "x-amz-acl"


def with_hoisted_headers(req: S3Request) -> S3Request:
    """``req`` with the ``x-amz-meta-*`` and ``x-amz-acl`` parameters of its query added
    to its headers. The caller checks that a presigned URL whose signature covers them
    authenticated it."""
    hoisted: dict[str, str] = {}
    for name, value in req.query.items():
        lower = name.lower()
        if lower == _CANNED_ACL:
            pass  # its value is checked as the header's is, by the access decision
        elif not lower.startswith(META_PREFIX):
            continue
        elif HEADER_NAME.fullmatch(lower) is None:
            raise S3Error(
                "InvalidArgument",
                f"{name} is not a valid metadata name",
                extra={"ArgumentName": name},
            )
        given = req.headers.get(lower, hoisted.get(lower))
        if given is not None and given != value:
            raise S3Error(
                "InvalidArgument",
                f"{lower} is given twice with different values (header and query string)",
                extra={"ArgumentName": lower},
            )
        hoisted[lower] = value
    if not hoisted:
        return req
    # as signed pairs too (user metadata is read from the pairs, where a name can repeat);
    # one the headers already have, with this value, is there once
    added = tuple((name, value) for name, value in hoisted.items() if name not in req.headers)
    return replace(req, headers={**req.headers, **hoisted}, header_pairs=req.header_pairs + added)
