"""Test and bench helper: drop a file's pages from the page cache."""

from __future__ import annotations

import os
from pathlib import Path


def evict(path: Path) -> None:
    """Write the file's dirty pages out, then drop its (now clean) pages from the page
    cache, so the next read of it goes to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
