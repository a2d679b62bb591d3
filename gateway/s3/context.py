"""What a handler receives (``Context``) and what it returns (``Result``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web

from backends.base import Backend
from backends.types import ObjectRead
from gateway.config import Config
from gateway.principal import Principal
from gateway.s3.access import Access
from gateway.s3.body import RequestBody, read_document
from gateway.s3.errors import S3Error
from gateway.s3.lock_headers import has_digest
from gateway.s3.request import S3Request
from sigv4 import VerifiedRequest

__all__ = ["Context", "Result", "read_xml"]


@dataclass(slots=True)
class Context:
    request: web.Request
    request_id: str
    req: S3Request
    """The parsed request: every header and query fact a handler needs."""
    principal: Principal
    verified: VerifiedRequest | None
    backend: Backend
    config: Config
    now: datetime
    access: Access
    """What authorization read (the bucket's owner and settings, rows), and the checker
    for per-key decisions (DeleteObjects)."""
    bypass_governance: bool = False
    """The request asked to bypass GOVERNANCE retention and the principal may
    (``Access.bypass_governance``; DeleteObjects decides it for each key instead:
    ``Access.check_delete``)."""

    @property
    def query(self) -> Mapping[str, str]:
        return self.req.query

    @property
    def headers(self) -> Mapping[str, str]:
        return self.req.headers

    @property
    def bucket(self) -> str:
        if self.req.address.bucket is None:
            raise S3Error("InvalidRequest", "This operation needs a bucket")
        return self.req.address.bucket

    @property
    def key(self) -> str:
        if self.req.address.key is None:
            raise S3Error("InvalidRequest", "This operation needs an object key")
        return self.req.address.key

    def body(self) -> RequestBody:
        """An object body (PutObject, UploadPart): the backend compares its Content-MD5
        while hashing it for the ETag (``self.req.content_md5``).

        A request that gives its body neither a ``Content-Length`` nor a chunked
        ``Transfer-Encoding`` has, to HTTP, an empty body (whatever bytes follow are read
        as the next request): S3 refuses it (411 ``MissingContentLength``) rather than
        store an empty object over the one there."""
        if self.request.content_length is None and "transfer-encoding" not in self.req.headers:
            raise S3Error("MissingContentLength")
        return RequestBody(
            self.request,
            self.req.headers,
            self.verified,
            streaming=self.req.operation.streaming,
            max_size=self.config.s3.max_object_size,
        )

    async def xml_body(self, limit: int | None = None, *, object_checksums: bool = False) -> bytes:
        """A small XML document, read whole (capped at ``limit``, else
        ``s3.max_xml_body``) and checked against Content-MD5 (``read_xml``). A body the
        decision reads (PutObjectTagging, PutObjectRetention, PutObjectLegalHold) is read by
        dispatch instead, parsed into the request (``S3Request.tags``, ``lock_body``).

        ``object_checksums``: the request's ``x-amz-checksum-*`` headers describe an
        object (CompleteMultipartUpload's whole-object checksum), not this document, so
        the document is not checked against them."""
        headers = self.req.headers
        if object_checksums:
            headers = {
                name: value
                for name, value in headers.items()
                if not name.startswith("x-amz-checksum-") and name != "x-amz-sdk-checksum-algorithm"
            }
        return await read_xml(
            self.request, self.req, self.verified, self.config, limit=limit, headers=headers
        )


MISSING_DIGEST = "Missing required header for this request: Content-MD5 OR x-amz-checksum-*"
"""S3's message when an operation that requires a digest comes without one."""


async def read_xml(
    request: web.Request,
    req: S3Request,
    verified: VerifiedRequest | None,
    config: Config,
    *,
    limit: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """The request's body as a small document: read whole, verified like any body (payload
    hash, chunk signatures, checksums of ``headers``, default the request's), capped at
    ``limit`` (else ``s3.max_xml_body``) and checked against Content-MD5. An operation
    whose row requires a digest (``Operation.digest``) is refused without one, unread."""
    if req.operation.digest and not has_digest(req.headers):
        raise S3Error("InvalidRequest", MISSING_DIGEST)
    body = RequestBody(
        request,
        req.headers if headers is None else headers,
        verified,
        streaming=False,
        max_size=config.s3.max_object_size,
    )
    cap = config.s3.max_xml_body if limit is None else limit
    return await read_document(body, cap, req.content_md5)


@dataclass(slots=True)
class Result:
    """A handler's answer. ``xml`` is a rendered document; ``stream`` an object body."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    xml: bytes | None = None
    stream: ObjectRead | None = None
