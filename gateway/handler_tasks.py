"""Each request's handler runs in its connection's task, as aiohttp runs it on Python 3.12+.

aiohttp's ``RequestHandler.start`` (one task per connection) wraps each request in a
task of its own and awaits it at once (``web_protocol.py``: "a new task is used for copy
context vars"). On Python 3.12 and later it starts that task eagerly, so a handler that
never waits runs to its end without leaving the connection's task. On 3.11, the
interpreter here, ``loop.create_task`` schedules it instead: every request costs two
more turns of the event loop (one to start the task, one to wake the connection's task
when it ends), each an ``epoll_wait`` and the loop's own bookkeeping, plus the task
itself - about 5.5 % of the instructions of a small HEAD or GET
(``docs/performance.md``, fifteenth sitting).

:func:`install` sets a task factory on the serving loop that hands aiohttp's
per-request coroutine (recognised by its code object, nothing else) back as it is, so
``start`` awaits it in its own task, as an eager task would run. What that gives up, and
why it does not matter here:

- a context of its own for each request: the gateway's context variables are set and
  reset with tokens around the work they route (``gateway/executors.py``,
  ``backends/s3/client.py``), so nothing one request sets outlives it;
- cancellation is unchanged: cancelling the connection's task cancels the request it
  is running either way (a task awaiting another passes the cancellation on), and
  ``handler_cancellation`` is off.

Every other coroutine gets a task as before (from the factory that was installed, if
any). On Python 3.12+ aiohttp does not call ``create_task`` for requests, and
:func:`install` does nothing.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine, Generator
from typing import Any, cast

from aiohttp.web_protocol import RequestHandler

__all__ = ["install", "runs_inline"]

_PER_REQUEST = RequestHandler._handle_request.__code__
"""The code of the coroutine ``RequestHandler.start`` wraps in a task per request."""

_Coro = Coroutine[Any, Any, Any] | Generator[Any, None, Any]


def runs_inline(coro: object) -> bool:
    """Whether ``coro`` is aiohttp's per-request coroutine."""
    return getattr(coro, "cr_code", None) is _PER_REQUEST


def install(loop: asyncio.AbstractEventLoop) -> None:
    if sys.version_info >= (3, 12):
        return  # aiohttp starts the per-request task eagerly there
    previous = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: _Coro, **kwargs: Any) -> asyncio.Future[Any]:
        if runs_inline(coro):
            # awaited at once by RequestHandler.start, in the connection's task
            return cast("asyncio.Future[Any]", coro)
        if previous is not None:
            return previous(loop, coro, **kwargs)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(factory)
