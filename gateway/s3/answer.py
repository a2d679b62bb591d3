"""The S3 listener's in-memory answers (errors, XML documents, HEAD, small objects) as
one coroutine: aiohttp's :class:`web.Response` prepares a response through five nested
coroutines (``prepare``, ``Response._start``, ``StreamResponse._start``,
``_prepare_headers``, ``_write_headers``) and ends it through three (``write_eof`` twice
and the writer's), each a frame and a branch ladder for features these answers never use
(compression, cookies, chunking, payload objects, HTTP/1.0). :class:`Answer` does the
same work, in the same order and with the same result on the wire, in one ``prepare`` and
one ``write_eof``; anything outside that common case takes aiohttp's own path.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.compression_utils import MAX_SYNC_CHUNK_SIZE
from aiohttp.helpers import must_be_empty_body, rfc822_formatted_time, should_remove_content_length
from aiohttp.http import SERVER_SOFTWARE, HttpVersion11
from multidict import CIMultiDict

__all__ = ["Answer"]

_CONTENT_LENGTH = hdrs.CONTENT_LENGTH
_TRANSFER_ENCODING = hdrs.TRANSFER_ENCODING
_CONTENT_TYPE = hdrs.CONTENT_TYPE
_DATE = hdrs.DATE
_CONNECTION = hdrs.CONNECTION


class Answer(web.Response):
    """A :class:`web.Response` with its whole body (or none) in memory."""

    _flat = False

    def __init__(
        self,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> None:
        """What ``web.Response.__init__`` does for a body of bytes (or none) and no
        ``text``, ``content_type``, ``charset`` or reason: the same attributes set to the
        same values, in one frame where aiohttp takes three (its own, ``StreamResponse``'s
        and the ``body`` setter's) and a ladder of checks for the arguments these answers
        never pass (tests/gateway/s3/test_answer.py compares the two objects)."""
        if not (body is None or type(body) is bytes):
            super().__init__(status=status, headers=headers, body=body)
            return
        self._state = {}
        self._headers = CIMultiDict() if headers is None else CIMultiDict(headers)
        self._set_status(status, None)
        self._body = body
        self._compressed_body = None
        self._zlib_executor_size = MAX_SYNC_CHUNK_SIZE
        self._zlib_executor = None

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        body = self._body
        if (
            self._payload_writer is not None
            or self._eof_sent
            or self._compression
            or self._cookies
            or self._chunked
            or not (body is None or type(body) is bytes)
            or request.version != HttpVersion11
        ):
            return await super().prepare(request)
        method = request.method
        status = self._status
        headers = self._headers
        empty = self._must_be_empty_body = must_be_empty_body(method, status)
        # Response._start: the declared length
        if _CONTENT_LENGTH in headers:
            if should_remove_content_length(method, status):
                del headers[_CONTENT_LENGTH]
        elif body or (status != 304 and method != "HEAD"):
            headers[_CONTENT_LENGTH] = str(len(body)) if body else "0"
        self._req = request
        writer = self._payload_writer = request._payload_writer
        keep_alive = self._keep_alive
        if keep_alive is None:
            keep_alive = self._keep_alive = request.keep_alive
        # StreamResponse._prepare_headers, for a known length on HTTP/1.1
        length = headers.get(_CONTENT_LENGTH)
        writer.length = size = int(length) if length is not None else len(body) if body else 0
        if empty:
            # (a Content-Length a HEAD or 304 declares stays: it describes the object)
            if _CONTENT_LENGTH in headers and should_remove_content_length(method, status):
                del headers[_CONTENT_LENGTH]
            if _TRANSFER_ENCODING in headers:
                del headers[_TRANSFER_ENCODING]
        elif size != 0:
            headers.setdefault(_CONTENT_TYPE, "application/octet-stream")
        if _DATE not in headers:
            headers[_DATE] = rfc822_formatted_time()
        headers.setdefault(hdrs.SERVER, SERVER_SOFTWARE)
        if not keep_alive and _CONNECTION not in headers:
            headers[_CONNECTION] = "close"
        await request._prepare_hook(self)
        await writer.write_headers(f"HTTP/1.1 {status} {self._reason}", headers)
        self._flat = True
        return writer

    async def write_eof(self, data: bytes = b"") -> None:
        if not self._flat:
            return await super().write_eof(data)
        if self._eof_sent:
            return
        writer = self._payload_writer
        assert writer is not None
        body = self._body
        if body is None or self._must_be_empty_body:
            await writer.write_eof()
        else:
            assert isinstance(body, bytes)
            await writer.write_eof(body)
        self._eof_sent = True
        self._req = None
        self._body_length = writer.output_size
        self._payload_writer = None
