"""Logging set-up shared by the parent and worker processes."""

from __future__ import annotations

import logging
import sys

from aiohttp.http_exceptions import HttpProcessingError

from gateway.malformed import describe

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class MalformedHttpFilter(logging.Filter):
    """Requests that are not valid HTTP (a control character in a header, a bad request
    line) are refused by aiohttp's parser with a plain 400 before any handler runs. That is
    the client's error, not ours: log one line without a traceback.

    The line says what kind of error it was (:func:`gateway.malformed.describe`), never
    aiohttp's message: that quotes the refused request line or header field, which may be
    an ``Authorization`` or ``X-API-Key`` value or a presigned URL's signature."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.msg = (
                f"{record.getMessage()}: malformed HTTP request refused "
                f"({type(exc).__name__}: {describe(exc)})"
            )
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            record.levelno = logging.INFO
            record.levelname = "INFO"
        return True


def configure(level: str) -> None:
    logging.basicConfig(level=level.upper(), format=FORMAT, stream=sys.stderr)
    logging.getLogger("aiohttp.server").addFilter(MalformedHttpFilter())
