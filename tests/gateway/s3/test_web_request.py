"""The S3 listener's requests (``gateway/s3/web_request.py``) read what aiohttp's own
``web.Request`` gives, attribute for attribute: two real aiohttp servers on the same
application, one with aiohttp's request factory and the match info set per request (as
the S3 listener ran before), one with :func:`request_factory`, each sent the same raw
requests; every value the gateway reads from a request, the prepare signal's calls and
the bytes answered must be the same."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.web_urldispatcher import UrlMappingMatchInfo

from gateway.s3.web_request import request_factory

KEY = web.RequestKey("probe", str)
_LAST = b"GET /last HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
_DATE = re.compile(rb"\r\nDate: [^\r]*")
_HOST = b"Host: 127.0.0.1:7007\r\n"
REFUSED = frozenset({"refused by the parser", "raw UTF-8 path"})
"""What aiohttp's parser refuses (a bare word for a header, bytes beyond ASCII in the
target): its own placeholder request goes to its own error handler on both servers."""
CLASSES: dict[str, list[str]] = {}
"""The module of each request's class, by server (lean requests are not aiohttp's)."""

RAW: dict[str, bytes] = {
    "HEAD": b"HEAD /bucket/key HTTP/1.1\r\n" + _HOST + b"\r\n",
    "GET, SDK headers": b"GET /bucket/a/b.txt HTTP/1.1\r\n"
    + _HOST
    + b"Accept-Encoding: identity\r\nX-Amz-Date: 20261206T000000Z\r\n"
    b"X-Amz-Content-SHA256: UNSIGNED-PAYLOAD\r\n"
    b"Authorization: AWS4-HMAC-SHA256 Credential=AK/20261206/us-east-1/s3/aws4_request, "
    b"SignedHeaders=host;x-amz-date, Signature=00\r\namz-sdk-request: attempt=1\r\n\r\n",
    "escapes": b"GET /b/a%20b%2Fc%25%E2%82%AC+d HTTP/1.1\r\n" + _HOST + b"\r\n",
    "bad escape": b"GET /b/%ZZ%4 HTTP/1.1\r\n" + _HOST + b"\r\n",
    "dot segments": b"GET /b/./x/../y//z/ HTTP/1.1\r\n" + _HOST + b"\r\n",
    "double slash": b"GET //b/k HTTP/1.1\r\n" + _HOST + b"\r\n",
    "raw UTF-8 path": "GET /b/\u00e9t\u00e9 HTTP/1.1\r\n".encode() + _HOST + b"\r\n",
    "query": b"GET /b?list-type=2&prefix=a%2Fb&encoding-type=url&x=a+b&e= HTTP/1.1\r\n"
    + _HOST
    + b"\r\n",
    "bare query": b"GET /b/k?uploads&versionId= HTTP/1.1\r\n" + _HOST + b"\r\n",
    "empty query": b"GET /b/k? HTTP/1.1\r\n" + _HOST + b"\r\n",
    "fragment": b"GET /b/k?x=1#frag HTTP/1.1\r\n" + _HOST + b"\r\n",
    "params": b"GET /b/k;v=1 HTTP/1.1\r\n" + _HOST + b"\r\n",
    "absolute-form": b"GET http://127.0.0.1:7007/b/k?x=1 HTTP/1.1\r\n" + _HOST + b"\r\n",
    "asterisk": b"OPTIONS * HTTP/1.1\r\n" + _HOST + b"\r\n",
    # authority-form: the parser makes its URL of the target as an authority even when
    # the target begins with "/" (aiohttp's request then reads host and path from it)
    "CONNECT": b"CONNECT /b/k HTTP/1.1\r\n" + _HOST + b"\r\n",
    "CONNECT with a port": b"CONNECT /b/k:80 HTTP/1.1\r\n" + _HOST + b"\r\n",
    "HTTP/1.0": b"GET /b/k HTTP/1.0\r\n\r\n",
    "HTTP/1.0 keep-alive": b"HEAD /b/k HTTP/1.0\r\nConnection: keep-alive\r\nHost: h\r\n\r\n",
    "close": b"GET /b/k HTTP/1.1\r\n" + _HOST + b"Connection: close\r\n\r\n",
    "IPv6 host": b"GET /b/k HTTP/1.1\r\nHost: [::1]:7007\r\n\r\n",
    "virtual host": b"GET /k HTTP/1.1\r\nHost: bucket.s3.example.com\r\n\r\n",
    "forwarded": b"GET /b/k HTTP/1.1\r\n"
    + _HOST
    + b"Forwarded: for=10.0.0.1;proto=https;host=h.example\r\n"
    b"X-Forwarded-For: 10.0.0.2\r\nX-Forwarded-Proto: https\r\n\r\n",
    "repeated and odd headers": b"GET /b/k HTTP/1.1\r\n"
    + _HOST
    + b"x-amz-meta-a: 1\r\nX-Amz-Meta-A: 2\r\nx-amz-meta-b: \xff\xfe\r\n"
    b'Cookie: a=b; c=d\r\nRange: bytes=0-4\r\nIf-Match: "e"\r\n\r\n',
    "PUT body": b"PUT /b/k HTTP/1.1\r\n"
    + _HOST
    + b"Content-Length: 5\r\nContent-Type: text/plain; charset=latin-1\r\n\r\nhello",
    "PUT chunked": b"PUT /b/k HTTP/1.1\r\n"
    + _HOST
    + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    "POST form": b"POST /b HTTP/1.1\r\n"
    + _HOST
    + b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nkey=a+b",
    "Expect": b"PUT /b/k HTTP/1.1\r\n"
    + _HOST
    + b"Expect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
    "refused by the parser": b"GET /b/k HTTP/1.1\r\n" + _HOST + b"Bad Header\r\n\r\n",
}


def _value(read: Callable[[], Any]) -> Any:
    try:
        value = read()
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc))
    return value


async def _describe(request: web.Request, app: web.Application, route: Any) -> dict[str, Any]:
    """Every value the gateway reads from a request, in a form two requests compare by."""
    protocol = request.protocol
    facts: dict[str, Any] = {
        "type": isinstance(request, web.Request),
        "repr": repr(request),
        "method": request.method,
        "version": request.version,
        "headers": list(request.headers.items()),
        "raw_headers": request.raw_headers,
        "raw_path": request.raw_path,
        "path": request.path,
        "path_qs": request.path_qs,
        "query": list(request.query.items()),
        "query_string": request.query_string,
        "rel_url": str(request.rel_url),
        "url": str(request.url),
        "host": request.host,
        "remote": request.remote,
        "scheme": request.scheme,
        "secure": request.secure,
        "forwarded": [dict(item) for item in request.forwarded],
        "keep_alive": request.keep_alive,
        "content_length": _value(lambda: request.content_length),
        "content_type": request.content_type,
        "charset": request.charset,
        "cookies": dict(request.cookies),
        "http_range": _value(lambda: request.http_range),
        "if_match": request.if_match,
        "can_read_body": request.can_read_body,
        "body_exists": request.body_exists,
        "content": type(request.content).__name__,
        "content is payload": request.content is request._payload,
        "transport": request.transport is protocol.transport,
        "writer": request.writer is request._payload_writer,
        "task": request.task is asyncio.current_task(),
        "app": request.app is app,
        "config_dict": list(request.config_dict) == list(app),
        "match_info": (
            request.match_info.route is route,
            dict(request.match_info),
            request.match_info.apps == (app,),
            request.match_info is request._match_info,
        ),
        "client_max_size": request.client_max_size,
        "client_max_fields": request.client_max_fields,
        "get miss": request.get(KEY, "default"),
        "in": KEY in request,
    }
    request[KEY] = "value"
    facts["get hit"] = (request.get(KEY), request[KEY], len(request), list(request))
    clone = request.clone(rel_url="/other?q=1")
    facts["clone"] = (
        type(clone).__name__,
        clone.path,
        dict(clone.query),
        clone.app is app,
        clone.get(KEY),
        clone.method,
        list(clone.headers.items()),
    )
    if request.method == "POST":
        facts["post"] = list((await request.post()).items())
    else:
        facts["body"] = await request.read()
    facts["read twice"] = await request.text()
    facts["clone after read"] = _value(lambda: repr(request.clone()))
    return facts


@pytest.fixture
async def servers() -> AsyncIterator[dict[str, tuple[int, list[Any]]]]:
    found: dict[str, tuple[int, list[Any]]] = {}
    cleanups: list[Callable[[], Awaitable[None]]] = []
    for kind in ("aiohttp", "lean"):
        records: list[Any] = []
        classes: list[str] = []
        CLASSES[kind] = classes
        app = web.Application(client_max_size=1024**2, handler_args={"auto_decompress": False})

        async def prepared(
            request: web.Request, response: web.StreamResponse, records: list[Any] = records
        ) -> None:
            records.append(("prepare", request.get(KEY), response.status))
            response.headers["X-Prepared"] = "1"

        async def unused(request: web.Request) -> web.StreamResponse:
            raise AssertionError("routed")

        app.on_response_prepare.append(prepared)
        app.router.add_route("*", r"/{tail:[\s\S]*}", unused)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        assert runner.server is not None
        (route,) = app.router.routes()
        match_info = UrlMappingMatchInfo({}, route)
        match_info.add_app(app)
        match_info.freeze()

        async def record(
            request: web.BaseRequest,
            app: web.Application = app,
            route: Any = route,
            records: list[Any] = records,
            match_info: UrlMappingMatchInfo = match_info,
            kind: str = kind,
            classes: list[str] = classes,
        ) -> web.StreamResponse:
            assert isinstance(request, web.Request)
            if kind == "aiohttp":  # what the S3 listener's handler did before
                request._match_info = match_info
            if request.path == "/last":
                return web.Response(text="last")
            classes.append(type(request).__module__)
            records.append(await _describe(request, app, route))
            return web.Response(text="ok")

        runner.server.request_handler = record
        if kind == "lean":
            loop = asyncio.get_running_loop()
            runner.server.request_factory = request_factory(app, match_info, loop)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        found[kind] = (server.sockets[0].getsockname()[1], records)
        cleanups.append(runner.cleanup)
    yield found
    for cleanup in cleanups:
        await cleanup()


async def _exchange(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    # (llhttp refuses bytes after a request that ends the connection)
    ends = b"Connection: close" in raw or (b"HTTP/1.0" in raw and b"keep-alive" not in raw)
    writer.write(raw if ends else raw + _LAST)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return _DATE.sub(b"", answer)


@pytest.mark.parametrize("name", list(RAW))
async def test_requests_read_as_aiohttps(
    servers: dict[str, tuple[int, list[Any]]], name: str
) -> None:
    answers = {kind: await _exchange(port, RAW[name]) for kind, (port, _) in servers.items()}
    assert answers["lean"] == answers["aiohttp"]
    assert answers["lean"].startswith(b"HTTP/1.")
    lean, plain = servers["lean"][1], servers["aiohttp"][1]
    assert len(lean) == len(plain)
    for mine, theirs in zip(lean, plain, strict=True):
        if isinstance(mine, dict) and isinstance(theirs, dict):
            keys = mine.keys() | theirs.keys()
            differing = {
                k: (mine.get(k), theirs.get(k)) for k in keys if mine.get(k) != theirs.get(k)
            }
            assert differing == {}
        else:
            assert mine == theirs
    if name in REFUSED:
        assert b" 400 " in answers["lean"].split(b"\r\n")[0]
        assert lean == []  # nothing handled, no prepare signal for aiohttp's own answer
    else:
        described = [entry for entry in lean if isinstance(entry, dict)]
        assert len(described) == 1
        assert ("prepare", "value", 200) in lean  # the app's receivers, given the request


async def test_lean_requests_are_made_for_origin_form_targets_only(
    servers: dict[str, tuple[int, list[Any]]],
) -> None:
    """The differential above covers both kinds: origin-form targets get the lean
    request, the others (absolute-form, ``*``) aiohttp's own."""
    port, _ = servers["lean"]
    for name in ("HEAD", "query", "absolute-form", "asterisk", "HTTP/1.0"):
        await _exchange(port, RAW[name])
    assert CLASSES["lean"] == [
        "gateway.s3.web_request",
        "gateway.s3.web_request",
        "aiohttp.web_request",
        "aiohttp.web_request",
        "gateway.s3.web_request",
    ]
