"""The one place results and errors become HTTP responses."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from aiohttp import web
from aiohttp.http_exceptions import LineTooLong

from backends.errors import BackendError
from backends.types import ObjectRead
from gateway import SERVER
from gateway.malformed import describe
from gateway.s3.answer import Answer
from gateway.s3.context import Result
from gateway.s3.errors import S3Error
from gateway.s3.headers import checked_headers
from gateway.s3.request_ids import new_host_id, new_request_id
from gateway.s3.sendfile import NotAvailable, send_file
from gateway.s3.xml import XmlWriter
from gateway.state import CONFIG

__all__ = ["SMALL_BODY", "XML_TYPE", "render_error", "render_malformed", "render_result"]

log = logging.getLogger("nfyio.s3")
# A backend's errors that mean its store is away or busy (an outage, not a bug).
_OUTAGES = frozenset({"ServiceUnavailable", "SlowDown"})
XML_TYPE = "application/xml"
SMALL_BODY = 64 * 1024
"""Objects up to this size are sent with their headers in one write."""


def _ids(request_id: str) -> dict[str, str]:
    return {
        "x-amz-request-id": request_id,
        "x-amz-id-2": new_host_id(),
        "Server": SERVER,
    }


# Not representable in an XML 1.0 document, even as a character reference: C0 controls
# but tab/LF/CR, U+FFFE/U+FFFF, and the lone surrogates aiohttp decodes invalid UTF-8
# header bytes to.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml_safe(text: str) -> str:
    """Client data echoed in an error (path, header or query values) made representable:
    such characters are written percent-encoded (an undecodable header byte as itself)."""
    if _NOT_XML.search(text) is None:
        return text
    return _NOT_XML.sub(lambda m: f"%{ord(m.group(0)) & 0xFF:02X}", text)


def render_error(
    request: web.Request, error: S3Error, request_id: str, resource: str
) -> web.Response:
    """An S3 error response: status and extra headers from the error table."""
    headers = _ids(request_id)
    headers.update(checked_headers(error.headers()))
    if not error.spec.body:
        return Answer(status=error.status, headers=headers)
    if request.method == "HEAD":
        # No body (the answer drops it: a HEAD's), and the code in a header; but the
        # Content-Length the GET's document would have (RFC 9110 9.3.2, 8.6). Without a
        # length, a client whose parser is not told that a HEAD's answer has no body
        # (llhttp in aiohttp: aiobotocore, s3fs) closed its connection after every refused
        # HEAD, such as each exists() of a missing key.
        headers["x-amz-error-code"] = error.code
    return _error_document(error, request_id, resource, headers)


def render_malformed(status: int, exc: BaseException | None) -> web.Response:
    """The answer to a request aiohttp's parser refused before any handler ran
    (:mod:`gateway.malformed`): S3 XML as for any error, naming what was wrong without
    quoting it. Its method and resource are unknown (the request line may be what is
    broken), so the document has a body even if it was a HEAD, and no ``Resource``."""
    if status >= 500:
        error = S3Error("InternalError")
    elif isinstance(exc, LineTooLong):
        error = S3Error("RequestHeaderSectionTooLarge", describe(exc))
    else:
        error = S3Error("InvalidRequest", describe(exc))
    request_id = new_request_id()
    return _error_document(error, request_id, None, _ids(request_id))


def _error_document(
    error: S3Error, request_id: str, resource: str | None, headers: dict[str, str]
) -> web.Response:
    doc = XmlWriter()
    doc.open("Error")
    doc.el("Code", error.code)
    doc.el("Message", _xml_safe(error.message))
    hidden = error.spec.header_only
    for name, value in error.extra.items():
        if name not in hidden:
            doc.el(name, _xml_safe(value))
    if resource is not None:
        doc.el("Resource", _xml_safe(resource))
    doc.el("RequestId", request_id)
    doc.close("Error")
    headers["Content-Type"] = XML_TYPE
    return Answer(status=error.status, body=bytes(doc), headers=headers)


async def _sent_from_file(request: web.Request, read: ObjectRead, length: int) -> bool:
    """Send the body with sendfile when it is on (``server.sendfile``), the backend has
    the body in a local file and the connection allows (``gateway/s3/sendfile.py``);
    False: stream it instead."""
    server = request.app[CONFIG].server
    fd = read.fileno() if server.sendfile else None
    if fd is None:
        return False
    timeout = server.send_timeout
    try:
        sent = await send_file(
            request, fd, read.first, length, send_timeout=timeout, cache=read.cache
        )
    except NotAvailable:
        return False
    if sent < length:
        raise BackendError("InternalError", "data file shorter than recorded")
    return True


async def render_result(
    request: web.Request,
    result: Result,
    request_id: str,
    checked: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    """``checked``: headers already checked as :func:`checked_headers` checks
    ``result.headers`` (the memoised CORS answer); they win over the result's own."""
    headers = _ids(request_id)
    headers.update(checked_headers(result.headers))
    if checked:
        headers.update(checked)
    if result.stream is None:
        body = result.xml
        if body is not None:
            headers.setdefault("Content-Type", XML_TYPE)
        if request.method == "HEAD":
            # Framed as the document's length (none: 0, HeadBucket's, as S3 stores send):
            # without a length, aiohttp's client (llhttp) read the answer as ending with
            # the connection and closed it (docs/architecture.md, "every answer framed").
            headers.setdefault("Content-Length", str(len(body)) if body else "0")
            return Answer(status=result.status, headers=headers)
        return Answer(status=result.status, body=body, headers=headers)
    read = result.stream
    length = read.last - read.first + 1
    if length <= SMALL_BODY and request.method != "HEAD":
        # One write for headers and body: a small object costs one send, not two.
        chunks: list[bytes] = []
        try:
            async for chunk in read.body:  # a loop: a comprehension is a frame on 3.11
                chunks.append(chunk)
        finally:
            await read.aclose()
        body = b"".join(chunks)
        return Answer(status=result.status, body=body, headers=headers)
    headers["Content-Length"] = str(length)
    response = web.StreamResponse(status=result.status, headers=headers)
    if request.method == "HEAD":
        await read.aclose()
        return response
    try:
        await response.prepare(request)
        if not await _sent_from_file(request, read, length):
            async for chunk in read.body:
                await response.write(chunk)
    except ConnectionError as exc:
        # reset, aborted, or cut off here for not reading (sendfile's timeout): the
        # client's doing; a disk's OSError is the gateway's and goes below
        log.info("client went away during GET (request %s): %s", request_id, exc)
        raise
    except Exception as exc:
        # The status line is out: a short body, ended by closing the connection, is the
        # only signal left (an encrypted segment that failed authentication, a data file
        # shorter than recorded, the upstream store gone). Never a well-formed response
        # with missing bytes. A backend's own error is one line (the store going away
        # mid-download is an outage, not a bug: a warning); anything else, a traceback.
        if isinstance(exc, BackendError):
            level = logging.WARNING if exc.code in _OUTAGES else logging.ERROR
            log.log(
                level,
                "object body failed after the response started (request %s): %s",
                request_id,
                exc,
            )
        else:
            log.exception("object body failed after the response started (request %s)", request_id)
        if request.transport is not None:
            request.transport.close()
        return response
    finally:
        await read.aclose()
    await response.write_eof()
    return response
