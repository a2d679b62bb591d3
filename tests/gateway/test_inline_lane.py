"""The inline lane (``gateway/inline_lane.py``): a bodiless request served inside
``data_received``. A real aiohttp server behind the listener's own ``GuardedSite`` and
handler class, driven over real sockets with pipelined requests."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from gateway.connections import GuardedSite, Limits
from gateway.inline_lane import InlineLane
from gateway.malformed import answering_with
from gateway.s3.render import render_malformed

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("lane_test", default="")


@dataclass
class Server:
    port: int
    runner: web.AppRunner
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    order: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)


def _app(server: Server) -> web.Application:
    async def plain(request: web.Request) -> web.Response:
        server.order.append(request.path)
        server.tasks.append(type(asyncio.current_task()).__name__)
        return web.Response(text=request.path)

    async def yields(request: web.Request) -> web.Response:
        await asyncio.sleep(0)  # waits once, as a first read of a cold key does
        server.order.append(request.path)
        return web.Response(text=request.path)

    async def waits(request: web.Request) -> web.Response:
        server.started.set()
        await server.gate.wait()
        server.order.append(request.path)
        return web.Response(text=request.path)

    async def body(request: web.Request) -> web.Response:
        data = await request.read()
        server.order.append(request.path)
        return web.Response(text=f"{request.path}:{data.decode()}")

    async def fails(request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    async def task_services(request: web.Request) -> web.Response:
        """What a handler may rely on from its task: a timeout, a context variable set
        and reset around a wait, a cancellation of its own task that it takes back."""
        token = VAR.set(request.path)
        async with asyncio.timeout(30):
            await asyncio.sleep(0)
        seen = VAR.get()
        VAR.reset(token)
        try:
            async with asyncio.timeout(0):
                await asyncio.Event().wait()
            timed_out = "no"
        except TimeoutError:
            timed_out = "yes"
        return web.Response(text=f"{seen} {timed_out} {VAR.get()!r}")

    async def times_out(request: web.Request) -> web.Response:
        """A timeout entered inline (on the lane's stand-in task) fires once the request
        waits in the task it continues in."""
        try:
            async with asyncio.timeout(0):
                await asyncio.Event().wait()
        except TimeoutError:
            return web.Response(text="timed out")
        return web.Response(text="not timed out")

    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        chunk = b"x" * 65536
        for _ in range(1024):  # 64 MiB: more than any socket buffer holds
            await response.write(chunk)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/plain/{n}", plain)
    app.router.add_get("/yields/{n}", yields)
    app.router.add_get("/waits/{n}", waits)
    app.router.add_put("/body/{n}", body)
    app.router.add_get("/fails", fails)
    app.router.add_get("/task/{n}", task_services)
    app.router.add_get("/times-out", times_out)
    app.router.add_get("/big", big)
    return app


@asynccontextmanager
async def serving(
    *, keepalive: float = 75.0, shutdown_timeout: float = 60.0
) -> AsyncIterator[Server]:
    server = Server(port=0, runner=None)  # type: ignore[arg-type]
    runner = web.AppRunner(
        _app(server),
        access_log=None,
        keepalive_timeout=keepalive,
        shutdown_timeout=shutdown_timeout,
        handle_signals=False,
    )
    await runner.setup()
    site = GuardedSite(
        runner,
        "127.0.0.1",
        0,
        Limits(keepalive_timeout=0),  # aiohttp's own keep-alive timer is the one tested
        name="s3",
        handler_class=answering_with(render_malformed),
    )
    await site.start()
    server.runner = runner
    server.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield server
    finally:
        await runner.cleanup()


def get(path: str, *extra: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: t", *extra, "", ""]
    return "\r\n".join(lines).encode()


def put(path: str, data: bytes) -> bytes:
    head = f"PUT {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(data)}\r\n\r\n"
    return head.encode() + data


async def answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head.decode().split("\r\n")[:-2]
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return int(status_line.split()[1]), headers, body


async def bodies(reader: asyncio.StreamReader, count: int) -> list[str]:
    return [(await answer(reader))[2].decode() for _ in range(count)]


async def test_plain_requests_run_on_the_lane() -> None:
    async with serving() as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        for n in range(3):
            writer.write(get(f"/plain/{n}"))
            assert await bodies(reader, 1) == [f"/plain/{n}"]
        writer.close()
    # served inline (the lane's stand-in task), not in the connection's task
    assert server.tasks == ["_LaneTask"] * 3


async def test_pipelined_requests_with_bodies_and_waits_answer_in_order() -> None:
    async with serving() as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            get("/plain/1")
            + get("/yields/2")
            + get("/plain/3")
            + put("/body/4", b"abc")
            + get("/plain/5")
            + get("/yields/6")
            + get("/plain/7")
        )
        assert await bodies(reader, 7) == [
            "/plain/1",
            "/yields/2",
            "/plain/3",
            "/body/4:abc",
            "/plain/5",
            "/yields/6",
            "/plain/7",
        ]
        writer.close()
    assert server.order == [
        "/plain/1",
        "/yields/2",
        "/plain/3",
        "/body/4",
        "/plain/5",
        "/yields/6",
        "/plain/7",
    ]


async def test_a_request_arriving_while_a_lane_request_waits_runs_after_it() -> None:
    async with serving() as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(get("/waits/1"))
        await server.started.wait()
        writer.write(get("/plain/2") + put("/body/3", b"z") + get("/plain/4"))
        await writer.drain()
        for _ in range(20):  # let the loop deliver and parse them while /waits/1 waits
            await asyncio.sleep(0)
        assert server.order == []
        server.gate.set()
        assert await bodies(reader, 4) == ["/waits/1", "/plain/2", "/body/3:z", "/plain/4"]
        writer.close()
    assert server.order == ["/waits/1", "/plain/2", "/body/3", "/plain/4"]


async def test_a_failing_handler_answers_as_on_aiohttps_path() -> None:
    """The same request through the lane (alone) and through ``start`` (queued behind a
    body): the same answer, byte for byte but the date and request ids, and the
    connection closed after it, as aiohttp closes it after a 500."""
    async with serving() as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(get("/fails"))
        lane = await answer(reader)
        assert await reader.read() == b""
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(put("/body/1", b"") + get("/fails"))
        await answer(reader)
        queued = await answer(reader)
        assert await reader.read() == b""
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(get("/plain/2"))  # the server goes on
        assert await bodies(reader, 1) == ["/plain/2"]
        writer.close()
    assert lane[0] == queued[0] == 500
    ids = ("date", "x-amz-request-id", "x-amz-id-2")
    assert {k: v for k, v in lane[1].items() if k not in ids} == {
        k: v for k, v in queued[1].items() if k not in ids
    }
    their_id, our_id = queued[1]["x-amz-request-id"], lane[1]["x-amz-request-id"]
    assert lane[2] == queued[2].replace(their_id.encode(), our_id.encode())


async def test_task_services_work_inline_and_after_a_wait() -> None:
    async with serving() as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(get("/task/1") + get("/task/2"))
        assert await bodies(reader, 2) == ["/task/1 yes ''", "/task/2 yes ''"]
        writer.write(get("/times-out"))
        assert await bodies(reader, 1) == ["timed out"]
        writer.close()


async def test_connection_close_closes_after_the_answer() -> None:
    async with serving() as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(get("/plain/1", "Connection: close"))
        status, _, data = await answer(reader)
        assert (status, data) == (200, b"/plain/1")
        assert await reader.read() == b""
        writer.close()
    assert server.order == ["/plain/1"]


async def test_keepalive_timeout_closes_an_idle_connection_not_a_waiting_request() -> None:
    async with serving(keepalive=0.3) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(get("/plain/1"))
        assert await bodies(reader, 1) == ["/plain/1"]
        writer.write(get("/waits/2"))
        await server.started.wait()
        await asyncio.sleep(1.0)  # past the keep-alive timeout, with a request waiting
        server.gate.set()
        assert await bodies(reader, 1) == ["/waits/2"]
        # then idle: the keep-alive timer closes it
        assert await asyncio.wait_for(reader.read(), 30) == b""
        writer.close()


async def test_shutdown_finishes_a_waiting_lane_request() -> None:
    async with serving() as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(get("/waits/1"))
        await server.started.wait()
        cleanup = asyncio.ensure_future(server.runner.cleanup())
        for _ in range(20):
            await asyncio.sleep(0)
        assert not cleanup.done()  # waiting for the request in progress
        server.gate.set()
        status, _, data = await answer(reader)
        assert (status, data) == (200, b"/waits/1")
        await cleanup
        assert await reader.read() == b""
        writer.close()


async def test_a_client_gone_mid_answer_leaves_the_server_serving() -> None:
    async with serving() as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(get("/big"))
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        await reader.readexactly(65536)
        writer.transport.abort()  # gone while the answer is being written
        for n in range(3):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(get(f"/plain/{n}"))
            assert await bodies(reader, 1) == [f"/plain/{n}"]
            writer.close()


def test_the_lane_adds_no_state() -> None:
    # ConnectionGuard gives aiohttp's handler this class: the layouts must match
    assert InlineLane.__slots__ == ()
    assert answering_with(render_malformed).__mro__[1] is InlineLane


@pytest.mark.parametrize("version", ["HTTP/1.0"])
async def test_http_1_0_takes_aiohttps_path(version: str) -> None:
    async with serving() as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(f"GET /plain/1 {version}\r\nHost: t\r\n\r\n".encode())
        status, _, data = await answer(reader)
        assert (status, data) == (200, b"/plain/1")
        writer.close()
    assert server.tasks != ["_LaneTask"]


@pytest.mark.parametrize("waiting", [False, True])
async def test_a_pipelined_backlog_past_the_queue_answers_in_order(waiting: bool) -> None:
    """More pipelined requests than aiohttp queues (32) in one write: reading pauses,
    and the parser's backlog comes back while the lane serves the queue. It joins the
    queue behind what is in it; served before the request just taken from it, the
    answers came out of order (from the 16th)."""
    count = 300
    paths = [f"/yields/{n}" if waiting and n % 7 == 3 else f"/plain/{n}" for n in range(count)]
    async with serving() as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"".join(get(path) for path in paths))
        assert await asyncio.wait_for(bodies(reader, count), 60) == paths
        writer.close()
    assert server.order == paths
