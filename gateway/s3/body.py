"""Request bodies as ``PayloadStream``s: de-chunked, verified and size-limited while read."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping

from aiohttp import web

from gateway.s3.errors import S3Error
from sigv4 import PayloadPipeline, VerifiedRequest

__all__ = ["RequestBody", "read_document"]


class RequestBody:
    """The body of one request, read once, as payload bytes.

    Iteration raises (``sigv4`` errors or ``S3Error``) when a check fails; a backend that
    sees the exception discards the upload.
    """

    def __init__(
        self,
        request: web.Request,
        headers: Mapping[str, str],
        verified: VerifiedRequest | None,
        *,
        streaming: bool,
        max_size: int,
    ) -> None:
        self._request = request
        self._pipeline = PayloadPipeline.create(headers, verified, allow_streaming=streaming)
        self._max_size = max_size
        self._consumed = False
        declared = self._pipeline.decoded_length
        if declared is None and request.content_length is not None:
            declared = request.content_length
        self.size_hint = declared
        if declared is not None and declared > max_size:
            raise S3Error(
                "EntityTooLarge",
                extra={"ProposedSize": str(declared), "MaxSizeAllowed": str(max_size)},
            )

    @property
    def checksums(self) -> Mapping[str, str]:
        return self._pipeline.checksums

    @property
    def checksum_algorithm(self) -> str | None:
        """The algorithm of the checksum the body is verified with (a header's, or the
        trailer's announced in ``x-amz-trailer``), known before the body is read."""
        return self._pipeline.plan.checksum_algorithm

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        if self._consumed:
            raise RuntimeError("request body already consumed")
        self._consumed = True
        pipeline = self._pipeline
        total = 0
        content = self._request.content
        while True:
            chunk = await content.readany()
            if not chunk:
                break
            payload = pipeline.feed(chunk)
            if payload:
                total += len(payload)
                if total > self._max_size:
                    raise S3Error("EntityTooLarge")
                yield payload
        expected = self._request.content_length
        if expected is not None and pipeline.decoded_length is None and total != expected:
            raise S3Error("IncompleteBody")
        pipeline.finish()


async def read_document(body: RequestBody, limit: int, content_md5: bytes | None) -> bytes:
    """Read a small body (XML documents) whole, refusing more than ``limit`` bytes, and
    compare it with ``Content-MD5`` when one was sent."""
    parts: list[bytes] = []
    size = 0
    async for chunk in body:
        size += len(chunk)
        if size > limit:
            raise S3Error("MaxMessageLengthExceeded")
        parts.append(chunk)
    document = b"".join(parts)
    if content_md5 is not None and hashlib.md5(document).digest() != content_md5:  # noqa: S324
        raise S3Error("BadDigest", "The Content-MD5 you specified did not match what we received.")
    return document
