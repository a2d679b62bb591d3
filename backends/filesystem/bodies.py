"""Streaming a placed object's bytes back: plain files read at an offset of an open
descriptor, encrypted ones through a ``ReadAt`` that decrypts. Cached reads stay on the
event loop; anything that may wait for the disk goes to the backend's ``IOPool``."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

from backends.errors import BackendError
from backends.filesystem.encryption import SEGMENT, ReadAt
from backends.filesystem.io_pool import IOPool
from backends.filesystem.page_cache import in_page_cache, read_through

__all__ = ["READ_CHUNK", "SYNC_READ_MAX", "FileBody", "ReaderBody", "open_for_read"]

READ_CHUNK = 256 * 1024
SYNC_READ_MAX = 64 * 1024
"""Reads up to this size run on the event loop when their pages are in the page cache
(microseconds); uncached ones go to a pool thread (a disk read would stall the process)."""


class _Body:
    """What both bodies share: ``length`` bytes from offset ``first``, read piece by
    piece from an already open descriptor, which is closed at the end, on ``aclose`` or
    when the body is garbage collected. A subclass says how large the next piece is,
    whether it is cached (then it is read on the loop) and how to read it."""

    def __init__(self, fd: int, first: int, length: int, io: IOPool) -> None:
        self._io = io
        self._fd: int | None = fd
        self._pos = first
        self._remaining = length

    def _piece(self) -> int:
        raise NotImplementedError

    def _cached(self, fd: int, pos: int, n: int) -> bool:
        raise NotImplementedError

    def _read(self, fd: int, pos: int, n: int) -> bytes:
        raise NotImplementedError

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        fd = self._fd
        if fd is None or self._remaining <= 0:
            self._close()
            raise StopAsyncIteration
        pos = self._pos
        n = self._piece()
        try:
            if n <= SYNC_READ_MAX and self._cached(fd, pos, n):
                # a cached read on the loop costs microseconds; an uncached one would
                # stall the process for the disk: that goes to a pool thread
                data = self._read(fd, pos, n)
            else:
                data = await self._io.run(self._read, fd, pos, n)
        except BaseException:
            self._close()
            raise
        if not data:
            self._close()
            raise BackendError("InternalError", "data file shorter than recorded")
        self._pos += len(data)
        self._remaining -= len(data)
        return data

    async def aclose(self) -> None:
        self._close()

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __del__(self) -> None:
        self._close()


class FileBody(_Body):
    """Streams ``length`` bytes from offset ``first`` of an already open file descriptor.

    The descriptor was opened before the read was handed out, so a concurrent overwrite or
    delete (which only unlinks names) cannot break it.
    """

    def _piece(self) -> int:
        return min(READ_CHUNK, self._remaining)

    def _cached(self, fd: int, pos: int, n: int) -> bool:
        return in_page_cache(fd, pos, n)

    def _read(self, fd: int, pos: int, n: int) -> bytes:
        return os.pread(fd, n, pos)

    def cache(self, offset: int, length: int) -> asyncio.Future[None] | None:
        """Bytes ``offset..offset+length-1`` into the page cache (``ObjectRead.cache``):
        None when the first and last page of the range are there, else the future of
        their read on a pool thread."""
        fd = self.fileno()
        if length <= 0 or in_page_cache(fd, offset, length):
            return None
        return self._io.submit(read_through, fd, offset, length)

    def fileno(self) -> int:
        """The open descriptor (for sendfile of the same bytes); it stays this body's:
        ``aclose`` closes it."""
        if self._fd is None:
            raise ValueError("the body is closed")
        return self._fd


class ReaderBody(_Body):
    """Streams ``length`` plaintext bytes from ``first`` through a ``ReadAt`` (an encrypted
    object: each read decrypts only the segments it covers). Reads are aligned to
    segments after the first; above ``SYNC_READ_MAX`` they run in a thread. ``fd`` is
    the reader's file."""

    def __init__(self, fd: int, reader: ReadAt, first: int, length: int, io: IOPool) -> None:
        super().__init__(fd, first, length, io)
        self._reader = reader

    def _piece(self) -> int:
        return min(READ_CHUNK - self._pos % SEGMENT, self._remaining)

    def _cached(self, fd: int, pos: int, n: int) -> bool:
        return self._reader.cached(pos, n)

    def _read(self, fd: int, pos: int, n: int) -> bytes:
        return self._reader.read(pos, n)


def open_for_read(path: Path) -> int:
    return os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
