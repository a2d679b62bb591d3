"""The lean client's HTTP/1.1 transport (``backends.s3.http1``) against small real servers:
keep-alive and the bounded pool, answer framings, timeouts, stale connections."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import gzip
import hashlib
import tempfile
from collections.abc import AsyncIterator

import pytest

from backends.s3.http1 import (
    Pool,
    PoolTimeout,
    TransportError,
    head_bytes,
)
from backends.s3.http1_response import HIGH_WATER
from tests.backends.http1_servers import RawServer, answer, raw_server, read_request

MiB = 1024 * 1024


def make_pool(**kwargs: object) -> Pool:
    values: dict[str, object] = {"limit": 4, "connect_timeout": 2.0, "read_timeout": 5.0}
    values.update(kwargs)
    return Pool(**values)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def pool_of(**kwargs: object) -> AsyncIterator[Pool]:
    pool = make_pool(**kwargs)
    try:
        yield pool
    finally:
        await pool.close()


def headers(server: RawServer, **more: str) -> dict[str, str]:
    return {"host": server.authority, **more}


async def get(pool: Pool, server: RawServer, target: str = "/", method: str = "GET") -> bytes:
    response = await pool.request(method, server.authority, target, headers(server), None)
    try:
        return await response.read_all()
    finally:
        response.close()


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
    """Answers each request with its target and the SHA-256 of its body, kept alive."""
    while (request := await read_request(reader)) is not None:
        digest = hashlib.sha256(request.body).hexdigest()
        writer.write(answer(body=f"{request.target} {len(request.body)} {digest}".encode()))
        await writer.drain()


# -- keep-alive and the pool -----------------------------------------------------------


async def test_keep_alive_reuses_one_connection() -> None:
    async with raw_server(echo) as server, pool_of() as pool:
        for i in range(5):
            assert (await get(pool, server, f"/k{i}")).startswith(f"/k{i} 0 ".encode())
        assert server.connections == 1
        assert pool.idle_connections() == 1


async def test_pool_is_bounded_and_a_request_waits_for_a_free_connection() -> None:
    release = asyncio.Event()
    busy = 0
    most = 0

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        nonlocal busy, most
        while await read_request(reader) is not None:
            busy += 1
            most = max(most, busy)
            await release.wait()
            busy -= 1
            writer.write(answer(body=b"ok"))
            await writer.drain()

    async with raw_server(slow) as server, pool_of(limit=2) as pool:
        tasks = [asyncio.create_task(get(pool, server)) for _ in range(5)]
        async with asyncio.timeout(10):  # a fixed pause was too short on a loaded machine
            while busy < 2:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # time for a third request, were one let through
        assert server.connections == 2  # the other three wait for a connection
        assert not any(task.done() for task in tasks)
        release.set()
        assert await asyncio.gather(*tasks) == [b"ok"] * 5
        assert server.connections == 2
        assert most == 2


async def test_a_full_pool_fails_after_the_connect_timeout() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        await asyncio.sleep(30)

    # The first request holds the connection far longer (its read timeout, 60 s) than the
    # wait may last, so only the pool's wait (0.3 s, the connect timeout) can end it
    # before the bound below, which leaves a loaded machine seconds to spare.
    holding = pool_of(limit=1, connect_timeout=0.3, read_timeout=60.0)
    async with raw_server(stall) as server, holding as pool:
        first = asyncio.create_task(get(pool, server))
        await asyncio.sleep(0.1)
        started = asyncio.get_running_loop().time()
        with pytest.raises(PoolTimeout):
            await get(pool, server)
        assert 0.25 < asyncio.get_running_loop().time() - started < 10
        first.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await first
        assert pool.open_connections == 0  # the cancelled request's connection is closed


# -- answer framings -------------------------------------------------------------------


async def test_head_answer_has_a_length_but_no_body_and_the_connection_is_reused() -> None:
    async def head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while (request := await read_request(reader)) is not None:
            if request.method == "HEAD":
                writer.write(answer(headers={"content-length": "12345", "etag": '"e"'}))
            else:
                writer.write(answer(body=b"after"))

    async with raw_server(head) as server, pool_of() as pool:
        response = await pool.request("HEAD", server.authority, "/", headers(server), None)
        assert response.status == 200
        assert response.headers["content-length"] == "12345"
        assert response.headers["etag"] == '"e"'
        assert response.complete
        assert await response.read(1024) == b""
        response.close()
        assert await get(pool, server) == b"after"
        assert server.connections == 1


async def test_content_length_chunked_and_repeated_headers() -> None:
    body = bytes(range(256)) * 1000

    async def framings(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while (request := await read_request(reader)) is not None:
            if request.target == "/chunked":
                writer.write(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Amz-Meta-A: 1\r\n"
                    b"x-amz-meta-a: 2\r\n\r\n"
                )
                for offset in range(0, len(body), 70_000):
                    piece = body[offset : offset + 70_000]
                    writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
            else:
                writer.write(answer(body=body))

    async with raw_server(framings) as server, pool_of() as pool:
        assert await get(pool, server, "/length") == body
        response = await pool.request("GET", server.authority, "/chunked", headers(server), None)
        assert response.headers["x-amz-meta-a"] == "1, 2"
        assert await response.read_all() == body
        response.close()
        assert await get(pool, server, "/length") == body
        assert server.connections == 1


async def test_connection_close_answer_is_not_reused() -> None:
    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        writer.write(answer(body=f"c{n}".encode(), headers={"connection": "close"}))
        await writer.drain()
        await asyncio.sleep(5)  # the client must not wait for this close

    async with raw_server(closing) as server, pool_of() as pool:
        assert await get(pool, server) == b"c1"
        assert pool.idle_connections() == 0
        assert await get(pool, server) == b"c2"
        assert server.connections == 2


async def test_answer_without_length_is_read_to_the_end_of_the_connection() -> None:
    async def eof(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
        for _ in range(40):
            writer.write(b"x" * 10_000)
            await writer.drain()

    async with raw_server(eof) as server, pool_of() as pool:
        assert await get(pool, server) == b"x" * 400_000
        assert pool.idle_connections() == 0


async def test_gzip_bodies_pass_through_byte_exact() -> None:
    stored = gzip.compress(b"hello " * 10_000)

    async def gz(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(answer(body=stored, headers={"content-encoding": "gzip"}))

    async with raw_server(gz) as server, pool_of() as pool:
        response = await pool.request("GET", server.authority, "/", headers(server), None)
        assert response.headers["content-encoding"] == "gzip"
        assert await response.read_all() == stored
        response.close()


async def test_malformed_answer_is_a_transport_error() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n")

    async with raw_server(garbage) as server, pool_of() as pool:
        with pytest.raises(TransportError):
            await get(pool, server)
        assert pool.open_connections == 0


def test_a_header_value_with_a_line_break_is_refused() -> None:
    assert head_bytes("GET", "/", {"host": "h", "x-a": "1"}) == (
        b"GET / HTTP/1.1\r\nhost: h\r\nx-a: 1\r\n\r\n"
    )
    for value in ("1\r\nx-b: 2", "1\nx-b: 2", "1\r"):
        with pytest.raises(ValueError, match="CR or LF"):
            head_bytes("GET", "/", {"host": "h", "x-a": value})


# -- bodies: back-pressure both ways -----------------------------------------------------


async def test_a_streamed_answer_is_buffered_only_up_to_the_bound() -> None:
    total = 64 * MiB
    sent_all = asyncio.Event()

    async def big(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
        piece = b"y" * MiB
        for _ in range(total // MiB):
            writer.write(piece)
            await writer.drain()
        sent_all.set()

    async with raw_server(big) as server, pool_of() as pool:
        response = await pool.request("GET", server.authority, "/", headers(server), None)
        assert len(await response.read(256 * 1024)) == 256 * 1024
        await asyncio.sleep(0.5)
        assert not sent_all.is_set()  # the store is held back, not buffered in full
        assert response.buffered <= HIGH_WATER + 256 * 1024
        received = 256 * 1024
        while chunk := await response.read(256 * 1024):
            received += len(chunk)
        assert received == total
        assert sent_all.is_set()
        response.close()
        assert pool.idle_connections() == 1


async def test_request_bodies_bytes_file_and_stream() -> None:
    small, large = b"s" * 1000, bytes(range(256)) * 4096  # 1 MiB

    async def stream() -> AsyncIterator[bytes]:
        for offset in range(0, len(large), 100_000):
            yield large[offset : offset + 100_000]

    with tempfile.TemporaryFile() as file:
        file.write(b"skip" + large)
        file.seek(4)
        async with raw_server(echo) as server, pool_of() as pool:
            for body in (small, large, b"", file, stream()):
                length = len(small) if body is small else 0 if body == b"" else len(large)
                sent = headers(server, **{"content-length": str(length)})
                response = await pool.request("PUT", server.authority, "/p", sent, body)
                expected = small if body is small else b"" if body == b"" else large
                digest = hashlib.sha256(expected).hexdigest()
                assert await response.read_all() == f"/p {length} {digest}".encode()
                response.close()
            assert server.connections == 1


async def test_a_request_body_is_sent_only_as_fast_as_the_store_takes_it() -> None:
    total, chunk = 256 * MiB, b"z" * (256 * 1024)
    produced = 0
    reading = asyncio.Event()

    async def source() -> AsyncIterator[bytes]:
        nonlocal produced
        while produced < total:
            produced += len(chunk)
            yield chunk

    async def late(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        request = await read_request(reader, body=False)
        assert request is not None
        await reading.wait()
        left = int(request.headers["content-length"])
        while left:
            left -= len(await reader.read(min(left, MiB)))
        writer.write(answer(body=b"stored"))

    async with raw_server(late) as server, pool_of() as pool:
        sent = headers(server, **{"content-length": str(total)})
        put = asyncio.create_task(pool.request("PUT", server.authority, "/", sent, source()))
        await asyncio.sleep(0.5)
        assert produced < 64 * MiB  # socket buffers, not the whole body
        reading.set()
        response = await put
        assert await response.read_all() == b"stored"
        response.close()
        assert produced == total


async def test_an_unread_answer_closes_its_connection() -> None:
    async def body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while await read_request(reader) is not None:
            writer.write(answer(body=b"b" * (4 * MiB)))
            await writer.drain()

    async with raw_server(body) as server, pool_of() as pool:
        response = await pool.request("GET", server.authority, "/", headers(server), None)
        assert len(await response.read(1024)) == 1024
        response.close()  # 4 MiB were not read: the connection cannot carry another answer
        assert pool.idle_connections() == 0
        assert len(await get(pool, server)) == 4 * MiB
        assert server.connections == 2


async def test_an_answer_received_whole_but_not_read_keeps_its_connection() -> None:
    """Its bytes are all off the wire: the connection is clean (as aiohttp's release())."""
    async with raw_server(echo) as server, pool_of() as pool:
        response = await pool.request("GET", server.authority, "/a", headers(server), None)
        while not response.complete:
            await asyncio.sleep(0.01)
        response.close()
        assert pool.idle_connections() == 1
        assert (await get(pool, server, "/b")).startswith(b"/b ")
        assert server.connections == 1


async def test_an_answer_dropped_without_close_gives_its_connection_back() -> None:
    async def body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        writer.write(answer(body=b"b" * (4 * MiB)))
        await writer.drain()

    async with raw_server(body) as server, pool_of(limit=1) as pool:
        response = await pool.request("GET", server.authority, "/", headers(server), None)
        assert await response.read(1024)
        del response
        gc.collect()
        assert pool.open_connections == 0
