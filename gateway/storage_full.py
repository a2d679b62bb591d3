"""A write the storage had no room for: answered as ``ServiceUnavailable``, logged once.

A full disk or quota (or a file over the process's size limit) fails every write until an
operator makes room. Each such request is answered 503 with a Retry-After (S3 XML or the
``/v1`` JSON envelope; ``backends.errors.storage_full`` decides what counts), never a 500
with a traceback: a traceback per refused upload would itself fill the log's disk. The log
gets one line per ``INTERVAL`` seconds with the count of what it left out
(:class:`~gateway.ratelog.RateLimitedLog`). A request that could not open a file because
no descriptor was left (``backends.errors.out_of_descriptors``: a GET's data file, a
PUT's temp file) is answered and logged the same way, with a shorter Retry-After.
"""

from __future__ import annotations

import logging

from backends.errors import BackendError, out_of_descriptors, storage_full
from gateway.ratelog import RateLimitedLog

__all__ = ["INTERVAL", "no_room"]

INTERVAL = 10.0
_LOG = RateLimitedLog(logging.getLogger("nfyio.storage"), INTERVAL)


def no_room(exc: BaseException) -> BackendError | None:
    """The ``ServiceUnavailable`` that ``exc`` stands for when it is a lack of room on
    the disk or in the descriptor table (and the rate-limited log line about it); None
    for any other failure."""
    refusal = storage_full(exc)
    if refusal is not None:
        _LOG.event("storage-full", f"storage full: writes are refused with 503 ({exc})")
        return refusal
    refusal = out_of_descriptors(exc)
    if refusal is not None:
        _LOG.event("descriptors", f"no file descriptor left: requests refused with 503 ({exc})")
    return refusal
