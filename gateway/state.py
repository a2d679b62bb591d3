"""Shared application state under typed keys (no module-level singletons)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from backends.base import Backend
from gateway.auth.principal import Principal
from gateway.config import Config
from gateway.identity.store import IdentityStore

TokenVerifier = Callable[[str], Awaitable[Principal]]
"""Turns a bearer JWT into a principal or raises ``gateway.auth.errors.AuthError``."""

CONFIG = web.AppKey("config", Config)
BACKEND = web.AppKey("backend", Backend)
IDENTITY = web.AppKey("identity", IdentityStore)
TOKEN_VERIFIER: web.AppKey[TokenVerifier | None] = web.AppKey("token_verifier")
