"""Writing a received body into its temp file: ``Writer`` hashes the plaintext (MD5),
seals it when the object is encrypted, and past ``DIRECT_FROM`` can write around the
page cache (O_DIRECT). Blocking; ``DataStore.receive`` drives it from the I/O threads."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import mmap
import os
from pathlib import Path
from typing import Any

from backends.filesystem.encryption import SEGMENT, Sealer
from backends.filesystem.file_ops import open_new, write_all

__all__ = [
    "BATCH",
    "DIRECT_ALIGN",
    "DIRECT_FROM",
    "FLUSH_EVERY",
    "Writer",
    "discard",
]

BATCH = 256 * 1024
"""Bytes gathered in memory before one off-loop write + hash."""
DIRECT_FROM = 4 * 1024 * 1024
"""With direct writes on, a body's bytes past this offset bypass the page cache."""
FLUSH_EVERY = 8 * 1024 * 1024
"""With fsync on, a body's bytes are flushed to stable storage (``fdatasync`` on a pool
thread) each time this many more have arrived, so its final fsync finds little left."""
DIRECT_ALIGN = 4096
"""File offsets, lengths and buffer addresses of writes that bypass the page cache are
multiples of this (the largest logical block size in use; pages are 4 KiB)."""


def discard(ended: list[asyncio.Future[None]], writer: Writer | None, tmp: str) -> None:
    """Close and remove the temp file of a failed receive (after its last write and its
    last flush ended)."""
    for future in ended:
        if not future.cancelled():
            future.exception()  # retrieved: the receive already failed for its own reason
    if writer is not None:
        writer.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)


class Writer:
    """Plaintext in, file bytes out: hashes the plaintext (MD5) and writes it, or its
    encrypted stream when there is a ``sealer`` (header first; a partial segment is held
    back until more data or ``finish`` says whether it is the last). After
    ``bypass_cache`` (plaintext only, at a multiple of ``DIRECT_ALIGN``) the file is
    written with O_DIRECT through a page-aligned block of ``BATCH`` bytes, whole blocks
    as they fill; ``finish`` writes the aligned part of the last block directly and the
    rest (under ``DIRECT_ALIGN`` bytes) through the page cache. Blocking."""

    __slots__ = ("_block", "_fill", "_held", "_sealer", "direct", "fd", "md5", "written")

    def __init__(self, fd: int, md5: Any, sealer: Sealer | None) -> None:
        self.fd = fd
        self.md5 = md5
        self._sealer = sealer
        self._held = bytearray()
        self.written = 0
        """Plaintext bytes taken so far."""
        self.direct = False
        self._block: mmap.mmap | None = None
        self._fill = 0
        if sealer is not None:
            write_all(fd, sealer.header)

    @classmethod
    def create(cls, path: str | Path, md5: Any, sealer: Sealer | None) -> Writer:
        """A writer owning a new file at ``path`` (closed again if the header fails)."""
        fd = open_new(path)
        try:
            return cls(fd, md5, sealer)
        except BaseException:
            os.close(fd)
            raise

    def bypass_cache(self) -> bool:
        """Write on with O_DIRECT; False where the file system refuses it. Once per
        file: a file that took the flag and then fell back stays in the page cache."""
        if self._block is not None or self._sealer is not None or self.written % DIRECT_ALIGN:
            return True  # not (again) this file, but the store may still use it
        try:
            self._set_direct(True)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            return False
        self._block = mmap.mmap(-1, BATCH)
        return True

    def _set_direct(self, on: bool) -> None:
        flags = fcntl.fcntl(self.fd, fcntl.F_GETFL)
        fcntl.fcntl(self.fd, fcntl.F_SETFL, flags | os.O_DIRECT if on else flags & ~os.O_DIRECT)
        self.direct = on

    def write(self, data: bytes | bytearray) -> None:
        self.md5.update(data)
        self.written += len(data)
        if self._block is not None:
            self._write_direct(data)
            return
        sealer = self._sealer
        if sealer is None:
            write_all(self.fd, data)
            return
        held = self._held
        held += data
        whole = (len(held) - 1) // SEGMENT * SEGMENT  # keep >= 1 byte for the final segment
        if whole > 0:
            view = memoryview(held)
            try:
                sealed = sealer.seal(view[:whole], final=False)
            finally:
                view.release()
            del held[:whole]
            write_all(self.fd, sealed)

    def _write_direct(self, data: bytes | bytearray) -> None:
        block = self._block
        assert block is not None
        with memoryview(data) as view:
            taken = 0
            while taken < len(view):
                n = min(len(view) - taken, BATCH - self._fill)
                block[self._fill : self._fill + n] = view[taken : taken + n]
                self._fill += n
                taken += n
                if self._fill == BATCH:
                    self._flush_block(BATCH)

    def _flush_block(self, length: int) -> None:
        """Write the block's first ``length`` bytes (a multiple of ``DIRECT_ALIGN``)."""
        block = self._block
        assert block is not None
        with memoryview(block) as view:
            done = 0
            while done < length:
                try:
                    done += os.write(self.fd, view[done:length])
                except OSError as exc:
                    # A file system may take the flag and refuse the write (or the rest
                    # of a short one): go on through the page cache from where it stopped
                    # (a refused write wrote nothing).
                    if exc.errno != errno.EINVAL or not self.direct:
                        raise
                    self._set_direct(False)
        self._fill = 0

    def finish(self) -> None:
        block = self._block
        if block is not None:
            fill = self._fill
            aligned = fill // DIRECT_ALIGN * DIRECT_ALIGN
            if aligned:
                self._flush_block(aligned)
            if fill > aligned:
                if self.direct:
                    self._set_direct(False)
                write_all(self.fd, block[aligned:fill])
            self._fill = 0
        if self._sealer is not None:
            write_all(self.fd, self._sealer.seal(bytes(self._held), final=True))
            self._held.clear()

    def close(self) -> None:
        os.close(self.fd)
        if self._block is not None:
            self._block.close()
