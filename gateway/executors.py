"""Thread pools by kind of work, so one kind cannot starve another.

- **Hashing** (scrypt of passwords and OAuth client secrets, ~50 ms of CPU each, reached by
  unauthenticated ``/oauth/*`` requests): its own small pool, ``auth.hash_threads``
  threads, behind a :class:`HashGate` that lets at most ``auth.hash_queue`` more wait.
  A request beyond that is refused at once (:class:`HashQueueFull`; OAuth answers 429)
  instead of queueing without bound.
- **Storage I/O** of the filesystem backend: its own pool (``storage.io_threads``), owned
  by the backend (``backends/filesystem/files.py``).
- **Everything else** that uses the loop's default executor (DNS lookups of the upstream
  client, signing-key generation): a default-sized pool.

The identity store hashes with ``asyncio.to_thread``, that is on the loop's default
executor. :func:`install_default_executor` makes that executor a router: work submitted
while a :class:`HashGate` admits the current task runs on the hashing pool (the gate sets
a context variable, which ``to_thread`` submissions carry), anything else on the general
pool. So the identity store needs no executor of its own and hashes never reach the
general or storage pools.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from aiohttp import web

__all__ = [
    "HASH_GATE",
    "Executors",
    "HashGate",
    "HashQueueFull",
    "install_default_executor",
]

_T = TypeVar("_T")
_P = ParamSpec("_P")

_ROUTE: contextvars.ContextVar[Executor | None] = contextvars.ContextVar(
    "nfyio_executor_route", default=None
)


class HashQueueFull(Exception):
    """Every hashing thread is busy and the queue is full: refuse, retry later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("the password hashing queue is full")
        self.retry_after = retry_after


class HashGate:
    """Admission to the hashing pool: ``threads`` run, ``queue`` wait, the rest are refused.

    ``await gate.run(call)`` awaits ``call()`` once admitted; the ``asyncio.to_thread``
    work inside it runs on the hashing pool (see :func:`install_default_executor`).
    """

    def __init__(self, threads: int, queue: int, *, seconds_per_hash: float = 0.05) -> None:
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="hash")
        self.threads = threads
        self.queue = queue
        self._running = asyncio.Semaphore(threads)
        self._admitted = 0
        self._seconds_per_hash = seconds_per_hash
        self.refused = 0

    @property
    def admitted(self) -> int:
        """Calls running or waiting."""
        return self._admitted

    def retry_after(self) -> int:
        """Whole seconds until the queue has drained (at least 1)."""
        backlog = (self._admitted + 1) * self._seconds_per_hash / self.threads
        return max(1, int(backlog + 0.999))

    async def run(self, call: Callable[[], Awaitable[_T]]) -> _T:
        if self._admitted >= self.threads + self.queue:
            self.refused += 1
            raise HashQueueFull(self.retry_after())
        self._admitted += 1
        try:
            async with self._running:
                token = _ROUTE.set(self.pool)
                try:
                    return await call()
                finally:
                    _ROUTE.reset(token)
        finally:
            self._admitted -= 1

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class _RoutingExecutor(ThreadPoolExecutor):
    """The loop's default executor: submits to the pool the current context names."""

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        target = _ROUTE.get()
        if target is not None and target is not self:
            return target.submit(fn, *args, **kwargs)
        return super().submit(fn, *args, **kwargs)


class Executors:
    """The pools one worker process owns (the storage pool belongs to its backend)."""

    def __init__(self, *, hash_threads: int, hash_queue: int) -> None:
        self.hashing = HashGate(hash_threads, hash_queue)
        self.general = _RoutingExecutor(thread_name_prefix="asyncio")

    def close(self) -> None:
        """Stop the hashing pool. The general pool, once the loop's default, is shut down
        by ``asyncio.run`` like any default executor."""
        self.hashing.close()


def install_default_executor(loop: asyncio.AbstractEventLoop, executors: Executors) -> None:
    """Make ``executors.general`` (which routes hashing work away) the loop's default."""
    loop.set_default_executor(executors.general)


HASH_GATE = web.AppKey("hash_gate", HashGate)
"""The process's :class:`HashGate`, on every app (the OAuth handlers use it)."""
