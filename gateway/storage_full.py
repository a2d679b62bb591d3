"""A write the storage had no room for: answered as ``ServiceUnavailable``, logged once.

A full disk or quota (or a file over the process's size limit) fails every write until an
operator makes room. Each such request is answered 503 with a Retry-After (S3 XML or the
``/v1`` JSON envelope; ``backends.errors.storage_full`` decides what counts), never a 500
with a traceback: a traceback per refused upload would itself fill the log's disk. The log
gets one line per ``INTERVAL`` seconds with the count of what it left out
(:class:`~gateway.ratelog.RateLimitedLog`).
"""

from __future__ import annotations

import logging

from backends.errors import BackendError, storage_full
from gateway.ratelog import RateLimitedLog

__all__ = ["INTERVAL", "no_room"]

INTERVAL = 10.0
_LOG = RateLimitedLog(logging.getLogger("nfyio.storage"), INTERVAL)


def no_room(exc: BaseException) -> BackendError | None:
    """The ``ServiceUnavailable`` that ``exc`` stands for when it is a lack of room (and
    the rate-limited log line about it); None for any other failure."""
    refusal = storage_full(exc)
    if refusal is not None:
        _LOG.event("storage-full", f"storage full: writes are refused with 503 ({exc})")
    return refusal
