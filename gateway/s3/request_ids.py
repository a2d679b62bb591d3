"""The ids every S3 response carries: ``x-amz-request-id`` and ``x-amz-id-2``.

Unique, not secret (they name a request in logs and support tickets): a random prefix per
process, drawn again in every forked worker, and a counter. No system call per request
(``os.urandom`` twice per request cost more than the rest of the header building).
"""

from __future__ import annotations

import base64
import itertools
import os

__all__ = ["new_host_id", "new_request_id"]

_prefix = ""
_host = b""
_counter = itertools.count()


def _reseed() -> None:
    global _prefix, _host, _counter
    _prefix = os.urandom(4).hex().upper()
    _host = os.urandom(16)
    _counter = itertools.count()


_reseed()
os.register_at_fork(after_in_child=_reseed)


def new_request_id() -> str:
    """16 upper-case hex digits, like S3's: 8 for this process, 8 for the request."""
    return f"{_prefix}{next(_counter) & 0xFFFFFFFF:08X}"


def new_host_id() -> str:
    """An ``x-amz-id-2``-like token (32 characters of base64): this process's random
    bytes and the request counter's current value."""
    return base64.b64encode(_host + (next(_counter) & 0xFFFFFFFFFFFFFFFF).to_bytes(8)).decode()
