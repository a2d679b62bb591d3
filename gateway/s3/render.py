"""The one place results and errors become HTTP responses."""

from __future__ import annotations

import base64
import logging
import os

from aiohttp import web

from gateway.s3.context import Result
from gateway.s3.errors import S3Error
from gateway.s3.xml import XmlWriter

__all__ = ["SMALL_BODY", "XML_TYPE", "render_error", "render_result"]

log = logging.getLogger("nfyio.s3")
XML_TYPE = "application/xml"
SMALL_BODY = 64 * 1024
"""Objects up to this size are sent with their headers in one write."""


def _ids(request_id: str) -> dict[str, str]:
    return {
        "x-amz-request-id": request_id,
        "x-amz-id-2": base64.b64encode(os.urandom(24)).decode(),
        "Server": "nfyio-gateway",
    }


def render_error(
    request: web.Request, error: S3Error, request_id: str, resource: str
) -> web.Response:
    """An S3 error response: status and extra headers from the error table."""
    headers = _ids(request_id)
    headers.update(error.headers())
    if not error.spec.body or request.method == "HEAD":
        if error.spec.body:
            headers["x-amz-error-code"] = error.code
        return web.Response(status=error.status, headers=headers)
    doc = XmlWriter()
    doc.open("Error")
    doc.el("Code", error.code)
    doc.el("Message", error.message)
    hidden = error.spec.header_only
    for name, value in error.extra.items():
        if name not in hidden:
            doc.el(name, value)
    doc.el("Resource", resource)
    doc.el("RequestId", request_id)
    doc.close("Error")
    headers["Content-Type"] = XML_TYPE
    return web.Response(status=error.status, body=bytes(doc), headers=headers)


async def render_result(
    request: web.Request, result: Result, request_id: str
) -> web.StreamResponse:
    headers = _ids(request_id)
    headers.update(result.headers)
    if result.stream is None:
        body = result.xml
        if body is not None:
            headers.setdefault("Content-Type", XML_TYPE)
        if request.method == "HEAD":
            return web.Response(status=result.status, headers=headers)
        return web.Response(status=result.status, body=body, headers=headers)
    read = result.stream
    length = read.last - read.first + 1
    if length <= SMALL_BODY and request.method != "HEAD":
        # One write for headers and body: a small object costs one send, not two.
        try:
            body = b"".join([chunk async for chunk in read.body])
        finally:
            await read.aclose()
        return web.Response(status=result.status, body=body, headers=headers)
    headers["Content-Length"] = str(length)
    response = web.StreamResponse(status=result.status, headers=headers)
    if request.method == "HEAD":
        await read.aclose()
        return response
    try:
        await response.prepare(request)
        async for chunk in read.body:
            await response.write(chunk)
    except (ConnectionResetError, OSError) as exc:
        log.info("client went away during GET (request %s): %s", request_id, exc)
        raise
    finally:
        await read.aclose()
    await response.write_eof()
    return response
