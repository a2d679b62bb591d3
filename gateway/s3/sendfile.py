"""GET bodies straight from a data file to the socket (``sendfile``), without reading
them into Python.

Used for plain objects of a file-backed backend (``ObjectRead.fileno()``; an encrypted
object is decrypted in Python and never qualifies) on plain-HTTP connections; over TLS
the bytes must pass through the encryption layer, so ``loop.sendfile`` refuses and the
caller streams the body as before. The descriptor is the one the backend opened before
the response started, so an overwrite or delete racing with the GET cannot change the
bytes sent.

``sendfile`` runs on the event loop: a piece whose pages are not in the page cache (an
object not read for a while, or evicted) would be read from the disk there, and every
other request of the process would wait for the disk meanwhile (on a 100 MB/s disk, HEADs
beside a cold 128 MiB GET waited up to a quarter of a second; ``tests/perf/cold_read.py``).
So each piece is brought into the cache first, on the backend's own threads
(``ObjectRead.cache``): the first before it is sent, each next one while the one before
goes out. A piece already cached costs one probe (two non-blocking reads of a byte).

The file is sent in pieces of :data:`PIECE` bytes, each of which must leave within
``server.send_timeout`` seconds: the same guard against a client that stops reading as
the connection guard's send timeout on streamed bodies (which cannot see a ``sendfile``
in progress). A client must therefore read at least ``PIECE / send_timeout`` bytes per
second on average (about 17 KB/s with the defaults). One that does not is treated as the
guard treats it: the connection is closed, and the client counts as gone
(``ConnectionResetError``), never as a failure of the gateway.

A client that leaves mid-body (a reset, a closed socket) is gone the same way, whatever
form asyncio gives it: ``BrokenPipeError``/``ConnectionResetError`` inside a piece,
``SendfileNotAvailableError`` when a piece's first ``os.sendfile`` fails (asyncio drops
the ``OSError``; the file still reading tells the socket was the cause), ``RuntimeError``
on a transport already closing (checked before each piece instead). Each once logged a
traceback, most twice (``tests/e2e/test_sendfile.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable

from aiohttp import web

__all__ = ["PIECE", "NotAvailable", "send_file"]

PIECE = 1024 * 1024


class NotAvailable(Exception):
    """This connection cannot use sendfile (TLS): nothing was sent, stream instead."""


async def send_file(
    request: web.BaseRequest,
    fd: int,
    offset: int,
    count: int,
    *,
    send_timeout: float,
    cache: Callable[[int, int], asyncio.Future[None] | None] | None = None,
) -> int:
    """Send ``count`` bytes of ``fd`` from ``offset`` on the request's connection, after
    the response head (already prepared). Returns the bytes sent: fewer than ``count``
    when the file ended early. Raises :class:`NotAvailable` before sending anything on
    a connection that cannot use sendfile; closes the connection and raises
    ``ConnectionResetError`` when a piece did not leave in time (the client stopped
    reading). ``cache(offset, length)`` (``ObjectRead.cache``) brings the first piece
    into the page cache before it is sent and each next piece while the one before goes
    out, so the sendfile on the event loop does not wait for the disk."""
    transport = request.transport
    if transport is None:
        raise ConnectionResetError("Connection lost")
    if transport.get_extra_info("ssl_object") is not None:
        raise NotAvailable("TLS: the bytes must pass through the encryption layer")
    loop = asyncio.get_running_loop()
    sent = 0
    # the piece coming into the cache: the first before it is sent, each next one while
    # the one before goes out
    pending = None if cache is None else cache(offset, min(PIECE, count))
    try:
        with os.fdopen(fd, "rb", closefd=False) as file:  # loop.sendfile wants a file
            while sent < count:
                piece = min(PIECE, count - sent)
                if pending is not None:
                    await pending
                    pending = None
                following = sent + piece
                if cache is not None and following < count:
                    pending = cache(offset + following, min(PIECE, count - following))
                if transport.is_closing():  # asyncio would raise RuntimeError
                    raise ConnectionResetError("Connection lost")
                try:
                    async with asyncio.timeout(send_timeout or None):
                        done = await loop.sendfile(
                            transport, file, offset + sent, piece, fallback=False
                        )
                except (NotImplementedError, asyncio.SendfileNotAvailableError) as exc:
                    if not sent:
                        raise NotAvailable(str(exc)) from exc
                    # a piece's first os.sendfile failed, its OSError dropped by asyncio:
                    # the file still reads, so it was the client's socket (EPIPE, reset)
                    os.pread(fd, 1, offset + sent)
                    transport.abort()
                    raise ConnectionResetError("Connection lost") from None
                except ConnectionError as exc:  # a reset or closed socket mid-piece
                    transport.abort()
                    raise ConnectionResetError(str(exc)) from None
                except TimeoutError:
                    transport.close()
                    raise ConnectionResetError(
                        f"response not read for {send_timeout:g} s"
                    ) from None
                if done == 0:
                    break
                sent += done
    finally:
        if pending is not None and not pending.done():
            # its read uses the descriptor the caller closes next: let it end first
            with contextlib.suppress(BaseException):
                await asyncio.shield(pending)
    return sent
