"""One HTTP/1.1 connection to the store (for ``http1``).

``Connection`` is the asyncio protocol: it writes a request (head, then the body with
``drain`` back-pressure) and feeds what arrives to the current ``Response``
(``http1_response``), whose httptools parser takes it apart.

The read timeout costs no timer per request: one timer per connection, armed at
``last progress + read_timeout`` by the first request that finds none armed and kept
across the requests that follow (as aiohttp's server keeps its keep-alive timer). When it
fires it looks at the request in progress, if any: nothing came for the whole period ->
the request fails; else it is re-armed from the latest progress (a ``loop.time()`` kept
per chunk and at each request's start). A connection with no request in progress lets it
lapse. Time spent waiting on the body's source, or with reading paused because the
answer's reader is slow, does not count: only the store can be too slow.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterable, AsyncIterator
from typing import IO, TYPE_CHECKING, cast

from backends.s3.http1_response import (
    ReadTimeout,
    Response,
    StaleConnection,
    TransportError,
)

if TYPE_CHECKING:
    from backends.s3.http1 import Pool

__all__ = ["Body", "Connection"]

Body = bytes | bytearray | memoryview | IO[bytes] | AsyncIterable[bytes] | None
"""A request body: in memory, a file (read from where it stands), or an async stream."""

_WRITE_CHUNK = 256 * 1024
_COALESCE = 64 * 1024  # an in-memory body up to this goes out in one write with the head


class Connection(asyncio.Protocol):
    """One keep-alive connection of a ``Pool``; one request at a time."""

    def __init__(
        self, pool: Pool, key: tuple[str, int], loop: asyncio.AbstractEventLoop, timeout: float
    ) -> None:
        self.pool = pool
        self.key = key
        self.closed = False
        self.idle_since = 0.0  # time.monotonic(), compared only with other connections'
        self.read_paused = False
        self.request_cut = False  # the answer came before the whole body was sent
        self.loop = loop
        self._timeout = timeout
        self._transport: asyncio.Transport | None = None
        self._uses = 0
        # weak: an answer its reader dropped without close() is collected, and its
        # __del__ closes this connection (else the pool would lose the slot for good)
        self._response: weakref.ref[Response] | None = None
        self._write_paused = False
        self._drain: asyncio.Future[None] | None = None
        self._hold = False  # waiting on the body's source: the store is not the slow side
        self._sender: asyncio.Task[object] | None = None  # the task sending a streamed body
        self._cut = False  # the store answered (or went) while the body's source was awaited
        self._last = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._give_slot = True
        self._left = False  # the pool was told this connection is gone

    # -- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        response = self._current()
        if response is None:  # nothing was asked: an idle connection is not reusable
            self.abort()
            return
        self._last = self.loop.time()
        response.feed(data)
        if self._hold:  # sending a stream, between its chunks
            self._stop_waiting_for_the_source(response)
        elif self._drain is not None:  # sending a body the store stopped taking
            self._stop_waiting_for_the_store(response)

    def eof_received(self) -> bool | None:
        return None  # close: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._cancel_timer()
        self._wake_drain()
        response = self._current()
        if response is not None:
            response.connection_lost()
            if self._hold:
                self._stop_waiting_for_the_source(response)
        self._leave_pool()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._last = self.loop.time()
        self._wake_drain()

    # -- used by Pool and Response ---------------------------------------------------

    def abort(self, *, give_slot: bool = True) -> None:
        """Close at once; the pool counts the slot free now, not a loop turn later."""
        if not give_slot:
            self._give_slot = False
        if self._transport is not None and not self.closed:
            self.closed = True
            self._transport.abort()  # connection_lost follows
        self._leave_pool()

    def _leave_pool(self) -> None:
        if not self._left:
            self._left = True
            self.pool.lost(self, give_slot=self._give_slot)

    def pause_reading(self) -> None:
        if not self.read_paused and self._transport is not None and not self.closed:
            self._transport.pause_reading()
            self.read_paused = True

    def resume_reading(self) -> None:
        if self.read_paused:
            self.read_paused = False
            self._last = self.loop.time()
            if self._transport is not None and not self.closed:
                self._transport.resume_reading()

    def done(self, *, reusable: bool) -> None:
        self._response = None
        if reusable and self.read_paused:
            self.resume_reading()  # an idle connection must see the store closing it
        self.pool.release(self, reusable=reusable)

    async def exchange(self, method: str, head: bytes, body: Body) -> Response:
        """Send one request; the answer once its head arrived."""
        if self.closed:
            raise StaleConnection(reused=self._uses > 0)
        reused = self._uses > 0
        self._uses += 1
        self.request_cut = False
        response = Response(self, head_only=method == "HEAD")
        self._response = weakref.ref(response)
        self._last = self.loop.time()
        if self._timer is None:
            self._timer = self.loop.call_at(self._last + self._timeout, self._on_timer)
        try:
            await self._send(head, body, response)
            await response.wait_head()
        except BaseException as exc:
            response.close()  # and the connection with it
            if isinstance(exc, TransportError) and not response.got_bytes:
                raise StaleConnection(reused=reused) from exc
            raise
        if self.request_cut and response.status < 300:
            # A success for a body the store never received whole (the rest was not
            # even sent, nor verified by the gateway): no store keeps such an upload.
            response.close()
            raise TransportError(
                "the upstream store answered success before the whole request body was sent"
            )
        return response

    # -- sending ---------------------------------------------------------------------

    async def _send(self, head: bytes, body: Body, response: Response) -> None:
        transport = self._transport
        assert transport is not None
        if body is None:
            transport.write(head)
        elif isinstance(body, bytes | bytearray | memoryview):
            if len(body) <= _COALESCE:
                transport.write(head + body)
                return
            transport.write(head)
            view = memoryview(body)
            for offset in range(0, len(view), _WRITE_CHUNK):
                if not await self._write(view[offset : offset + _WRITE_CHUNK], response):
                    return
        elif isinstance(body, AsyncIterable):
            transport.write(head)
            await self._send_stream(aiter(body), response)
        else:
            transport.write(head)
            while chunk := await self.loop.run_in_executor(None, body.read, _WRITE_CHUNK):
                if not await self._write(chunk, response):
                    return

    async def _send_stream(self, chunks: AsyncIterator[bytes], response: Response) -> None:
        task = self._sender = asyncio.current_task()
        self._cut = False
        try:
            while True:
                self._hold = True
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    return
                except asyncio.CancelledError:
                    # the store's answer (or its end) came while the body's source was
                    # awaited: answer now, not once the client sent the rest
                    if not self._cut or task is None or task.uncancel() > 0:
                        raise  # a cancellation of the request itself
                    self.request_cut = response.head_done
                    return
                finally:
                    self._hold = False
                    self._last = self.loop.time()
                if chunk and not await self._write(chunk, response):
                    return
        finally:
            self._sender = None
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()

    def _stop_waiting_for_the_source(self, response: Response) -> None:
        """The store answered, or failed, while the request waits on its body's source
        (a client sending slowly, or holding the rest of its body back until it sees an
        answer): the wait is cancelled, the answer goes out now. The rest of the body is
        not sent; the connection is not reused."""
        if (response.head_done or response.error is not None) and not self._cut:
            sender = self._sender
            if sender is not None:
                self._cut = True
                sender.cancel()

    def _stop_waiting_for_the_store(self, response: Response) -> None:
        """The store answered while the request waits for it to take more of the body
        (an early refusal, after which it may neither read on nor close): nothing would
        end that wait, as the read timer lapses once the answer is whole. The wait ends
        now, the rest of the body is not sent; the connection is not reused (its unsent
        bytes are dropped with it)."""
        drain = self._drain
        if response.head_done and drain is not None and not drain.done():
            self.request_cut = True
            drain.set_result(None)

    async def _write(self, data: bytes | memoryview, response: Response) -> bool:
        """Send ``data``, waiting while the store takes nothing; False when the answer
        already came (the rest of the body is not sent: the connection is done)."""
        if response.head_done:
            self.request_cut = True
            return False
        if response.error is not None:
            raise response.error
        if self.closed or self._transport is None:
            raise TransportError("the upstream store closed the connection while receiving")
        self._transport.write(data)
        if self._write_paused:
            self._drain = self.loop.create_future()
            try:
                await self._drain
            finally:
                self._drain = None
            if self.request_cut:  # the store answered before it took this chunk
                return False
        return True

    def _wake_drain(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    # -- the read timeout ------------------------------------------------------------

    def _on_timer(self) -> None:
        self._timer = None
        response = self._current()
        if response is None or response.complete or self.closed:
            return
        now = self.loop.time()
        if self._hold or self.read_paused:
            self._last = now  # the body's source or the answer's reader is the slow side
        elif now - self._last >= self._timeout:
            response.fail(ReadTimeout(f"the upstream store sent nothing for {self._timeout}s"))
            self.abort()
            return
        self._timer = self.loop.call_at(self._last + self._timeout, self._on_timer)

    def _current(self) -> Response | None:
        ref = self._response
        return None if ref is None else ref()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
