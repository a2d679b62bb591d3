"""``Answer`` puts on the wire, byte for byte, what aiohttp's ``web.Response`` puts there
for the same status, headers and body (its one-coroutine path must not change framing:
Content-Length for HEAD and 304, the default Content-Type, Connection, keep-alive)."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from gateway.s3.answer import Answer

Make = Callable[..., web.Response]

# (status, body, headers): the answers the S3 listener builds in memory
ANSWERS: dict[str, tuple[int, bytes | None, dict[str, str]]] = {
    "object head": (200, None, {"Content-Length": "4096", "ETag": '"e"', "Server": "s"}),
    "object body": (200, b"x" * 300, {"Content-Type": "binary/octet-stream", "Server": "s"}),
    "empty object": (200, b"", {"Server": "s"}),
    "untyped body": (200, b"abc", {}),
    "no body no length": (200, None, {"x-amz-request-id": "r"}),
    "not modified": (304, None, {"ETag": '"e"', "Content-Length": "4096"}),
    "not modified bare": (304, None, {"ETag": '"e"'}),
    "no content": (204, None, {"Content-Length": "0"}),
    "xml error": (404, b"<Error/>", {"Content-Type": "application/xml"}),
    "partial": (206, b"01234", {"Content-Range": "bytes 0-4/10", "Content-Length": "5"}),
    "continue-like": (100, None, {}),
}
REQUESTS = {
    "GET 1.1": b"GET /{name} HTTP/1.1\r\nHost: h\r\n\r\n",
    "HEAD 1.1": b"HEAD /{name} HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET close": b"GET /{name} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    "HEAD 1.0": b"HEAD /{name} HTTP/1.0\r\n\r\n",
    "GET 1.0 keep-alive": b"GET /{name} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "GET forced close": b"GET /{name}?close HTTP/1.1\r\nHost: h\r\n\r\n",
}
# After every probe: a request the server answers and then closes on, so the whole
# exchange can be read to EOF whatever the first answer's framing was.
_LAST = b"GET /last HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
_DATE = re.compile(rb"\r\nDate: [^\r]*")


@pytest.fixture
async def servers() -> AsyncIterator[dict[str, int]]:
    ports: dict[str, int] = {}
    closers: list[Callable[[], Awaitable[None]]] = []
    for kind, make in (("aiohttp", web.Response), ("answer", Answer)):

        async def handler(request: web.BaseRequest, make: Make = make) -> web.StreamResponse:
            name = request.path.strip("/")
            if name == "last":
                return web.Response(text="last")
            status, body, headers = ANSWERS[name]
            response = make(status=status, body=body, headers=headers)
            if "close" in request.query:
                response.force_close()
            return response

        runner = web.ServerRunner(web.Server(handler))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        ports[kind] = server.sockets[0].getsockname()[1]
        closers.append(runner.cleanup)
    yield ports
    for close in closers:
        await close()


async def _exchange(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    # (llhttp refuses bytes after a request that closes the connection)
    writer.write(request if b"Connection: close" in request else request + _LAST)
    await writer.drain()
    try:
        raw = await asyncio.wait_for(reader.read(-1), 30)
    finally:
        writer.close()
    return _DATE.sub(b"\r\nDate: -", raw)


async def test_answer_frames_as_web_response(servers: dict[str, int]) -> None:
    compared = 0
    for (name, _), (kind, template) in itertools.product(ANSWERS.items(), REQUESTS.items()):
        request = template.replace(b"{name}", name.replace(" ", "%20").encode())
        want = await _exchange(servers["aiohttp"], request)
        got = await _exchange(servers["answer"], request)
        assert got == want, f"{name} / {kind}"
        assert want.startswith(b"HTTP/1."), f"{name} / {kind}: {want[:80]!r}"
        compared += 1
    assert compared == len(ANSWERS) * len(REQUESTS)


def test_answer_is_built_as_web_response() -> None:
    """``Answer``'s own ``__init__`` sets what ``web.Response``'s sets, to the same values
    (headers in the same order), for every answer above and for none given."""
    built: list[tuple[int, bytes | bytearray | None, dict[str, str] | None]] = [
        *ANSWERS.values(),
        (200, None, None),
        (404, b"<Error/>", None),
        (200, bytearray(b"abc"), {"Server": "s"}),  # not bytes: aiohttp's own path
    ]
    for status, body, headers in built:
        mine = vars(Answer(status=status, body=body, headers=headers))  # type: ignore[arg-type]
        theirs = vars(web.Response(status=status, body=body, headers=headers))
        assert list(mine.pop("_headers").items()) == list(theirs.pop("_headers").items())
        assert mine == theirs, (status, body, headers)
