"""A bodiless request runs inside ``data_received``, as an eager task would run it.

aiohttp's ``RequestHandler`` queues each parsed request and wakes the connection's task
(``start``) through a future; the task runs on the loop's next turn (an ``epoll_wait``,
the future, the task's step) and only then calls the handler. :class:`InlineLane` runs a
request right where it was parsed when ``start`` is idle (waiting on its ``_waiter``,
nothing queued, no request in progress) and the request is the common one: a parsed
HTTP/1.1 message (not a refusal, not an upgrade) with no body (``EMPTY_PAYLOAD``: HEAD,
GET, DELETE as the SDKs send them). It makes the request exactly as ``start`` does and
drives aiohttp's ``_handle_request`` coroutine by hand:

- when it finishes without waiting, ``start``'s after-request bookkeeping is done here
  (keep-alive flag and timer, closing a connection that is not kept alive, a client gone
  mid-answer, an unhandled exception);
- when it waits (a thread hop, a drain, a store's answer), the suspended coroutine goes
  on in a task of its own (:func:`_resume` passes every value, exception and
  cancellation through, as Python 3.12's eager tasks do), and the bookkeeping runs when
  it ends. Requests that arrive meanwhile are queued and wake ``start`` only after it
  ended, so pipelined answers keep their order.

The request runs in a context copied for it (as an eager task's), and while it runs
inline :func:`asyncio.current_task` gives a stand-in (:class:`_LaneTask`) that passes
``cancel``/``uncancel``/``cancelling`` on to the task the request continues in, so
``asyncio.timeout`` and the code that cancels "its" task work on both sides.

Everything else - bodies, refusals, a backlog of pipelined requests, upgrades, HTTP/1.0 -
takes aiohttp's path through ``start``. ``shutdown`` still waits for a request in
progress (``_request_in_progress`` and ``_handler_waiter`` are ``_handle_request``'s own).
"""

from __future__ import annotations

import asyncio
import contextvars
import types
from collections.abc import Awaitable, Coroutine, Generator
from typing import Any, cast

from aiohttp.http import HttpVersion11, RawRequestMessage
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.http_writer import StreamWriter
from aiohttp.streams import EMPTY_PAYLOAD
from aiohttp.web_protocol import RequestHandler, _ErrInfo
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

__all__ = ["InlineLane"]

_Outcome = tuple[StreamResponse, bool]
_LANE = "gateway.inline_lane"
"""The key of a suspended lane request's task in the handler's ``_cache``."""
_SERVING = "gateway.inline_lane.serving"
"""In the handler's ``_cache`` while :meth:`InlineLane._serve_queue` runs."""
_PRIMED = object()
"""What :func:`_resume` yields first, to the lane, never to a task."""
_enter_task = asyncio.tasks._enter_task
_leave_task = asyncio.tasks._leave_task


class _LaneTask:
    """What ``asyncio.current_task()`` gives while a lane request runs inline: the task
    it continues in, once there is one, takes every call made on it."""

    __slots__ = ("_cancelling", "_loop", "real")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._cancelling = 0
        self.real: asyncio.Task[Any] | None = None

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def done(self) -> bool:
        return False if self.real is None else self.real.done()

    def cancel(self, msg: Any = None) -> bool:
        if self.real is not None:
            return self.real.cancel(msg)
        self._cancelling += 1  # passed on when the request waits (start_real)
        return True

    def cancelling(self) -> int:
        return self._cancelling if self.real is None else self.real.cancelling()

    def uncancel(self) -> int:
        if self.real is not None:
            return self.real.uncancel()
        if self._cancelling > 0:
            self._cancelling -= 1
        return self._cancelling

    def start_real(self, task: asyncio.Task[Any]) -> None:
        self.real = task
        for _ in range(self._cancelling):
            task.cancel()


@types.coroutine
def _resume(coro: Coroutine[Any, Any, _Outcome], yielded: Any) -> Generator[Any, Any, _Outcome]:
    """Go on with ``coro``, suspended on ``yielded``, as the task that awaits this.

    It first yields ``_PRIMED`` to :meth:`InlineLane._run`, which starts the task's
    coroutine by hand: a task cancelled before its first step throws the cancellation
    into its coroutine at once, which an unstarted coroutine would raise without running
    (leaving ``coro`` waiting forever); a started one passes it to ``coro`` here. Then it
    waits on what ``coro`` waits on, as the task, and once that is done hands the rest to
    ``yield from`` (the interpreter's own delegation: sends, throws and cancellations go
    straight to ``coro``, as when a task runs it)."""
    try:
        yield _PRIMED
    except BaseException as exc:  # cancelled before the task's first step
        try:
            yielded = coro.throw(exc)
        except StopIteration as stop:
            return cast("_Outcome", stop.value)
    while True:
        try:
            yield yielded  # the future coro waits on: the task waits on it
        except BaseException as exc:  # passed in, as a task does
            try:
                yielded = coro.throw(exc)
            except StopIteration as stop:
                return cast("_Outcome", stop.value)
        else:
            outcome: _Outcome = yield from coro  # it is done: coro reads its result
            return outcome


class InlineLane(RequestHandler):
    """aiohttp's handler with the inline lane. No state of its own (``__slots__`` empty):
    a lane request is in progress exactly when ``start`` waits on its ``_waiter`` while
    ``_request_in_progress`` is set (aiohttp's own path never waits with a request in
    progress)."""

    __slots__ = ()

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if (
            waiter is None
            or waiter.done()
            or self._payload_parser is not None
            or self._upgraded
            or self._force_close
            or self._close
        ):
            super().data_received(data)  # start() is busy, or not plain HTTP: aiohttp's way
            return
        parser = self._parser
        assert parser is not None
        try:
            messages, upgraded, tail = parser.feed_data(data)
        except HttpProcessingError as exc:
            messages = [(_ErrInfo(status=400, exc=exc, message=exc.message), EMPTY_PAYLOAD)]
            upgraded, tail = False, b""
        queue = self._messages
        for message in messages:
            self._request_count += 1
            queue.append(message)
        if not self._buffer_paused and len(queue) >= self._max_msg_queue_size:
            self._pause_reading_for_buffer()
        self._upgraded = upgraded
        if upgraded and tail:
            self._message_tail = tail
        if queue and not self._request_in_progress and _SERVING not in self._cache:
            self._serve_queue()

    def _serve_queue(self) -> None:
        """Run queued requests inline while they qualify and finish without waiting;
        hand the rest to ``start``. Not re-entered: the parser's backlog read back while
        it runs (``_resume_reading_if_drained``) only joins the queue it is serving."""
        cache = self._cache
        cache[_SERVING] = True
        try:
            self._serve_from_head()
        finally:
            del cache[_SERVING]

    def _serve_from_head(self) -> None:
        queue = self._messages
        while queue:
            if self._buffer_paused and len(queue) <= self._msg_queue_resume_size:
                # as start() does before each request: the parser's backlog joins the
                # queue behind what is in it
                self._resume_reading_if_drained()
            waiter = self._waiter
            if waiter is None or waiter.done() or self._request_in_progress:
                return  # start() is ending (close) or woken, or a lane request waits
            message, payload = queue[0]
            if (
                payload is not EMPTY_PAYLOAD
                or type(message) is not RawRequestMessage
                or message.upgrade
                or message.version != HttpVersion11
                or self._upgraded
            ):
                waiter.set_result(None)
                return
            queue.popleft()
            if not self._run(message):
                return

    def _run(self, message: RawRequestMessage) -> bool:
        """Serve ``message`` inline; whether the connection is ready for the next one."""
        parser = self._parser
        if parser is not None:
            parser.message_consumed()
        loop = self._loop
        start = loop.time() if self._logging_enabled else None
        manager = self._manager
        factory = self._request_factory
        handler = self._request_handler
        assert manager is not None and factory is not None and handler is not None
        manager.requests_count += 1
        writer = StreamWriter(self, loop)
        request = factory(message, EMPTY_PAYLOAD, self, writer, self._task_handler)  # type: ignore[arg-type]
        coro = self._handle_request(request, start, handler)
        context = contextvars.copy_context()
        stand_in = _LaneTask(loop)
        _enter_task(loop, cast("asyncio.Task[Any]", stand_in))
        try:
            yielded = context.run(coro.send, None)
        except StopIteration as stop:
            return self._after(request, cast("_Outcome", stop.value), None)
        except BaseException as exc:  # start()'s cases, in _after
            going_on = self._after(request, None, exc)
            if not isinstance(exc, Exception | asyncio.CancelledError):
                raise  # SystemExit, KeyboardInterrupt: start() lets them out too
            return going_on
        finally:
            _leave_task(loop, cast("asyncio.Task[Any]", stand_in))
        rest = self._finish(request, _resume(coro, yielded))
        primed = rest.send(None)  # to the first yield of _resume
        assert primed is _PRIMED
        task = asyncio.Task(rest, loop=loop, context=context)
        stand_in.start_real(task)
        self._cache[_LANE] = task  # held (the loop holds tasks weakly), cancelled by shutdown
        return False

    async def _finish(self, request: BaseRequest, rest: Awaitable[_Outcome]) -> None:
        try:
            outcome = await rest
        except BaseException as exc:
            self._after(request, None, exc)
            if not isinstance(exc, Exception):
                raise
            return
        finally:
            self._cache.pop(_LANE, None)
        if self._after(request, outcome, None) and self._messages:
            waiter = self._waiter  # what came meanwhile goes to start(), in order
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def _after(
        self, request: BaseRequest, outcome: _Outcome | None, exc: BaseException | None
    ) -> bool:
        """``start``'s bookkeeping after a request; whether the connection goes on."""
        request._task = None  # type: ignore[assignment]
        if outcome is not None and not outcome[1]:
            self._keepalive = bool(outcome[0].keep_alive)
            if self._keepalive and not self._close and not self._force_close:
                loop = self._loop
                self._next_keepalive_close_time = loop.time() + self._keepalive_timeout
                if self._keepalive_handle is None:
                    self._keepalive_handle = loop.call_at(
                        self._next_keepalive_close_time, self._process_keepalive
                    )
                return True
        elif isinstance(exc, ConnectionError) or outcome is not None:
            self.log_debug("Ignored premature client disconnection")
        elif isinstance(exc, asyncio.CancelledError):
            self.log_debug("Ignored premature client disconnection")
            self.force_close()
        elif isinstance(exc, Exception):
            self.log_exception("Unhandled exception", exc_info=exc)
            self.force_close()
        else:
            self.force_close()
        # start() would leave its loop: end it, and close the connection as it would
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.cancel()
        if not self._force_close:
            self._task_handler = None
            if self.transport is not None:
                self.transport.close()
        return False

    async def shutdown(self, timeout: float | None = 15.0) -> None:  # noqa: ASYNC109 - aiohttp's
        # aiohttp's waits for a request in progress, then cancels the connection's task
        # (which runs its requests); a lane request past the timeout is cancelled as well
        await super().shutdown(timeout)
        task = self._cache.pop(_LANE, None)
        if task is not None:
            task.cancel()

    def _process_keepalive(self) -> None:
        if self._request_in_progress:  # a lane request, while start() waits
            self._keepalive_handle = None
            return
        super()._process_keepalive()
