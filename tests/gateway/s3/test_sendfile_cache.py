"""``send_file`` over a real TCP connection: each piece is brought into the page cache
before it is sent (the first before anything goes out, each next one while the one
before is sent), the bytes arrive whole, and a read still running when the send fails
has ended before ``send_file`` returns (the caller closes the descriptor next)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.s3.sendfile import PIECE, send_file


@dataclass
class _Request:
    transport: asyncio.Transport


class _Reader(asyncio.Protocol):
    def __init__(self) -> None:
        self.data = bytearray()

    def data_received(self, data: bytes) -> None:
        self.data += data


@pytest.fixture
async def connection() -> AsyncIterator[tuple[_Request, _Reader]]:
    reader = _Reader()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: reader, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    assert isinstance(transport, asyncio.Transport)
    yield _Request(transport), reader
    transport.close()
    server.close()
    await server.wait_closed()


async def _received(reader: _Reader, size: int) -> bytes:
    async with asyncio.timeout(30):
        while len(reader.data) < size:
            await asyncio.sleep(0.01)
    return bytes(reader.data)


async def test_each_piece_is_cached_before_it_is_sent(
    tmp_path: Path, connection: tuple[_Request, _Reader]
) -> None:
    request, reader = connection
    data = os.urandom(3 * PIECE + 5)
    (tmp_path / "f").write_bytes(data)
    fd = os.open(tmp_path / "f", os.O_RDONLY)
    calls: list[tuple[int, int]] = []
    done: list[asyncio.Future[None]] = []
    loop = asyncio.get_running_loop()

    def cache(offset: int, length: int) -> asyncio.Future[None]:
        # when a piece's cache is asked for, every piece before it is cached and has
        # been handed to sendfile, so no sendfile ever waits for an uncached piece
        assert all(f.done() for f in done)
        calls.append((offset, length))
        future: asyncio.Future[None] = loop.create_future()
        loop.call_later(0.01, future.set_result, None)
        done.append(future)
        return future

    try:
        sent = await send_file(
            request,  # type: ignore[arg-type]
            fd,
            7,
            len(data) - 7,
            send_timeout=10,
            cache=cache,
        )
    finally:
        os.close(fd)
    assert sent == len(data) - 7
    assert await _received(reader, sent) == data[7:]
    assert calls == [(7, PIECE), (7 + PIECE, PIECE), (7 + 2 * PIECE, PIECE - 2)]


async def test_a_read_in_flight_ends_before_a_failed_send_returns(
    tmp_path: Path, connection: tuple[_Request, _Reader]
) -> None:
    request, _ = connection
    (tmp_path / "f").write_bytes(os.urandom(2 * PIECE))
    fd = os.open(tmp_path / "f", os.O_RDONLY)
    loop = asyncio.get_running_loop()
    reads: list[asyncio.Future[None]] = []

    def cache(offset: int, length: int) -> asyncio.Future[None] | None:
        if offset == 0:
            request.transport.abort()  # the client goes away before the first piece
            return None
        future: asyncio.Future[None] = loop.create_future()
        loop.call_later(0.2, future.set_result, None)
        reads.append(future)
        return future

    try:
        with pytest.raises((ConnectionError, OSError, RuntimeError)):
            await send_file(
                request,  # type: ignore[arg-type]
                fd,
                0,
                2 * PIECE,
                send_timeout=10,
                cache=cache,
            )
    finally:
        os.close(fd)
    assert reads and all(f.done() for f in reads)
