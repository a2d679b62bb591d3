"""aiobotocore's HTTP session: connections closed with request bytes unsent are aborted, and
redirects are not followed.

When the store answers an upload before taking all of its body (an early error, or a
success the backend refuses), aiohttp cancels its body writer and closes the connection:
never reused, but closed with the transport's ``close()``, which keeps the socket open
until asyncio's write buffer has drained. A store that neither reads on nor closes never
drains it, so the socket and its buffered bytes stayed for as long as the store stalled
(seen with ``ss``). A connection closed with bytes still unsent is a request abandoned
half-way: nothing of it is owed to the store, so it is aborted (socket closed at once,
the store sees a reset), as the lean client's transport does.

The hook is the connector's ``_release`` (every ``close()`` of a connection goes through
it, with ``should_close``), wrapped on the connector aiobotocore builds; the backend
imports nothing of aiohttp itself. Cost: none per request; on a connection's close, one
look-up of its transport and, for one being closed, of the write buffer's size.

aiobotocore sends every request with aiohttp's ``request``, which follows a 301, 302,
303, 307 or 308 that has a ``Location`` (up to 10 times, to any host, the request sent
again there; the answer at the end read as the store's). The store (or a proxy in front
of it: nginx sending ``http://`` to ``https://``) could make one call ten requests, or
send the gateway to any address it can reach (a metadata service, an internal host)
and have that answer served as an object. The session's ``request`` is given
``allow_redirects=False`` (``_NotFollowing``): the redirect reaches botocore, which
follows only a region redirect, once (``redirects``). Cost: one small object and one
call per aiobotocore request.
"""

from __future__ import annotations

from typing import Any

from aiobotocore.httpsession import AIOHTTPSession

__all__ = ["AbortingSession"]


class AbortingSession(AIOHTTPSession):  # type: ignore[misc]
    """``AioConfig(http_session_cls=...)``: aiobotocore's session, its connector's closed
    connections aborted when their request bytes were not all sent, no redirect
    followed by aiohttp."""

    async def _create_connector(self, proxy_url: Any) -> Any:
        connector = await super()._create_connector(proxy_url)
        connector._release = _aborting(connector._release)
        return connector

    async def _get_session(self, proxy_url: Any) -> Any:
        return _NotFollowing(await super()._get_session(proxy_url))


class _NotFollowing:
    """The one use ``AIOHTTPSession.send`` makes of aiohttp's ``ClientSession``: its
    ``request``, with ``allow_redirects=False``."""

    __slots__ = ("_session",)

    def __init__(self, session: Any) -> None:
        self._session = session

    def request(self, method: str, url: Any, **kwargs: Any) -> Any:
        return self._session.request(method, url, allow_redirects=False, **kwargs)


def _aborting(release: Any) -> Any:
    def release_or_abort(key: Any, protocol: Any, *, should_close: bool = False) -> None:
        transport = protocol.transport
        release(key, protocol, should_close=should_close)
        if transport is not None and transport.is_closing() and transport.get_write_buffer_size():
            transport.abort()  # the close waits for a drain that a stalled store never allows

    return release_or_abort
