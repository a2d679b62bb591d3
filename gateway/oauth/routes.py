"""Wiring: ``add_routes(app)`` (``/oauth/*`` and ``/.well-known/*``) on the API listener,
``make_verifier`` for both listeners."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import urllib.parse
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from aiohttp import web

from gateway.api import openapi
from gateway.config import Config
from gateway.identity.db import StoreUnavailable
from gateway.identity.store import IdentityStore
from gateway.oauth.access_tokens import AccessTokenVerifier
from gateway.oauth.context import OAUTH, OAuthContext
from gateway.oauth.metadata import authorization_server_metadata, jwks
from gateway.oauth.revocation import introspect, revoke
from gateway.oauth.settings import OAuthSettings
from gateway.oauth.spec_oauth import FRAGMENT, issuer_metadata_fragment
from gateway.oauth.token_endpoint import token
from gateway.state import CONFIG, IDENTITY

__all__ = ["METADATA_PATH", "PRUNE_INTERVAL", "add_routes", "issuer_metadata_path", "make_verifier"]

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
    (SQLite) raises ``StoreUnavailable``, and the hourly loop must outlive it. That one is
    a line without a traceback: the store's own outage log already tells when an outage
    starts and ends (docs/deploy.md), and a traceback for a known outage was noise in
    it (a pass that met a PostgreSQL restart logged 40 lines)."""
    try:
        await prune(store, settings, ended_key_retention_days=ended_key_retention_days)
    except StoreUnavailable as exc:
        log.warning(
            "oauth: pruning expired records failed (%s: %s); will retry", type(exc).__name__, exc
        )
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


METADATA_PATH = "/.well-known/oauth-authorization-server"
_PLAIN_PATH = re.compile(r"(/[A-Za-z0-9._~!$&'()*+,;=:@-]+)+")
"""An issuer path the router can hold as it is: no percent-encoding (the router matches
decoded paths), no braces (a route variable), no empty segment."""


def issuer_metadata_path(issuer: str) -> str | None:
    """Where RFC 8414 3 puts the metadata of an issuer with a path: the well-known suffix
    first, then the path (``https://gw.example/auth`` ->
    ``/.well-known/oauth-authorization-server/auth``); None for an issuer without one,
    or with one the router cannot hold as it is (docs/oauth.md)."""
    path = urllib.parse.urlsplit(issuer).path.rstrip("/")
    if not path or not _PLAIN_PATH.fullmatch(path):
        return None
    return METADATA_PATH + path


def add_routes(app: web.Application) -> None:
    """The OAuth endpoints and their OpenAPI fragment. Call after the identity store's
    context is installed (the signing key is ensured at startup). They are not rows of
    the ``/v1`` route table: each authenticates its client itself (RFC 6749 2.3) and
    answers RFC 6749 errors."""
    app.router.add_post("/oauth/token", token)
    app.router.add_post("/oauth/revoke", revoke)
    app.router.add_post("/oauth/introspect", introspect)
    app.router.add_get("/.well-known/jwks.json", jwks)
    app.router.add_get(METADATA_PATH, authorization_server_metadata)
    openapi.register(app, FRAGMENT)
    at_issuer_path = issuer_metadata_path(OAuthSettings.from_config(app[CONFIG]).issuer)
    if at_issuer_path is not None:
        app.router.add_get(at_issuer_path, authorization_server_metadata)
        openapi.register(app, issuer_metadata_fragment(at_issuer_path))
    app.cleanup_ctx.append(_oauth_ctx)
