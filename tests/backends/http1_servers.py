"""Small real HTTP servers for the transport tests (tests/backends/test_s3_http1*.py).

``RawServer`` runs a scripted handler per connection on a free port: the tests decide
byte for byte what the "store" answers (chunked, no length, early close, stalls).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["RawServer", "Request", "answer", "raw_server", "read_request"]

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes = b""


async def read_request(reader: asyncio.StreamReader, *, body: bool = True) -> Request | None:
    """The next request on the connection (``None`` when the client closed it)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    line, *fields = head.decode().split("\r\n")[:-2]
    method, target, _ = line.split(" ")
    headers = {}
    for text in fields:
        name, _, value = text.partition(":")
        headers[name.strip().lower()] = value.strip()
    request = Request(method, target, headers)
    length = int(headers.get("content-length", "0"))
    if body and length:
        request.body = await reader.readexactly(length)
    return request


def answer(status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    """An answer with Content-Length (unless ``headers`` says otherwise)."""
    fields = {"content-length": str(len(body)), **(headers or {})}
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items() if value)
    return f"HTTP/1.1 {status} X\r\n{head}\r\n".encode() + body


@dataclass
class RawServer:
    port: int
    connections: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    @property
    def authority(self) -> str:
        return f"127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def raw_server(
    handler: Handler, *, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[RawServer]:
    """Serve ``handler(reader, writer, n)`` for the n-th connection (from 1)."""
    state = RawServer(0)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        state.writers.append(writer)
        try:
            await handler(reader, writer, state.connections)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away, or the test ended
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=ssl_context)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        for writer in state.writers:
            transport = writer.transport
            # A transport closed after its buffer drained is already gone: asyncio (3.11)
            # drops its loop without counting the loss, and abort() would then fail.
            if not transport.is_closing() or transport.get_write_buffer_size():
                transport.abort()
        await server.wait_closed()
