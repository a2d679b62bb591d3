"""The S3 listener's request objects: aiohttp's ``web.Request``, made for one application.

aiohttp makes each request through ``Application._make_request`` and
``BaseRequest.__init__`` (two frames, keyword arguments, the absolute-form check on the
parsed URL), and the S3 code then reads ``method``, ``version``, ``headers``,
``raw_path``, ``keep_alive``, ``content`` and ``secure`` through ``reify`` descriptors
(a Python call and a cache store each, the first time), ``app`` through two properties
(the match info's current application), ``get`` through ``Mapping.get`` (``__getitem__``
raising ``KeyError`` on a miss), and the response's prepare sends ``on_response_prepare``
through a loop over the match info's applications and ``Signal.send``'s own coroutine.

:func:`request_factory` makes, for the S3 application, requests of a subclass in which
those values are plain attributes set once per request (or once per application:
``app``, the frozen match info, the prepare receivers), from the same parsed message, so
every one reads what aiohttp's own request gives (``tests/gateway/s3/test_web_request.py``
compares every attribute the gateway reads, over odd targets, HTTP/1.0 and IPv6 hosts).
The rest (``remote``, ``host``, ``path``, ``query``, ``url``, ``transport``, ...) is
aiohttp's own code, lazily as before. A request whose target is not origin-form
(absolute-form, ``*``, a CONNECT's target, which aiohttp's parser reads as an authority
even when it begins with ``/``) and the placeholder aiohttp makes for a request its
parser refused are made by aiohttp's own factory, as before (the latter without a match
info, so its answer sends no prepare signals, as before).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.helpers import RequestKey
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import ERROR, RequestHandler
from aiohttp.web_urldispatcher import UrlMappingMatchInfo

__all__ = ["RequestFactory", "request_factory"]

RequestFactory = Callable[
    [RawRequestMessage, StreamReader, RequestHandler, AbstractStreamWriter, "asyncio.Task[None]"],
    web.BaseRequest,
]
"""What aiohttp's ``Server.request_factory`` is called as, per request."""


class _Request(web.Request):
    """A ``web.Request`` whose per-request values are plain attributes. ``app``,
    ``match_info``, ``_match_info`` and ``_receivers`` are class attributes of the
    subclass :func:`request_factory` makes for its application."""

    __slots__ = ("content", "headers", "keep_alive", "method", "raw_path", "secure", "version")

    ATTRS = web.Request.ATTRS | frozenset(__slots__)
    """What aiohttp's debug mode lets be set without a warning."""

    app: web.Application
    match_info: UrlMappingMatchInfo
    _receivers: tuple[Callable[[web.Request, web.StreamResponse], Any], ...] = ()

    def __init__(
        self,
        message: RawRequestMessage,
        payload: StreamReader,
        protocol: RequestHandler,
        payload_writer: AbstractStreamWriter,
        task: asyncio.Task[None],
        loop: asyncio.AbstractEventLoop,
        client_max_size: int,
        client_max_fields: int,
    ) -> None:
        # BaseRequest.__init__'s attributes for an origin-form target, no overrides
        self._message = message
        self._protocol = protocol
        self._payload_writer = payload_writer
        self._payload = self.content = payload
        self._headers = self.headers = message.headers
        self._method = self.method = message.method
        self._version = self.version = message.version
        self.raw_path = message.path
        self.keep_alive = not message.should_close
        self._cache: dict[str, Any] = {}
        self._rel_url = message.url
        self._state = {}
        self._task = task
        self._client_max_size = client_max_size
        self._client_max_fields = client_max_fields
        self._loop = loop
        ssl_context = self._transport_sslcontext = protocol.ssl_context
        self.secure = bool(ssl_context)  # BaseRequest.scheme == "https"
        self._transport_peername = protocol.peername
        self._transport_sockname = protocol.sockname

    def get(self, key: Any, default: Any = None) -> Any:
        """``Mapping.get`` over the request's own dict, without a ``KeyError`` a miss."""
        return self._state.get(key, default)

    def __setitem__(self, key: Any, value: Any) -> None:
        if type(key) is RequestKey:
            self._state[key] = value
        else:
            super().__setitem__(key, value)  # a string key warns once, as aiohttp's

    async def _prepare_hook(self, response: web.StreamResponse) -> None:
        # Request._prepare_hook over one application: its frozen on_response_prepare
        # signal's receivers, in order, as Signal.send awaits them.
        for receiver in self._receivers:
            await receiver(self, response)

    def clone(self, **changes: Any) -> web.Request:
        """aiohttp's clone, of an aiohttp request made from the same values."""
        if self._read_bytes:
            raise RuntimeError("Cannot clone request after reading its content")
        plain = web.Request(
            self._message,
            self._payload,
            self._protocol,
            self._payload_writer,
            self._task,
            self._loop,
            client_max_size=self._client_max_size,
            client_max_fields=self._client_max_fields,
            state=self._state,
        )
        plain._match_info = self._match_info
        return plain.clone(**changes)


def request_factory(
    app: web.Application, match_info: UrlMappingMatchInfo, loop: asyncio.AbstractEventLoop
) -> RequestFactory:
    """The request factory of ``app``'s server, once ``app`` is frozen (its signals may
    no longer change): each request comes with ``match_info`` (one frozen match info
    naming ``app``, which the handler would otherwise set per request)."""
    assert app.frozen and match_info.current_app is app
    make_request = app._make_request
    client_max_size = app._client_max_size
    client_max_fields = app._client_max_fields
    lean = type(
        "Request",  # as aiohttp's (its repr names the class)
        (_Request,),
        {
            "__slots__": (),
            "__module__": __name__,
            "app": app,
            "match_info": match_info,
            "_match_info": match_info,
            "_receivers": tuple(app.on_response_prepare),
        },
    )

    def factory(
        message: RawRequestMessage,
        payload: StreamReader,
        protocol: RequestHandler,
        writer: AbstractStreamWriter,
        task: asyncio.Task[None],
    ) -> web.BaseRequest:
        if (
            message.path[:1] == "/"  # origin-form (RFC 9112 3.2.1)
            and message.method != "CONNECT"  # the parser reads its target as an authority
            and message is not ERROR
        ):
            request: web.BaseRequest = lean(
                message,
                payload,
                protocol,
                writer,
                task,
                loop,
                client_max_size,
                client_max_fields,
            )
            return request
        request = make_request(message, payload, protocol, writer, task)
        if message is not ERROR:
            request._match_info = match_info
        return request

    return factory
