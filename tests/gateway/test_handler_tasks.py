"""Handlers run in their connection's task (``gateway/handler_tasks.py``): a real aiohttp
server on a loop with the factory installed, driven over real sockets."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from gateway import handler_tasks

INLINE = sys.version_info < (3, 12)


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[asyncio.Task[object] | None], asyncio.Event]]:
    handler_tasks.install(asyncio.get_running_loop())
    seen: list[asyncio.Task[object] | None] = []
    released = asyncio.Event()

    async def plain(request: web.Request) -> web.Response:
        seen.append(asyncio.current_task())
        return web.Response(text="ok")

    async def fails(request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    async def waits(request: web.Request) -> web.Response:
        await released.wait()  # set by a request on another connection
        return web.Response(text="waited")

    async def releases(request: web.Request) -> web.Response:
        released.set()
        return web.Response(text="released")

    app = web.Application()
    app.router.add_get("/plain", plain)
    app.router.add_get("/fails", fails)
    app.router.add_get("/waits", waits)
    app.router.add_get("/releases", releases)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", seen, released
    finally:
        await runner.cleanup()
        asyncio.get_running_loop().set_task_factory(None)


async def test_requests_of_one_connection_run_in_its_task(
    server: tuple[str, list[asyncio.Task[object] | None], asyncio.Event],
) -> None:
    base, seen, _ = server
    async with aiohttp.ClientSession() as one, aiohttp.ClientSession() as two:
        for session in (one, one, two):
            async with session.get(f"{base}/plain") as reply:
                assert reply.status == 200 and await reply.text() == "ok"
    first, second, other = seen
    assert first is not None and other is not None
    if INLINE:
        assert first is second  # the connection's own task, request after request
    else:
        assert first is not second  # 3.12+: aiohttp's eager task per request
    assert other is not first


async def test_a_failing_handler_answers_500_and_the_connection_goes_on(
    server: tuple[str, list[asyncio.Task[object] | None], asyncio.Event],
) -> None:
    base, _, _ = server
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/fails") as reply:
            assert reply.status == 500
        async with session.get(f"{base}/plain") as reply:
            assert reply.status == 200


async def test_connections_still_run_concurrently(
    server: tuple[str, list[asyncio.Task[object] | None], asyncio.Event],
) -> None:
    """A handler waiting on its connection does not hold up another connection's."""
    base, _, released = server
    async with aiohttp.ClientSession() as one, aiohttp.ClientSession() as two:
        waiting = asyncio.ensure_future(one.get(f"{base}/waits"))
        await asyncio.sleep(0)
        async with two.get(f"{base}/releases") as reply:
            assert await reply.text() == "released"
        async with await asyncio.wait_for(waiting, 30) as reply:
            assert await reply.text() == "waited"
        assert released.is_set()


async def test_other_coroutines_still_get_tasks() -> None:
    loop = asyncio.get_running_loop()
    handler_tasks.install(loop)
    try:

        async def work() -> int:
            return 7

        task = loop.create_task(work())
        assert isinstance(task, asyncio.Task) and await task == 7
        assert not handler_tasks.runs_inline(work())
    finally:
        loop.set_task_factory(None)
