"""An answer from the store as it arrives on a ``Connection`` (for ``http1``), and the
transport's errors.

``Response`` is the httptools parser's protocol: ``on_header``, ``on_body``,
``on_message_complete`` fill it; ``read`` hands the body over in the pieces the caller asks
for, with back-pressure (the connection stops reading while ``HIGH_WATER`` bytes wait).
Every error is an ``OSError`` (``TransportError``, ``TimeoutError``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import TYPE_CHECKING

import httptools

from sigv4.memo import remember

if TYPE_CHECKING:
    from backends.s3.http1_connection import Connection

__all__ = [
    "HEAD_MAX",
    "HIGH_WATER",
    "ConnectTimeout",
    "PoolTimeout",
    "ReadTimeout",
    "Response",
    "StaleConnection",
    "TransportError",
]

HIGH_WATER = 512 * 1024
"""Answer bytes buffered before the connection stops reading (until they are read): twice
the 256 KiB the gateway reads at a time, so a reader that keeps up never pauses it (at
256 KiB every read paused and resumed the socket: two epoll changes per 256 KiB)."""


HEAD_MAX = 64 * 1024
"""Bytes of an answer's head (status line and headers, interim answers included) before
it is refused as malformed. llhttp sets no limit, and every header goes into a dict: a
store that sent headers without end would otherwise grow it without end. S3's own heads
are a few KiB (user metadata is at most 2 KiB)."""


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


_NAMES_MAX = 256
"""Header names remembered lower-cased (a store sends the same dozen on every answer;
``sigv4.memo.remember``: bounded whatever a store sends)."""
_names: dict[bytes, str] = {}


def _name(raw: bytes) -> str:
    # llhttp took only token characters: ASCII
    return remember(_names, raw, raw.lower().decode(), _NAMES_MAX)


def _keep_alive(version: str, headers: dict[str, str]) -> bool:
    connection = headers.get("connection", "").lower()
    return "keep-alive" in connection if version == "1.0" else "close" not in connection


class Response:
    """An answer: ``status``, ``headers`` (lower-case names, repeated ones joined with
    ``", "``), the body through ``read``; ``close`` hands the connection back."""

    __slots__ = (
        "__weakref__",
        "_broken",
        "_chunks",
        "_conn",
        "_eof_ends",
        "_error",
        "_head_only",
        "_head_size",
        "_keep_alive",
        "_loop",
        "_parser",
        "_size",
        "_waiter",
        "_want",
        "complete",
        "got_bytes",
        "head_done",
        "headers",
        "status",
    )

    def __init__(self, conn: Connection, *, head_only: bool) -> None:
        self._conn: Connection | None = conn
        self._loop = conn.loop
        # the parser holds this answer's callbacks and the answer holds the parser: a
        # reference cycle, broken by ``close`` (else every answer would wait for the
        # cyclic garbage collector, with its ``__del__``: ~20 us a proxied request)
        self._parser: httptools.HttpResponseParser | None = httptools.HttpResponseParser(self)
        self._head_only = head_only
        self._head_size = 0
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
        parser = self._parser
        if self.complete or parser is None:
            self._broken = True
            return
        try:
            parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._refuse(f"malformed answer from the upstream store: {exc}")
            return
        if not self.head_done:
            # every byte fed so far was head: the head is at least this long
            self._head_size += len(data)
            if self._head_size > HEAD_MAX:
                self._refuse(f"the upstream store's answer head is over {HEAD_MAX} bytes")

    def _refuse(self, reason: str) -> None:
        self.fail(TransportError(reason))
        if self._conn is not None:
            self._conn.abort()

    def on_header(self, name: bytes, value: bytes) -> None:
        key = _names.get(name)
        if key is None:
            key = _name(name)
        try:
            text = value.decode()  # the usual case: ASCII, without an error handler
        except UnicodeDecodeError:
            text = value.decode("utf-8", "surrogateescape")
        headers = self.headers
        if key in headers:
            text = f"{headers[key]}, {text}"
        headers[key] = text

    def on_headers_complete(self) -> None:
        parser = self._parser
        assert parser is not None  # called by the parser, while it is fed
        status = parser.get_status_code()
        if status < 200:  # an interim answer (100 Continue): the real one follows
            self.headers = {}
            return
        self.status = status
        self.head_done = True
        if self._head_only:
            # llhttp cannot be told that an answer to HEAD has no body
            self._keep_alive = _keep_alive(parser.get_http_version(), self.headers)
            self.complete = True  # the connection's read timer sees it and lapses
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
        parser = self._parser
        assert parser is not None  # called by the parser, while it is fed
        self._keep_alive = parser.should_keep_alive()
        self.complete = True  # the connection's read timer sees it and lapses
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

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self, want: int) -> None:
        self._want = want
        # the connection's loop: asyncio.get_running_loop() costs a getpid() system call
        self._waiter = self._loop.create_future()
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
        self._parser = None  # the cycle (see __init__): this answer is freed by refcount
        conn, self._conn = self._conn, None
        if conn is None:
            return
        self._chunks.clear()
        self._size = 0
        reusable = self.complete and self._keep_alive and not self._broken
        conn.done(reusable=reusable and not conn.request_cut)
