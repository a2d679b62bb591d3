"""Wiring: ``add_routes(app)`` (``/oauth/*`` and ``/.well-known/*``) on the API listener,
``make_verifier`` for both listeners."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from aiohttp import web

from gateway.api import openapi
from gateway.config import Config
from gateway.identity.store import IdentityStore
from gateway.oauth.access_tokens import AccessTokenVerifier
from gateway.oauth.context import OAUTH, OAuthContext
from gateway.oauth.metadata import authorization_server_metadata, jwks
from gateway.oauth.revocation import introspect, revoke
from gateway.oauth.settings import OAuthSettings
from gateway.oauth.spec_oauth import FRAGMENT
from gateway.oauth.token_endpoint import token
from gateway.state import CONFIG, IDENTITY

__all__ = ["PRUNE_INTERVAL", "add_routes", "make_verifier"]

log = logging.getLogger("nfyio.oauth")
PRUNE_INTERVAL = 3600.0


def make_verifier(store: IdentityStore, config: Config) -> AccessTokenVerifier:
    """The ``TOKEN_VERIFIER`` of a listener."""
    return AccessTokenVerifier(store, OAuthSettings.from_config(config))


async def prune(
    store: IdentityStore, settings: OAuthSettings, *, ended_key_retention_days: int = 0
) -> None:
    """Drop expired sessions, revocations, throttle buckets, signing keys past their
    overlap, and access keys that ended more than ``ended_key_retention_days`` ago (0:
    none)."""
    await store.sessions.prune()
    await store.throttle.prune(settings.throttle)
    removed = await store.signing_keys.prune()
    if removed:
        log.info("removed signing keys past their overlap: %s", ", ".join(removed))
    if ended_key_retention_days:
        before = datetime.now(UTC) - timedelta(days=ended_key_retention_days)
        ended = await store.keys.prune_ended(before)
        if ended:
            log.info("removed %d access keys revoked or expired before %s", ended, before)


async def prune_or_log(
    store: IdentityStore, settings: OAuthSettings, ended_key_retention_days: int
) -> None:
    """One pass of :func:`prune`; a failure is logged and the next pass retries. Any
    failure: a state store that is down (PostgreSQL) or locked past the busy timeout
    (SQLite) raises ``StoreUnavailable``, and the hourly loop must outlive it."""
    try:
        await prune(store, settings, ended_key_retention_days=ended_key_retention_days)
    except Exception:
        log.exception("oauth: pruning expired records failed; will retry")


async def _prune_forever(
    store: IdentityStore, settings: OAuthSettings, ended_key_retention_days: int
) -> None:
    while True:
        await prune_or_log(store, settings, ended_key_retention_days)
        await asyncio.sleep(PRUNE_INTERVAL)


async def _oauth_ctx(app: web.Application) -> AsyncIterator[None]:
    store = app[IDENTITY]
    settings = OAuthSettings.from_config(app[CONFIG])
    await store.signing_keys.ensure_active()
    app[OAUTH] = OAuthContext(store, settings, AccessTokenVerifier(store, settings))
    retention = app[CONFIG].identity.ended_key_retention_days
    task = asyncio.create_task(_prune_forever(store, settings, retention))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def add_routes(app: web.Application) -> None:
    """The OAuth endpoints and their OpenAPI fragment. Call after the identity store's
    context is installed (the signing key is ensured at startup). They are not rows of
    the ``/v1`` route table: each authenticates its client itself (RFC 6749 2.3) and
    answers RFC 6749 errors."""
    app.router.add_post("/oauth/token", token)
    app.router.add_post("/oauth/revoke", revoke)
    app.router.add_post("/oauth/introspect", introspect)
    app.router.add_get("/.well-known/jwks.json", jwks)
    app.router.add_get("/.well-known/oauth-authorization-server", authorization_server_metadata)
    openapi.register(app, FRAGMENT)
    app.cleanup_ctx.append(_oauth_ctx)
