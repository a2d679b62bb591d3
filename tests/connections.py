"""An aiohttp client session of one connection that counts the connections it makes, for
the tests that an answer keeps a keep-alive client's connection (docs/architecture.md,
"every answer framed; connections kept"): aiohttp's parser (llhttp) is the one that reads
an answer without a length to a HEAD as ending with the connection."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

__all__ = ["Counted", "one_connection"]


class Counted:
    """``session`` and how many connections it has ``made`` so far."""

    session: aiohttp.ClientSession

    def __init__(self) -> None:
        self.made = 0

    async def connected(self, *_: object) -> None:
        self.made += 1


@asynccontextmanager
async def one_connection(tls: ssl.SSLContext | bool = True) -> AsyncIterator[Counted]:
    """A session limited to one connection at a time, counting each one it opens."""
    counted = Counted()
    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(counted.connected)  # before the session freezes it
    connector = aiohttp.TCPConnector(limit=1, ssl=tls)
    async with aiohttp.ClientSession(connector=connector, trace_configs=[trace]) as session:
        counted.session = session
        yield counted
