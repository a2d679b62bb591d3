"""Request bodies as ``PayloadStream``s: de-chunked, verified and size-limited while read."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from aiohttp import web

from gateway.s3.errors import S3Error
from sigv4 import PayloadPipeline, VerifiedRequest

READ_CHUNK = 256 * 1024


class RequestBody:
    """The body of one request, read once, as payload bytes.

    Iteration raises (``sigv4`` errors or ``S3Error``) when a check fails; a backend that
    sees the exception discards the upload.
    """

    def __init__(
        self,
        request: web.Request,
        pipeline: PayloadPipeline,
        *,
        max_size: int,
    ) -> None:
        self._request = request
        self._pipeline = pipeline
        self._max_size = max_size
        self._consumed = False
        declared = pipeline.decoded_length
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

    async def read_all(self, limit: int) -> bytes:
        """Read a small body (XML documents) whole, refusing more than ``limit`` bytes."""
        parts: list[bytes] = []
        size = 0
        async for chunk in self:
            size += len(chunk)
            if size > limit:
                raise S3Error("MaxMessageLengthExceeded")
            parts.append(chunk)
        return b"".join(parts)


def make_body(
    request: web.Request,
    headers: tuple[tuple[str, str], ...],
    verified: VerifiedRequest | None,
    *,
    streaming: bool,
    max_size: int,
    backend_checks_md5: bool = False,
) -> RequestBody:
    """``backend_checks_md5``: the body goes to ``Backend.put_object``/``upload_part``,
    which verify ``content_md5`` while hashing for the ETag, so the pipeline does not."""
    pipeline = PayloadPipeline.create(
        headers, verified, allow_streaming=streaming, verify_content_md5=not backend_checks_md5
    )
    return RequestBody(request, pipeline, max_size=max_size)
