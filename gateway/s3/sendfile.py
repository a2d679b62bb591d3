"""GET bodies straight from a data file to the socket (``sendfile``), without reading
them into Python.

Used for plain objects of a file-backed backend (``ObjectRead.fileno()``; an encrypted
object is decrypted in Python and never qualifies) on plain-HTTP connections; over TLS
the bytes must pass through the encryption layer, so ``loop.sendfile`` refuses and the
caller streams the body as before. The descriptor is the one the backend opened before
the response started, so an overwrite or delete racing with the GET cannot change the
bytes sent.

The file is sent in pieces of :data:`PIECE` bytes, each of which must leave within
``server.send_timeout`` seconds: the same guard against a client that stops reading as
the connection guard's send timeout on streamed bodies (which cannot see a ``sendfile``
in progress). A client must therefore read at least ``PIECE / send_timeout`` bytes per
second on average (about 17 KB/s with the defaults).
"""

from __future__ import annotations

import asyncio
import os

from aiohttp import web

__all__ = ["PIECE", "NotAvailable", "send_file"]

PIECE = 1024 * 1024


class NotAvailable(Exception):
    """This connection cannot use sendfile (TLS): nothing was sent, stream instead."""


async def send_file(
    request: web.BaseRequest, fd: int, offset: int, count: int, *, send_timeout: float
) -> int:
    """Send ``count`` bytes of ``fd`` from ``offset`` on the request's connection, after
    the response head (already prepared). Returns the bytes sent: fewer than ``count``
    when the file ended early. Raises :class:`NotAvailable` before sending anything on
    a connection that cannot use sendfile, ``TimeoutError`` when a piece did not leave
    in time."""
    transport = request.transport
    if transport is None:
        raise ConnectionResetError("Connection lost")
    if transport.get_extra_info("ssl_object") is not None:
        raise NotAvailable("TLS: the bytes must pass through the encryption layer")
    loop = asyncio.get_running_loop()
    sent = 0
    with os.fdopen(fd, "rb", closefd=False) as file:  # loop.sendfile wants a file object
        while sent < count:
            piece = min(PIECE, count - sent)
            try:
                async with asyncio.timeout(send_timeout or None):
                    done = await loop.sendfile(
                        transport, file, offset + sent, piece, fallback=False
                    )
            except (NotImplementedError, asyncio.SendfileNotAvailableError) as exc:
                if sent:
                    raise
                raise NotAvailable(str(exc)) from exc
            if done == 0:
                break
            sent += done
    return sent
