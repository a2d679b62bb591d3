"""File primitives of the data directory: private directories and files (0700 / 0600
whatever the umask), allocation, copies in the kernel, fsync. Blocking; no state."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "COPY_CHUNK",
    "DIR_MODE",
    "FILE_MODE",
    "allocate",
    "append_in_kernel",
    "copy_file",
    "fsync_dir",
    "fsync_path",
    "make_private_dir",
    "open_new",
    "remove_path",
    "write_all",
]

DIR_MODE = 0o700
FILE_MODE = 0o600
COPY_CHUNK = 1024 * 1024
"""Bytes per read of a copy through this process's memory."""


def make_private_dir(path: Path) -> None:
    """``mkdir -p`` creating each missing directory 0700 (chmod too: mkdir's mode is
    reduced by the umask)."""
    missing: list[Path] = []
    current = path
    while not current.is_dir():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            continue  # a sibling worker (or another request) made it meanwhile
        os.chmod(directory, DIR_MODE)


def open_new(path: str | Path) -> int:
    """A new file, 0600 whatever the umask (the mode given to open is reduced by it)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def copy_file(src: Path, dest: Path) -> None:
    """A byte copy into a new 0600 file (``shutil.copyfile`` would honour the umask)."""
    out = open_new(dest)
    try:
        with open(src, "rb") as f:
            while data := f.read(COPY_CHUNK):
                write_all(out, data)
    finally:
        os.close(out)


def allocate(fd: int, size: int) -> None:
    """Blocks on the disk for the first ``size`` bytes of ``fd``'s file (extending it;
    zeros written where the file system has no ``fallocate``).

    For the full-disk reserve, and for a file then written through a shared memory
    mapping (``gateway.datadir``): a page of the mapping with no block behind it (a file
    grown with ``ftruncate`` is sparse) gets one when first written, and on a full file
    system that write kills the process with SIGBUS, where ``allocate`` raises
    ``OSError`` (ENOSPC) instead."""
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise
        end = os.fstat(fd).st_size
        while end < size:
            end += os.pwrite(fd, bytes(min(COPY_CHUNK, size - end)), end)


_copy_file_range: Callable[[int, int, int], int] | None = getattr(os, "copy_file_range", None)
_NO_COPY_RANGE = frozenset({errno.ENOSYS, errno.EXDEV, errno.EINVAL, errno.EOPNOTSUPP})
COPY_RANGE = 1 << 30
"""Bytes asked of one ``copy_file_range`` call (the kernel copies at most about 2 GiB)."""


def append_in_kernel(src: int, out: int) -> bool:
    """Append the rest of ``src`` to ``out`` at both files' offsets with
    ``copy_file_range``. False where the kernel or the file system does not offer it, or
    stops short of the end: some file systems answer 0 bytes copied instead of an error
    (Go's and Rust's standard libraries check for it), which read as the end of the file
    would have left the object short. Both offsets stay where the copy stopped, so the
    caller reads and writes the rest from there."""
    if _copy_file_range is None:
        return False
    left = os.fstat(src).st_size - os.lseek(src, 0, os.SEEK_CUR)
    while left > 0:
        try:
            copied = _copy_file_range(src, out, min(left, COPY_RANGE))
        except OSError as exc:
            if exc.errno in _NO_COPY_RANGE:
                return False
            raise
        if copied == 0:
            return False
        left -= copied
    return True


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """``os.write`` until every byte is written."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_path(path: str | Path) -> None:
    """fsync a file (or a directory) by its path."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str | Path) -> None:
    """fsync a directory so the renames in it survive a crash; best effort (some file
    systems refuse a directory fsync)."""
    with contextlib.suppress(OSError):
        fsync_path(path)


def remove_path(path: str) -> None:
    """Remove a file or a directory tree; what is gone already is no error."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
