"""Test and bench helpers: how much of a file is in the page cache, and dropping it.

Residency is read with ``mincore`` on a mapping of the file, which reads nothing: a
non-blocking read (the gateway's own probe, ``backends.filesystem.page_cache``) starts
reading the page it asks for, so it cannot check an eviction without undoing it.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import time
from pathlib import Path

_libc = ctypes.CDLL(None, use_errno=True)
_ATTEMPTS = 100

MISS_ATTEMPTS = 50
"""How often a test evicts a file again to see the gateway treat its pages as missing.

A read that misses the page cache, the gateway's non-blocking probe included, starts
reading the pages it asked for; on a fast disk (a VM whose host holds the file in its own
cache) that read can finish before the probe looks again, and the probe then rightly finds
the pages cached. A test that needs to observe a miss therefore evicts and tries again, up
to this many times: an implementation that never reports a miss still fails every try."""


def resident_pages(path: Path, first: int = 0, end: int | None = None) -> int:
    """Pages of the file (those holding bytes ``first`` up to ``end``, by default all)
    that are in the page cache."""
    size = path.stat().st_size
    if size == 0:
        return 0
    page = mmap.PAGESIZE
    with open(path, "rb") as file, mmap.mmap(file.fileno(), size, access=mmap.ACCESS_COPY) as m:
        vector = (ctypes.c_ubyte * -(-size // page))()
        anchor = ctypes.c_char.from_buffer(m)
        try:
            if _libc.mincore(ctypes.c_void_p(ctypes.addressof(anchor)), size, vector) != 0:
                raise OSError(ctypes.get_errno(), "mincore")
        finally:
            del anchor  # the mapping cannot close while ctypes holds it
        stop = -(-(size if end is None else end) // page)
        return sum(byte & 1 for byte in vector[first // page : stop])


def evict_again(path: Path) -> None:
    """``evict`` for a retry (see ``MISS_ATTEMPTS``), after a pause: the tries of one test
    are less alike when the disk has settled between them."""
    time.sleep(0.02)
    evict(path)


def evict(path: Path) -> None:
    """Write the file's dirty pages out and drop its pages from the page cache, so the
    next read of it goes to the disk. ``POSIX_FADV_DONTNEED`` skips pages another CPU
    still holds in its batch of pages on their way to the LRU lists, so it is asked
    again until none is left; AssertionError if some stay."""
    fd = os.open(path, os.O_RDONLY)
    try:
        for _ in range(_ATTEMPTS):
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            if resident_pages(path) == 0:
                return
            time.sleep(0.01)
    finally:
        os.close(fd)
    raise AssertionError(f"{path} stayed in the page cache")
