"""The filesystem backend's own threads for blocking file work."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, TypeVarTuple

__all__ = ["DEFAULT_IO_THREADS", "FLUSH_THREADS", "IOPool"]

DEFAULT_IO_THREADS = 8
FLUSH_THREADS = 2
"""Threads for the flushes of bodies still arriving (``DataStore.receive``): apart from the
I/O pool, so that many large uploads on a slow disk, each with a flush in flight, never
hold the threads GETs and writes need; a flush that waits its turn is only less early."""

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")


class IOPool:
    """The backend's own threads for blocking file work (reads, writes, fsyncs, copies).

    Not the loop's default executor: work that shares a pool with other kinds of work
    (password hashing, DNS lookups) queues behind it, so a burst of one stalls GETs.
    """

    def __init__(self, threads: int, name: str = "fs-io") -> None:
        self.threads = threads
        self.name = name
        self._executor: ThreadPoolExecutor | None = None

    async def run(self, fn: Callable[[*_Ts], _T], *args: *_Ts) -> _T:
        return await self.submit(fn, *args)

    def submit(self, fn: Callable[[*_Ts], _T], *args: *_Ts) -> asyncio.Future[_T]:
        """Start ``fn`` on a pool thread; its future (await it to get the result)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix=self.name)
        return asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def close(self) -> None:
        """Stop taking work (queued work still runs); a later ``run`` starts a fresh pool."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)
