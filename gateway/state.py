"""Shared application state under typed keys (no module-level singletons)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from backends.base import Backend
from gateway.auth.bearer import TokenVerifier
from gateway.config import Config
from gateway.identity.store import IdentityStore


class Inflight:
    """Counts requests being handled, so shutdown can wait for them before closing
    connections (aiohttp stops reading request bodies once it starts closing)."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.count += 1
        self._idle.clear()

    def leave(self) -> None:
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    async def wait_idle(self, grace: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            return False
        return True


CONFIG = web.AppKey("config", Config)
INFLIGHT = web.AppKey("inflight", Inflight)
BACKEND = web.AppKey("backend", Backend)
IDENTITY = web.AppKey("identity", IdentityStore)
TOKEN_VERIFIER: web.AppKey[TokenVerifier | None] = web.AppKey("token_verifier")
