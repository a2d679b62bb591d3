"""The lean client's HTTP/1.1 transport: a keep-alive pool of asyncio protocol connections.

What the lean client (``lean``) needs of HTTP and nothing more, at a few microseconds per
request: the request head serialised straight to bytes, answers parsed by llhttp
(``httptools``), bodies streamed both ways with back-pressure, no decompression (bytes pass
through as stored), one read-timeout timer per connection (not per request).

- ``Pool``: at most ``limit`` connections in all, idle ones kept per (host, port) for
  ``keepalive`` seconds and reused most recent first; a request finding the pool full
  waits for a free connection up to ``connect_timeout`` (then ``PoolTimeout``). An idle
  connection the server closed (``connection_lost`` seen) is never handed out. A reused
  connection that the server closes before any byte of the answer is retried once on a
  fresh connection when the body can be sent again (none, bytes, a seekable file; not a
  conditional PUT).
- ``Connection`` (``http1_connection``): one request at a time; ``read_timeout`` counts
  only while we wait for the store (not while the body's source or the reader of the
  answer is the slow side).
- ``Response`` (``http1_response``): status, lower-case headers, ``read``/``close``. A
  connection goes back to the pool only once its answer was received whole and the server
  keeps it alive; anything else closes it.

Failures are ``OSError``s (``TransportError``, ``TimeoutError``), which
``upstream_errors.translate_error`` turns into ``ServiceUnavailable`` like aiohttp's.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import AsyncIterable, Mapping
from typing import IO

from backends.s3.http1_connection import Body, Connection
from backends.s3.http1_response import (
    HEAD_MAX,
    ConnectTimeout,
    PoolTimeout,
    ReadTimeout,
    Response,
    StaleConnection,
    TransportError,
)
from sigv4.memo import remember

__all__ = [
    "HEAD_MAX",
    "Body",
    "ConnectTimeout",
    "Pool",
    "PoolTimeout",
    "ReadTimeout",
    "Response",
    "TransportError",
    "head_bytes",
]

KEEPALIVE = 30.0
_Key = tuple[str, int]
# a waiter is handed a connection (reuse it) or None (a slot: connect yourself)
_Waiter = tuple[_Key, "asyncio.Future[Connection | None]"]


def head_bytes(method: str, target: str, headers: Mapping[str, str]) -> bytes:
    """The request line and header block; ``ValueError`` if a value holds CR or LF (it
    would smuggle a header or a request into the connection)."""
    head = f"{method} {target} HTTP/1.1\r\n"
    for name, value in headers.items():  # a loop: a comprehension costs a frame on 3.11
        head += f"{name}: {value}\r\n"
    head += "\r\n"
    lines = len(headers) + 2
    if head.count("\n") != lines or head.count("\r") != lines:
        raise ValueError("CR or LF in a request header")
    return head.encode("utf-8")


def _split_authority(authority: str, default_port: int) -> _Key:
    host, colon, port = authority.rpartition(":")
    if not colon or "]" in port:  # no port, or an IPv6 literal without one
        return authority.strip("[]"), default_port
    return host.strip("[]"), int(port)


def _file(body: Body) -> IO[bytes] | None:
    if body is None or isinstance(body, bytes | bytearray | memoryview | AsyncIterable):
        return None
    return body


def _replayable(body: Body) -> bool:
    if body is None or isinstance(body, bytes | bytearray | memoryview):
        return True
    file = _file(body)
    return file is not None and file.seekable()


class Pool:
    """Keep-alive HTTP/1.1 connections to the store (``ssl_context`` for ``https``)."""

    def __init__(
        self,
        *,
        limit: int,
        connect_timeout: float,
        read_timeout: float,
        ssl_context: ssl.SSLContext | None = None,
        keepalive: float = KEEPALIVE,
    ) -> None:
        if limit < 1:
            raise ValueError("a pool needs at least one connection")
        self._limit = limit
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._ssl = ssl_context
        self._default_port = 443 if ssl_context is not None else 80
        self._keepalive = keepalive
        self._idle: dict[_Key, list[Connection]] = {}
        self._open = 0  # connections open or connecting, plus slots handed to waiters
        self._waiters: deque[_Waiter] = deque()
        self._all: set[Connection] = set()
        self._keys: dict[str, _Key] = {}
        self._closed = False

    @property
    def open_connections(self) -> int:
        return self._open

    def idle_connections(self) -> int:
        return sum(len(idle) for idle in self._idle.values())

    async def request(
        self, method: str, authority: str, target: str, headers: Mapping[str, str], body: Body
    ) -> Response:
        """Send one request to ``authority`` (the Host header's value, also where to
        connect) and return the answer once its head arrived; its body streams through
        ``Response.read``. ``headers`` must include ``host`` and, with a body,
        ``content-length``."""
        key = self._keys.get(authority)
        if key is None:
            # virtual-host addressing: one per bucket
            key = remember(
                self._keys, authority, _split_authority(authority, self._default_port), 1024
            )
        head = head_bytes(method, target, headers)
        file = _file(body)
        start = None if file is None or not file.seekable() else file.tell()
        conn = await self._acquire(key, fresh=False)
        try:
            return await conn.exchange(method, head, body)
        except StaleConnection as exc:
            retry = _replayable(body) and not (
                method == "PUT" and ("if-none-match" in headers or "if-match" in headers)
            )
            if not (exc.reused and retry):
                raise TransportError("the upstream store closed the connection") from None
        if file is not None and start is not None:
            file.seek(start)
        conn = await self._acquire(key, fresh=True)
        try:
            return await conn.exchange(method, head, body)
        except StaleConnection:
            raise TransportError("the upstream store closed the connection") from None

    async def close(self) -> None:
        """Close every connection (idle or busy) and fail the waiting requests."""
        self._closed = True
        while self._waiters:
            _, future = self._waiters.popleft()
            if not future.done():
                future.set_exception(TransportError("the upstream client is closed"))
        for conn in list(self._all):
            conn.abort()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports finish closing

    # -- connections in and out --------------------------------------------------------

    async def _acquire(self, key: _Key, *, fresh: bool) -> Connection:
        if self._closed:
            raise TransportError("the upstream client is closed")
        idle = self._idle.get(key)
        if idle and not fresh:
            now = time.monotonic()
            while idle:
                conn = idle.pop()
                if not conn.closed and now - conn.idle_since < self._keepalive:
                    return conn
                conn.abort()  # connection_lost gives its slot back
        if self._open >= self._limit and fresh:
            self._close_oldest_idle()
        if self._open < self._limit:
            self._open += 1
            return await self._connect(key)
        granted = await self._wait(key)
        return granted if granted is not None else await self._connect(key)

    def _close_oldest_idle(self) -> None:
        for idle in self._idle.values():
            if idle:
                idle.pop(0).abort()
                return

    async def _wait(self, key: _Key) -> Connection | None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Connection | None] = loop.create_future()
        self._waiters.append((key, future))
        timer = loop.call_later(self._connect_timeout, _expire, future, self._limit)
        try:
            return await future
        except asyncio.CancelledError:
            # handed a connection or a slot just as the waiting task was cancelled
            if future.done() and not future.cancelled() and future.exception() is None:
                granted = future.result()
                if granted is None:
                    self._open -= 1
                    self._grant_slot()
                else:
                    self.release(granted, reusable=True)
            raise
        finally:
            timer.cancel()

    async def _connect(self, key: _Key) -> Connection:
        """A new connection; its slot (``_open``) is already counted."""
        loop = asyncio.get_running_loop()
        host, port = key
        conn = Connection(self, key, loop, self._read_timeout)
        try:
            async with asyncio.timeout(self._connect_timeout):
                await loop.create_connection(
                    lambda: conn,
                    host,
                    port,
                    ssl=self._ssl,
                    server_hostname=host if self._ssl is not None else None,
                )
        except BaseException as exc:
            self._open -= 1
            self._grant_slot()
            if isinstance(exc, TimeoutError):
                raise ConnectTimeout(f"no connection to {host}:{port} in time") from None
            raise
        if conn.closed:  # closed at once: connection_lost already gave the slot back
            raise TransportError(f"the upstream store at {host}:{port} closed the connection")
        self._all.add(conn)
        return conn

    def release(self, conn: Connection, *, reusable: bool) -> None:
        """``conn`` finished its exchange: back to the pool (or to a waiter) if
        ``reusable``, else closed."""
        if not reusable or conn.closed or self._closed:
            conn.abort()
            return
        while self._waiters:
            key, future = self._waiters.popleft()
            if future.done():
                continue
            if key == conn.key:
                future.set_result(conn)
            else:  # the slot goes to the waiter, for a connection to its own host
                conn.abort(give_slot=False)
                future.set_result(None)
            return
        conn.idle_since = time.monotonic()
        idle = self._idle.setdefault(conn.key, [])
        idle.append(conn)
        while idle and conn.idle_since - idle[0].idle_since >= self._keepalive:
            idle.pop(0).abort()

    def lost(self, conn: Connection, *, give_slot: bool) -> None:
        """``conn`` is closed (called once per connection, by ``Connection``)."""
        self._all.discard(conn)
        idle = self._idle.get(conn.key)
        if idle and conn in idle:
            idle.remove(conn)
        if give_slot:
            self._open -= 1
            self._grant_slot()

    def _grant_slot(self) -> None:
        """A slot became free: the first live waiter takes it and connects."""
        while self._waiters and self._open < self._limit:
            _, future = self._waiters.popleft()
            if not future.done():
                self._open += 1
                future.set_result(None)
                return


def _expire(future: asyncio.Future[Connection | None], limit: int) -> None:
    if not future.done():
        future.set_exception(PoolTimeout(f"all {limit} upstream connections stayed busy"))
