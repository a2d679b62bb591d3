"""A request body the store stops taking: the upload failed after ``read_timeout``.

aiohttp (under aiobotocore) starts its read timeout only once the whole body is written
and waits for a ``100 Continue`` without one, so a store that stops reading without
answering would hold an upload for ever. ``SendWatch`` cancels the uploading task once
the body has waited ``timeout`` seconds for the store to take more (its ``handed_at``);
the caller turns that cancellation into ``ServiceUnavailable``. The lean client's
transport needs none: its own timer counts while a write waits on the store.

What tells the wait, per body:

- a streamed body (``streams.UploadBody``): the time its last chunk was handed over;
- a spooled body in a file (``TimedFile``): the time of its last read by aiohttp;
- a spooled body in memory (bytes, at most 8 MiB): aiohttp writes it at once and waits,
  with nothing to observe in between: the request's start (``Started``). Such a body and
  the head of the store's answer must come within ``timeout`` of the start.
"""

from __future__ import annotations

import asyncio
import io
import time
from typing import IO, Any, Protocol

__all__ = ["Handed", "SendWatch", "Started", "TimedFile", "timed"]


class Handed(Protocol):
    @property
    def handed_at(self) -> float | None:
        """``time.monotonic()`` since when the body waits on the store; None while it waits
        on its own source (the client), which does not count."""


class SendWatch:
    """Cancels the current task once ``body`` has waited ``timeout`` seconds for the
    store (``Handed.handed_at``). One timer per upload, re-armed from the latest
    hand-over; ``expired`` tells a cancellation of its own from any other."""

    def __init__(self, body: Handed, timeout: float) -> None:
        self._body = body
        self._timeout = timeout
        self._task = asyncio.current_task()
        self._loop = asyncio.get_running_loop()
        self._fired = False
        self._timer: asyncio.TimerHandle | None = self._loop.call_later(timeout, self._check)

    def _check(self) -> None:
        handed = self._body.handed_at
        now = time.monotonic()
        if handed is not None and now - handed >= self._timeout and self._task is not None:
            self._timer = None
            self._fired = True
            self._task.cancel()
            return
        wait = self._timeout if handed is None else handed + self._timeout - now
        self._timer = self._loop.call_later(wait, self._check)

    def expired(self) -> bool:
        """Whether this watch cancelled the task (and no one else did too)."""
        return self._fired and self._task is not None and self._task.uncancel() == 0

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class Started:
    """A body written at once (bytes): waiting on the store since the request's start."""

    __slots__ = ("handed_at",)

    def __init__(self) -> None:
        self.handed_at: float | None = time.monotonic()


class TimedFile(io.RawIOBase):
    """A spooled body's file as aiohttp reads it (piece by piece, in a worker thread),
    noting when it was last read: the store has taken what came before."""

    def __init__(self, file: IO[bytes]) -> None:
        super().__init__()
        self._file = file
        self.handed_at: float | None = time.monotonic()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self._file.read(-1 if size is None else size)
        self.handed_at = time.monotonic()
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()


def timed(body: bytes | IO[bytes], timeout: float) -> tuple[Any, SendWatch]:
    """A spooled ``body`` as aiobotocore is to send it, and the watch on it."""
    if isinstance(body, bytes | bytearray | memoryview):
        return body, SendWatch(Started(), timeout)
    file = TimedFile(body)
    return file, SendWatch(file, timeout)
