"""Connection limits of a listener: timeouts for slow clients and caps on open connections.

aiohttp alone keeps a connection whose client sends a header byte every few seconds
forever (its keep-alive timer only closes connections with nothing received, and it
has no body or send timeout), and accepts connections until the process runs out of
descriptors. :class:`ConnectionGuard` wraps aiohttp's protocol factory for one listener:

- every connection is in one phase: ``new`` (nothing received yet), ``head`` (part of a
  request head received), ``request`` (a handler is running) or ``idle`` (between
  requests of a keep-alive connection);
- **header timeout**: a request head must be complete ``header_timeout`` seconds after
  the connection opened (first request) or after its first byte arrived (later ones);
- **body timeout**: while a handler runs, its request body is not complete and the
  connection is not paused by flow control (so the gateway is waiting on the client), a
  connection is closed after ``body_timeout`` seconds without a byte, or when a window of
  ``body_timeout`` seconds brought less than ``body_min_rate`` bytes/s on average. An
  upload at any steady rate above that never ends by timeout, however large it is;
- **keep-alive timeout**: an idle connection closes after ``keepalive_timeout`` seconds;
- **send timeout**: a connection whose send buffer stays full (the client does not read
  the response) for ``send_timeout`` seconds is closed;
- **caps**: at most ``max_connections`` open connections, ``max_per_address`` from one
  address. At the total cap the oldest connection that holds no request (new or idle)
  is closed to make room, as nginx reuses keep-alive connections; when there is none,
  or at the per-address cap, the new connection gets a bare ``503`` with
  ``Retry-After`` and is closed.

Timers are checked by one sweep per second per listener, so a timeout fires within a
second after it is due. A value of 0 turns a timeout or cap off. For a TLS listener,
the handshake is bounded by ``header_timeout`` (asyncio's ``ssl_handshake_timeout``)
and a connection is counted once its handshake completed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from gateway.ratelog import RateLimitedLog

__all__ = ["ConnectionGuard", "GuardedSite", "Limits"]

log = logging.getLogger("nfyio.connections")

Phase = Literal["new", "head", "request", "idle"]
_REFUSED = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
    b"Retry-After: 1\r\nConnection: close\r\n\r\n"
)
SWEEP_INTERVAL = 1.0


@dataclass(frozen=True, slots=True)
class Limits:
    header_timeout: float = 30.0
    body_timeout: float = 60.0
    body_min_rate: int = 500
    keepalive_timeout: float = 75.0
    send_timeout: float = 60.0
    max_connections: int = 8192
    max_per_address: int = 1024
    backlog: int = 128
    """``listen()`` backlog, also how many sockets asyncio accepts per wake-up."""


class _Conn(asyncio.Protocol):
    """One accepted connection: forwards to aiohttp's handler and keeps the clocks."""

    __slots__ = (
        "body_bytes",
        "body_since",
        "bytes_in",
        "guard",
        "host",
        "inner",
        "last_data",
        "phase",
        "phase_since",
        "request",
        "transport",
        "write_paused_since",
    )

    def __init__(self, guard: ConnectionGuard) -> None:
        self.guard = guard
        self.inner: RequestHandler | None = None
        self.transport: asyncio.Transport | None = None
        self.host = ""
        self.phase: Phase = "new"
        self.phase_since = 0.0
        self.last_data = 0.0
        self.bytes_in = 0
        self.body_since: float | None = None
        self.body_bytes = 0
        self.request: BaseRequest | None = None
        self.write_paused_since: float | None = None

    # -- asyncio protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if not self.guard.admit(self, transport):
            return
        self.inner = self.guard.make_handler(self)
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        inner = self.inner
        if inner is None:
            return
        now = self.guard.now()
        self.last_data = now
        self.bytes_in += len(data)
        if self.phase == "idle":
            self.guard.set_phase(self, "head", now)
        elif self.phase == "new":  # the first head: its clock started at accept
            self.guard.set_phase(self, "head", self.phase_since)
        inner.data_received(data)

    def eof_received(self) -> bool | None:
        if self.inner is not None:
            self.inner.eof_received()
        return None  # the transport closes itself, as for aiohttp's handler

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.release(self)
        if self.inner is not None:
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.write_paused_since = self.guard.now()
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.write_paused_since = None
        if self.inner is not None:
            self.inner.resume_writing()

    # -- clocks ----------------------------------------------------------------------------

    def overdue(self, now: float, limits: Limits) -> tuple[str, str] | None:
        """(kind, reason) when this connection must close now, else ``None``."""
        paused = self.write_paused_since
        if limits.send_timeout and paused is not None and now - paused > limits.send_timeout:
            return "send timeout", f"response not read for {limits.send_timeout:g} s"
        if self.phase == "request":
            return self._body_overdue(now, limits)
        if self.phase in ("new", "head"):
            if limits.header_timeout and now - self.phase_since > limits.header_timeout:
                return "header timeout", (
                    f"request head not complete after {limits.header_timeout:g} s"
                )
            return None
        if limits.keepalive_timeout and now - self.phase_since > limits.keepalive_timeout:
            return "idle", f"idle for {limits.keepalive_timeout:g} s"
        return None

    def _body_overdue(self, now: float, limits: Limits) -> tuple[str, str] | None:
        request, transport = self.request, self.transport
        if request is None or transport is None or not limits.body_timeout:
            return None
        if request.content.is_eof() or not transport.is_reading():
            self.body_since = None  # the body is in, or the gateway is not reading
            return None
        if self.body_since is None:
            self.body_since, self.body_bytes = now, self.bytes_in
            return None
        if now - max(self.last_data, self.body_since) > limits.body_timeout:
            return "body timeout", f"no request body byte for {limits.body_timeout:g} s"
        elapsed = now - self.body_since
        if elapsed >= limits.body_timeout:
            received = self.bytes_in - self.body_bytes
            if received < limits.body_min_rate * elapsed:
                return "body too slow", (
                    f"request body slower than {limits.body_min_rate} bytes/s "
                    f"({received} bytes in {elapsed:.0f} s)"
                )
            self.body_since, self.body_bytes = now, self.bytes_in
        return None


class ConnectionGuard:
    """The limits of one listener: a protocol factory for ``loop.create_server``."""

    def __init__(
        self,
        server: web.Server,
        limits: Limits,
        name: str,
        handler_class: type[RequestHandler] | None = None,
    ) -> None:
        self.limits = limits
        self._handler_class = handler_class
        self.name = name
        self._server = server
        self._loop = asyncio.get_running_loop()
        self.now: Callable[[], float] = self._loop.time
        """The loop's clock (its bound method: read three times a request, so no method
        of ours around it)."""
        self._conns: dict[_Conn, None] = {}
        self._reusable: dict[_Conn, None] = {}  # phase new or idle, oldest first
        self._by_handler: dict[RequestHandler, _Conn] = {}
        self._per_host: dict[str, int] = {}
        self._log = RateLimitedLog(log, level=logging.WARNING)
        self._sweeper: asyncio.Task[None] | None = None
        handler = server.request_handler
        server.request_handler = self._tracked(handler)

    @property
    def open_connections(self) -> int:
        return len(self._conns)

    def __call__(self) -> _Conn:
        return _Conn(self)

    def make_handler(self, conn: _Conn) -> RequestHandler:
        handler = self._server()
        if self._handler_class is not None:
            # a subclass without state of its own (``gateway.malformed``): the handler
            # aiohttp made, with every setting it was given, answering as the listener
            handler.__class__ = self._handler_class
        # aiohttp's C parser stops at 32 requests in flight, counting a request once its
        # body is complete, while the handler counts it queued once its head is parsed
        # and pauses (then re-reads what the parser held back) at 32 queued. An upload
        # taken off the queue before its body came leaves the parser one ahead, for the
        # rest of the connection: it then stopped at 31 queued, the handler never paused,
        # and the rest of a pipelined burst was never read again. Pausing at one fewer
        # covers that one (tests/security/test_pipelined_connection.py).
        handler._max_msg_queue_size -= 1
        self._by_handler[handler] = conn
        return handler

    def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        self._log.flush()

    # -- admission -------------------------------------------------------------------------

    def admit(self, conn: _Conn, transport: asyncio.Transport) -> bool:
        peer = transport.get_extra_info("peername")
        host = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        limits = self.limits
        if limits.max_per_address and self._per_host.get(host, 0) >= limits.max_per_address:
            return self._refuse(
                transport,
                "per-address limit",
                f"{self.name}: refused a connection from {host}: "
                f"{limits.max_per_address} already open from that address",
            )
        if limits.max_connections and len(self._conns) >= limits.max_connections:
            victim = next(iter(self._reusable), None)
            if victim is None:
                return self._refuse(
                    transport,
                    "connection limit",
                    f"{self.name}: refused a connection from {host}: "
                    f"{limits.max_connections} connections open, none idle",
                )
            self._close(victim, "closed to make room (connection limit)", abort=False)
        now = self.now()
        conn.host = host
        conn.phase_since = conn.last_data = now
        self._conns[conn] = None
        self._reusable[conn] = None
        self._per_host[host] = self._per_host.get(host, 0) + 1
        return True

    def _refuse(self, transport: asyncio.Transport, kind: str, message: str) -> bool:
        self._log.event(kind, message)
        with contextlib.suppress(OSError, RuntimeError):
            transport.write(_REFUSED)
        transport.close()
        return False

    def release(self, conn: _Conn) -> None:
        if self._conns.pop(conn, False) is not False:
            self._reusable.pop(conn, None)
            count = self._per_host.get(conn.host, 0) - 1
            if count > 0:
                self._per_host[conn.host] = count
            else:
                self._per_host.pop(conn.host, None)
        if conn.inner is not None:
            self._by_handler.pop(conn.inner, None)

    # -- phases ----------------------------------------------------------------------------

    def set_phase(self, conn: _Conn, phase: Phase, now: float) -> None:
        conn.phase, conn.phase_since = phase, now
        if conn not in self._conns:
            return
        self._reusable.pop(conn, None)
        if phase in ("new", "idle"):
            self._reusable[conn] = None

    def _tracked(
        self, handler: Callable[[BaseRequest], Awaitable[web.StreamResponse]]
    ) -> Callable[[BaseRequest], Awaitable[web.StreamResponse]]:
        async def tracked(request: BaseRequest) -> web.StreamResponse:
            conn = self._by_handler.get(request.protocol)
            if conn is None:
                return await handler(request)
            conn.request, conn.body_since = request, None
            self.set_phase(conn, "request", self.now())
            try:
                return await handler(request)
            except ConnectionError:
                transport = conn.transport
                if transport is not None and not transport.is_closing():
                    raise
                # The client went away (or was cut off here) mid-request: nothing to
                # answer and nothing to log as a server error. aiohttp drops this reply.
                log.debug("%s: %s left during a request", self.name, conn.host)
                return web.Response(status=400)
            finally:
                conn.request, conn.body_since = None, None
                self.set_phase(conn, "idle", self.now())

        return tracked

    # -- sweeping --------------------------------------------------------------------------

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            self.sweep(self.now())

    def sweep(self, now: float) -> None:
        for conn in list(self._conns):
            overdue = conn.overdue(now, self.limits)
            if overdue is None:
                continue
            kind, reason = overdue
            if kind == "idle":
                self._close(conn, reason, abort=False)
            else:
                self._log.event(
                    kind, f"{self.name}: closed a connection from {conn.host}: {reason}"
                )
                self._close(conn, reason, abort=True)
        self._log.flush()

    def _close(self, conn: _Conn, reason: str, *, abort: bool) -> None:
        """Close ``conn``: gracefully when nothing is in flight, else at once (RST)."""
        log.debug("%s: closing connection from %s: %s", self.name, conn.host, reason)
        self.release(conn)
        transport = conn.transport
        if transport is None or transport.is_closing():
            return
        if abort:
            transport.abort()
        else:
            transport.close()


class GuardedSite(web.BaseSite):
    """A TCP site whose connections go through a :class:`ConnectionGuard`."""

    __slots__ = ("_guard", "_handler_class", "_host", "_label", "_limits", "_port", "_reuse_port")

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        limits: Limits,
        *,
        name: str,
        ssl_context: ssl.SSLContext | None = None,
        reuse_port: bool = False,
        handler_class: type[RequestHandler] | None = None,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=limits.backlog)
        self._handler_class = handler_class
        self._host = host
        self._port = port
        self._reuse_port = reuse_port
        self._limits = limits
        self._label = name
        self._guard: ConnectionGuard | None = None

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self._host}:{self._port}"

    @property
    def guard(self) -> ConnectionGuard:
        assert self._guard is not None, "site not started"
        return self._guard

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        guard = ConnectionGuard(server, self._limits, self._label, self._handler_class)
        self._guard = guard
        loop = asyncio.get_running_loop()
        handshake = self._limits.header_timeout or None
        self._server = await loop.create_server(
            guard,
            self._host,
            self._port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            reuse_port=self._reuse_port or None,
            ssl_handshake_timeout=handshake if self._ssl_context else None,
        )
        guard.start()

    async def stop(self) -> None:
        await super().stop()
        if self._guard is not None:
            await self._guard.stop()
