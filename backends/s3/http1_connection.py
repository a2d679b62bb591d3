"""One HTTP/1.1 connection to the store and the answer it is receiving (for ``http1``).

``Connection`` is the asyncio protocol: it writes a request (head, then the body with
``drain`` back-pressure) and feeds what arrives to the current ``Response``, whose
httptools parser calls back ``on_header``, ``on_body``, ``on_message_complete``.

The read timeout costs one timer per request, not one per chunk: the timer is armed at
``last progress + read_timeout`` and, when it fires, re-armed from the latest progress
(a ``loop.time()`` kept per chunk) unless nothing came for the whole period. Time spent
waiting on the body's source, or with reading paused because the answer's reader is slow,
does not count: only the store can be too slow.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from typing import IO, TYPE_CHECKING, cast

import httptools

if TYPE_CHECKING:
    from backends.s3.http1 import Pool

__all__ = [
    "HIGH_WATER",
    "Body",
    "ConnectTimeout",
    "Connection",
    "PoolTimeout",
    "ReadTimeout",
    "Response",
    "StaleConnection",
    "TransportError",
]

Body = bytes | bytearray | memoryview | IO[bytes] | AsyncIterable[bytes] | None
"""A request body: in memory, a file (read from where it stands), or an async stream."""

HIGH_WATER = 512 * 1024
"""Answer bytes buffered before the connection stops reading (until they are read): twice
the 256 KiB the gateway reads at a time, so a reader that keeps up never pauses it (at
256 KiB every read paused and resumed the socket: two epoll changes per 256 KiB)."""
_WRITE_CHUNK = 256 * 1024
_COALESCE = 64 * 1024  # an in-memory body up to this goes out in one write with the head


class TransportError(ConnectionError):
    """The connection failed: refused, reset, closed early, or a malformed answer."""


class StaleConnection(TransportError):
    """Closed by the store before any byte of the answer (``reused``: it had served
    requests before, so the store most likely closed it as idle)."""

    def __init__(self, *, reused: bool) -> None:
        super().__init__("the upstream store closed the connection")
        self.reused = reused


class ConnectTimeout(TimeoutError):
    """No connection within ``connect_timeout``."""


class ReadTimeout(TimeoutError):
    """The store sent nothing (and took nothing) for ``read_timeout`` seconds."""


class PoolTimeout(TimeoutError):
    """Every connection of the pool stayed busy for ``connect_timeout`` seconds."""


def _keep_alive(version: str, headers: dict[str, str]) -> bool:
    connection = headers.get("connection", "").lower()
    return "keep-alive" in connection if version == "1.0" else "close" not in connection


class Response:
    """An answer: ``status``, ``headers`` (lower-case names, repeated ones joined with
    ``", "``), the body through ``read``; ``close`` hands the connection back."""

    def __init__(self, conn: Connection, *, head_only: bool) -> None:
        self._conn: Connection | None = conn
        self._parser = httptools.HttpResponseParser(self)
        self._head_only = head_only
        self.status = 0
        self.headers: dict[str, str] = {}
        self.head_done = False
        self.complete = False
        self.got_bytes = False
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._want = 0
        self._waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self._keep_alive = False
        self._eof_ends = False  # no length and not chunked: the body ends with the connection
        self._broken = False  # bytes beyond the answer: the connection is not reusable

    # -- fed by the connection -------------------------------------------------------

    def feed(self, data: bytes) -> None:
        self.got_bytes = True
        if self.complete:
            self._broken = True
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.fail(TransportError(f"malformed answer from the upstream store: {exc}"))
            if self._conn is not None:
                self._conn.abort()

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("utf-8", "surrogateescape")
        known = self.headers.get(key)
        self.headers[key] = text if known is None else f"{known}, {text}"

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status < 200:  # an interim answer (100 Continue): the real one follows
            self.headers = {}
            return
        self.status = status
        self.head_done = True
        if self._head_only:
            # llhttp cannot be told that an answer to HEAD has no body
            self._keep_alive = _keep_alive(self._parser.get_http_version(), self.headers)
            self._finish()
        else:
            self._eof_ends = "content-length" not in self.headers and "chunked" not in (
                self.headers.get("transfer-encoding", "").lower()
            )
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self.complete:  # a body after a HEAD answer
            self._broken = True
            return
        self._chunks.append(body)
        self._size += len(body)
        if self._size >= HIGH_WATER and self._conn is not None:
            self._conn.pause_reading()
        if self._waiter is not None and self._size >= self._want:
            self._wake()

    def on_message_complete(self) -> None:
        if not self.head_done or self.complete:  # an interim answer's end, or HEAD's
            return
        self._keep_alive = self._parser.should_keep_alive()
        self._finish()
        self._wake()

    def connection_lost(self) -> None:
        if self.complete:
            return
        if self.head_done and self._eof_ends:
            self.complete = True  # the body was "until the connection closes"
            self._wake()
            return
        where = "mid-answer" if self.got_bytes else "before answering"
        self.fail(TransportError(f"the upstream store closed the connection {where}"))

    @property
    def buffered(self) -> int:
        """Body bytes received and not read yet."""
        return self._size

    @property
    def error(self) -> BaseException | None:
        return self._error

    def fail(self, error: BaseException) -> None:
        if self._error is None and not self.complete:
            self._error = error
            self._broken = True
            self._wake()

    def _finish(self) -> None:
        self.complete = True
        if self._conn is not None:
            self._conn.answered()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self, want: int) -> None:
        self._want = want
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    # -- read by the client ----------------------------------------------------------

    async def wait_head(self) -> None:
        while not self.head_done:
            if self._error is not None:
                raise self._error
            await self._wait(0)

    async def read(self, amount: int) -> bytes:
        """Up to ``amount`` bytes of the body, fewer only at its end (``b""`` after it);
        the connection goes back to the pool once the whole answer was read."""
        want = min(amount, HIGH_WATER)
        while self._size < want and not self.complete:
            if self._error is not None:
                raise self._error
            conn = self._conn
            if conn is not None and conn.read_paused:
                conn.resume_reading()
            await self._wait(want)
        data = self._take(amount)
        if self.complete and not self._size:
            self.close()
        elif self._conn is not None and self._conn.read_paused and self._size < HIGH_WATER:
            self._conn.resume_reading()
        return data

    async def read_all(self, limit: int | None = None) -> bytes:
        """The body (its first ``limit`` bytes with a limit)."""
        parts: list[bytes] = []
        size = 0
        while limit is None or size < limit:
            chunk = await self.read(HIGH_WATER if limit is None else limit - size)
            if not chunk:
                break
            parts.append(chunk)
            size += len(chunk)
        return b"".join(parts)

    def _take(self, amount: int) -> bytes:
        chunks = self._chunks
        if not chunks:
            return b""
        first = chunks[0]
        if len(first) >= amount:
            if len(first) == amount:
                chunks.popleft()
            else:
                chunks[0] = first[amount:]
                first = first[:amount]
            self._size -= amount
            return first
        parts: list[bytes] = []
        taken = 0
        while chunks and taken < amount:
            chunk = chunks.popleft()
            if taken + len(chunk) > amount:
                cut = amount - taken
                chunks.appendleft(chunk[cut:])
                chunk = chunk[:cut]
            parts.append(chunk)
            taken += len(chunk)
        self._size -= taken
        return b"".join(parts)

    def __del__(self) -> None:
        conn = self._conn
        if conn is not None:  # dropped without close(): the connection cannot be reused
            with contextlib.suppress(RuntimeError):  # the event loop may be closed
                conn.abort()

    def close(self) -> None:
        """Done with this answer: the connection is reused if the answer arrived whole
        and the store keeps it alive, else closed (unread bytes are never skipped)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        self._chunks.clear()
        self._size = 0
        reusable = self.complete and self._keep_alive and not self._broken
        conn.done(reusable=reusable and not conn.request_cut)


class Connection(asyncio.Protocol):
    """One keep-alive connection of a ``Pool``; one request at a time."""

    def __init__(
        self, pool: Pool, key: tuple[str, int], loop: asyncio.AbstractEventLoop, timeout: float
    ) -> None:
        self.pool = pool
        self.key = key
        self.closed = False
        self.idle_since = 0.0
        self.read_paused = False
        self.request_cut = False  # the answer came before the whole body was sent
        self._loop = loop
        self._timeout = timeout
        self._transport: asyncio.Transport | None = None
        self._uses = 0
        # weak: an answer its reader dropped without close() is collected, and its
        # __del__ closes this connection (else the pool would lose the slot for good)
        self._response: weakref.ref[Response] | None = None
        self._write_paused = False
        self._drain: asyncio.Future[None] | None = None
        self._hold = False  # waiting on the body's source: the store is not the slow side
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
        self._last = self._loop.time()
        response.feed(data)

    def eof_received(self) -> bool | None:
        return None  # close: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._cancel_timer()
        self._wake_drain()
        response = self._current()
        if response is not None:
            response.connection_lost()
        self._leave_pool()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._last = self._loop.time()
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
            self._last = self._loop.time()
            if self._transport is not None and not self.closed:
                self._transport.resume_reading()

    def answered(self) -> None:
        """The whole answer arrived: no more read timeout for this request."""
        self._cancel_timer()

    def done(self, *, reusable: bool) -> None:
        self._response = None
        self._cancel_timer()
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
        self._last = self._loop.time()
        self._timer = self._loop.call_at(self._last + self._timeout, self._on_timer)
        try:
            await self._send(head, body, response)
            await response.wait_head()
        except BaseException as exc:
            response.close()  # and the connection with it
            if isinstance(exc, TransportError) and not response.got_bytes:
                raise StaleConnection(reused=reused) from exc
            raise
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
            while chunk := await self._loop.run_in_executor(None, body.read, _WRITE_CHUNK):
                if not await self._write(chunk, response):
                    return

    async def _send_stream(self, chunks: AsyncIterator[bytes], response: Response) -> None:
        try:
            while True:
                self._hold = True
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    return
                finally:
                    self._hold = False
                    self._last = self._loop.time()
                if chunk and not await self._write(chunk, response):
                    return
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()

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
            self._drain = self._loop.create_future()
            try:
                await self._drain
            finally:
                self._drain = None
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
        now = self._loop.time()
        if self._hold or self.read_paused:
            self._last = now  # the body's source or the answer's reader is the slow side
        elif now - self._last >= self._timeout:
            response.fail(ReadTimeout(f"the upstream store sent nothing for {self._timeout}s"))
            self.abort()
            return
        self._timer = self._loop.call_at(self._last + self._timeout, self._on_timer)

    def _current(self) -> Response | None:
        ref = self._response
        return None if ref is None else ref()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
