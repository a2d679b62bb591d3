"""Requests aiohttp's parser refuses, answered in the listener's own error format.

A request that is not valid HTTP/1.1 (a request line or header field longer than the
listener's limit, a control character in a header, a bad method, broken chunked framing,
``Content-Length`` with ``Transfer-Encoding``) never reaches a handler: aiohttp's
``RequestHandler.handle_error`` answers it, as ``text/plain`` quoting up to 100 of the
refused bytes back. An S3 client then reads a body that is not S3 XML (boto3 reports an
unparsable error), a ``/v1`` client one that is not the JSON envelope, and whatever the
client sent is echoed. :func:`answering_with` makes aiohttp's handler class answer with
the listener's own document instead (:func:`gateway.s3.render.render_malformed`,
:func:`gateway.api.errors.malformed_response`); aiohttp still logs the refusal (one
line, :mod:`gateway.logs`) and closes the connection after the answer.

Cost per request: none (``handle_error`` runs only for refused requests).
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from aiohttp.http_exceptions import (
    BadHttpMethod,
    BadStatusLine,
    HttpProcessingError,
    InvalidHeader,
    InvalidURLError,
    LineTooLong,
    PayloadEncodingError,
)
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

__all__ = ["Answer", "answering_with", "describe"]

Answer = Callable[[int, BaseException | None], web.Response]
"""The listener's answer to a refused request: (status aiohttp chose, its exception)."""


_DESCRIPTIONS: tuple[tuple[type[BaseException], str], ...] = (
    (LineTooLong, "The request line or a header field is longer than this listener accepts"),
    (BadHttpMethod, "The request method is not a valid HTTP method"),
    (BadStatusLine, "The request line is not valid HTTP/1.1"),
    (InvalidURLError, "The request target is not a valid URL"),
    (InvalidHeader, "A header field is not valid HTTP/1.1"),
    (PayloadEncodingError, "The request body's framing (chunked encoding or length) is not valid"),
    (HttpProcessingError, "The request is not valid HTTP/1.1"),
)
"""What each of aiohttp's parse errors means, most specific first (``BadHttpMethod`` is a
``BadStatusLine``; every one is an ``HttpProcessingError``)."""


def describe(exc: BaseException | None) -> str:
    """What was wrong, in words that quote nothing the client sent."""
    for kind, description in _DESCRIPTIONS:
        if isinstance(exc, kind):
            return description
    return "The request could not be served"


def answering_with(answer: Answer) -> type[RequestHandler]:
    """aiohttp's ``RequestHandler`` whose refusals are ``answer``'s response. It adds no
    state (empty ``__slots__``), so an instance aiohttp made may take it as its class
    (``ConnectionGuard`` does, per connection)."""

    class AnsweringHandler(RequestHandler):
        __slots__ = ()

        def handle_error(
            self,
            request: BaseRequest,
            status: int = 500,
            exc: BaseException | None = None,
            message: str | None = None,
        ) -> web.StreamResponse:
            # aiohttp's own logs the refusal, and raises ConnectionError when part of an
            # answer is out already; its text/plain response is dropped.
            super().handle_error(request, status, exc, message)
            response = answer(status, exc)
            response.force_close()
            return response

    return AnsweringHandler
