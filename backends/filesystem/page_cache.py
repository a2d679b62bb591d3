"""Whether a data file's bytes are in the page cache, and bringing them there.

Reads made on the event loop must not wait for the disk: a read of pages that are not
cached blocks the whole process until the disk answers. ``in_page_cache`` asks without
waiting (``preadv`` with ``RWF_NOWAIT``, under a microsecond); ``read_through`` reads a
range on a pool thread so that a ``sendfile`` of it then finds it cached.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from pathlib import Path

__all__ = ["READ_THROUGH_CHUNK", "in_page_cache", "read_through", "warm"]

READ_THROUGH_CHUNK = 1024 * 1024
"""Bytes read at a time to bring a range into the page cache (one buffer per pool thread)."""

_PROBE = bytearray(1)
_PAGE = 4096
_probing = [hasattr(os, "RWF_NOWAIT")]


def in_page_cache(fd: int, offset: int, length: int) -> bool:
    """Whether the first and the last byte of the range are in the page cache (a read
    that may not wait for the disk: ``RWF_NOWAIT``). Pages leave the cache oldest first
    and arrive by readahead in order, so the two ends stand for the range. True where
    the probe is not available (the caller then reads as before)."""
    if not _probing[0]:
        return True
    last = offset + length - 1
    try:
        os.preadv(fd, [_PROBE], offset, os.RWF_NOWAIT)
        if last // _PAGE != offset // _PAGE:
            os.preadv(fd, [_PROBE], last, os.RWF_NOWAIT)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise
        _probing[0] = False  # this kernel or file system cannot say: stop asking
    return True


_read_buffers = threading.local()


def read_through(fd: int, offset: int, length: int) -> None:
    """Read the range (into a buffer of this thread, then dropped): the kernel keeps the
    pages in its cache. Blocking; on a pool thread."""
    buffer: bytearray | None = getattr(_read_buffers, "buffer", None)
    if buffer is None:
        buffer = _read_buffers.buffer = bytearray(READ_THROUGH_CHUNK)
    end = offset + length
    with memoryview(buffer) as view:
        while offset < end:
            got = os.preadv(fd, [view[: min(len(buffer), end - offset)]], offset)
            if got == 0:
                return  # the file is shorter: the sendfile will say so
            offset += got


def warm(path: Path, offset: int, length: int) -> None:
    """``read_through`` on a descriptor of its own (nothing if the file is gone).
    Blocking; on a pool thread."""
    with contextlib.suppress(FileNotFoundError):
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            read_through(fd, offset, length)
        finally:
            os.close(fd)
