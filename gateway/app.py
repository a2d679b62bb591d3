"""Application factories for the two listeners and the resources they share."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from aiohttp import web
from aiohttp.typedefs import Middleware
from aiohttp.web_urldispatcher import UrlMappingMatchInfo

from backends.base import Backend
from gateway import __version__
from gateway.access_log import ACCESS_LOG, AccessLog
from gateway.api import buckets, observe, routes
from gateway.api import cors as api_cors
from gateway.api.auth import access_middleware, uncached_answers
from gateway.api.errors import json_error_middleware
from gateway.api.limits import rate_limit_middleware
from gateway.audit import AuditRecorder
from gateway.audit import s3 as audit_s3
from gateway.audit.http import AUDIT
from gateway.config import Config
from gateway.console import assets as console_assets
from gateway.executors import HASH_GATE, Executors
from gateway.identity.crypto import derive_key, load_previous_master_keys
from gateway.identity.store import IdentityStore
from gateway.lifecycle.rules import Clock
from gateway.lifecycle.sweeper import Sweeper
from gateway.metrics import METRICS, Metrics, api_metrics_middleware
from gateway.oauth import routes as oauth_routes
from gateway.ratelimit import RateLimiter
from gateway.ratelimit import http as rate_limits
from gateway.s3.dispatch import handle, no_expect_handler
from gateway.s3.web_request import request_factory
from gateway.state import BACKEND, CONFIG, IDENTITY, INFLIGHT, TOKEN_VERIFIER, Inflight
from gateway.transport import require_tls_middleware

if TYPE_CHECKING:
    from backends.s3 import UpstreamConfig

log = logging.getLogger("nfyio.app")


SSE_KEY_PURPOSE = "sse"
"""The master key's subkey that wraps the data keys of encrypted objects."""


def upstream_config(config: Config) -> UpstreamConfig:
    """The upstream client's settings; ``ValueError`` names a setting it refuses."""
    from backends.s3 import UpstreamConfig

    b = config.backend
    return UpstreamConfig(
        endpoint_url=b.endpoint_url,
        region=b.region,
        access_key_id=b.access_key_id or "",
        secret_access_key=b.secret_access_key or "",
        addressing_style=b.addressing_style,
        bucket_prefix=b.bucket_prefix,
        request_checksum_calculation=b.request_checksum_calculation,
        response_checksum_validation=b.response_checksum_validation,
        connect_timeout=b.connect_timeout,
        read_timeout=b.read_timeout,
        max_pool_connections=b.max_pool_connections,
        spool_threshold=b.spool_threshold,
        checksum_copy_max=b.checksum_copy_max,
        conditional_writes=tuple(
            entry.strip() for entry in b.conditional_writes.split(",") if entry.strip()
        ),
        native_checksums=b.native_checksums,
    )


def make_backend(
    config: Config, *, sse_key: bytes | None = None, sse_previous_keys: Sequence[bytes] = ()
) -> Backend:
    """The configured backend; ``sse_key`` (derived from the master key) lets the
    filesystem backend encrypt at rest (the s3 backend leaves that to the upstream), and
    ``sse_previous_keys`` (derived from the master keys rotated away from) read what was
    encrypted before the last rotation."""
    if config.backend.type == "s3":
        from backends.s3 import S3Backend

        return S3Backend(upstream_config(config))
    from backends.filesystem import FilesystemBackend

    return FilesystemBackend(
        Path(config.storage.data_dir) / "storage",
        fsync=config.storage.fsync,
        region=config.s3.region,
        min_part_size=config.s3.min_part_size,
        sse_key=sse_key,
        sse_previous_keys=sse_previous_keys,
        io_threads=config.storage.io_threads,
        direct_writes=config.storage.direct_writes,
        inline_max=config.storage.inline_max_bytes,
        temp_sweep_interval=config.storage.temp_sweep_interval,
        busy_timeout_ms=int(config.storage.busy_timeout * 1000),
    )


def make_sweeper(
    config: Config, backend: Backend, identity: IdentityStore, audit: AuditRecorder
) -> Sweeper:
    lifecycle = config.lifecycle
    return Sweeper(
        backend,
        identity.bucket_settings,
        identity.object_acls,
        clock=Clock(lifecycle.day_seconds),
        interval=lifecycle.sweep_interval,
        batch=lifecycle.batch,
        lease_seconds=lifecycle.lease_seconds,
        audit=audit,
    )


class Shared:
    """Resources both listeners of one process use: opened once, closed once."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.backend: Backend | None = None
        self.identity: IdentityStore | None = None
        self.limiter: RateLimiter | None = None
        self.audit: AuditRecorder | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._sweeper: asyncio.Task[None] | None = None
        self.inflight = Inflight()
        self.executors = Executors(
            hash_threads=config.auth.hash_threads, hash_queue=config.auth.hash_queue
        )
        self._users = 0
        self.metrics = (
            Metrics(
                version=__version__,
                backend=config.backend.type,
                workers=max(1, config.server.workers),
            )
            if config.server.metrics
            else None
        )

    async def acquire(self) -> tuple[Backend, IdentityStore]:
        if self.backend is None or self.identity is None:
            self.identity = await IdentityStore.from_config(self.config)
            previous = load_previous_master_keys(
                self.config.data_dir, self.config.auth.previous_master_key_files
            )
            self.backend = make_backend(
                self.config,
                sse_key=self.identity.keyring.subkey(SSE_KEY_PURPOSE),
                sse_previous_keys=[derive_key(key, SSE_KEY_PURPOSE) for key in previous],
            )
            await self.backend.start()
            self._flusher = asyncio.create_task(self.identity.run_flusher())
            self.limiter = RateLimiter(self.identity.rate_limits, self.config.ratelimit)
            self.audit = AuditRecorder(self.identity.audit, self.config.audit)
            self.identity.keys.on_expired_use = self.audit.key_expired
            self._tasks = [
                asyncio.create_task(self.limiter.run()),
                asyncio.create_task(self.audit.run()),
            ]
            if self.metrics is not None:
                self._tasks.append(asyncio.create_task(self.metrics.run()))
            if self.config.lifecycle.enabled:
                self._sweeper = asyncio.create_task(
                    make_sweeper(self.config, self.backend, self.identity, self.audit).run()
                )
        self._users += 1
        return self.backend, self.identity

    async def release(self) -> None:
        self._users -= 1
        if self._users > 0:
            return
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        for task in self._tasks:
            task.cancel()
        self._tasks = []
        if self.metrics is not None:
            try:
                self.metrics.flush()  # the last second's requests count too
            except Exception:
                log.exception("writing the last metrics at shutdown failed")
        if self._sweeper is not None:  # before the audit flush: its last events go too
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        await self._flush_ops()
        if self.backend is not None:
            await self.backend.close()
            self.backend = None
        if self.identity is not None:
            await self.identity.close()
            self.identity = None

    async def _flush_ops(self) -> None:
        """Give back leased tokens and write pending audit events before the store
        closes (a failure is logged: shutdown goes on)."""
        for name, flush in (
            ("rate-limit tokens", self.limiter.flush if self.limiter else None),
            ("audit events", self.audit.flush if self.audit else None),
        ):
            if flush is None:
                continue
            try:
                await flush()
            except Exception:
                log.exception("writing %s at shutdown failed", name)
        self.limiter = None
        self.audit = None


def _install(app: web.Application, shared: Shared) -> None:
    app[CONFIG] = shared.config
    app[INFLIGHT] = shared.inflight
    app[METRICS] = shared.metrics
    app[ACCESS_LOG] = AccessLog.for_config(shared.config)
    app[TOKEN_VERIFIER] = None
    app[HASH_GATE] = shared.executors.hashing

    async def resources(app: web.Application) -> AsyncIterator[None]:
        backend, identity = await shared.acquire()
        app[BACKEND] = backend
        app[IDENTITY] = identity
        app[TOKEN_VERIFIER] = oauth_routes.make_verifier(identity, shared.config)
        assert shared.limiter is not None and shared.audit is not None
        app[rate_limits.RATE_LIMITER] = shared.limiter
        app[AUDIT] = shared.audit
        yield
        await shared.release()

    app.cleanup_ctx.append(resources)


Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


def install_direct_s3(server: web.Server, app: web.Application) -> None:
    """The S3 listener's request handler and request factory without aiohttp's router
    (``serve`` installs them once ``app`` is frozen): every path belongs to the one
    handler, so resolving the route per request (a regular expression over the decoded
    path, a new match-info object, the expect handler) is work without an outcome. One
    frozen match info, made once here, gives ``request.app`` and the response-prepare
    signals what the router's would; ``handle`` sends 100 Continue itself. The factory
    (``gateway/s3/web_request.py``) hands each request that match info and the values
    the S3 code reads as plain attributes, so ``handle`` is the handler itself, without
    a coroutine of its own around it. About 5 % of a small request's CPU for the router
    (docs/performance.md)."""
    (route,) = app.router.routes()
    match_info = UrlMappingMatchInfo({}, route)
    match_info.add_app(app)
    match_info.freeze()
    server.request_factory = request_factory(app, match_info, server._loop)
    # the factory makes a web.Request for every request this handler is given (aiohttp
    # hands its placeholder for a refused request to its own error handler instead)
    server.request_handler = cast("Handler", handle)


def make_s3_app(shared: Shared) -> web.Application:
    """The S3 listener: every path belongs to S3; one handler resolves the operation."""
    app = web.Application(client_max_size=1024**2, handler_args={"auto_decompress": False})
    _install(app, shared)
    rate_limits.install(app, exempt_paths=frozenset())
    audit_s3.install(app)
    # [\s\S] rather than ".": keys may contain newlines (%0A), which "." would not match.
    app.router.add_route("*", r"/{tail:[\s\S]*}", handle, expect_handler=no_expect_handler)
    return app


def make_api_app(shared: Shared) -> web.Application:
    """The API listener: the route table (/health, /ready, /metrics, /v1) and the OAuth
    endpoints (/oauth, /.well-known).

    Middlewares, outermost first: metrics (sees the final status), CORS preflights when
    ``cors.api_origins`` is set (docs/cors.md), the request id, access log and audit
    events (:mod:`gateway.api.observe`), the one JSON error converter,
    ``server.require_tls`` when set (before any credential is looked at), the access
    check of the matched route table row (which spends an authenticated caller's rate
    limit right after authentication), then the rate limit of everything else.
    """
    middlewares: list[Middleware] = [
        observe.observe_middleware,
        json_error_middleware,
        access_middleware,
    ]
    if shared.config.server.require_tls:
        middlewares.insert(2, require_tls_middleware)
    middlewares.append(rate_limit_middleware)
    cors_preflight = api_cors.preflight_middleware(shared.config)
    if cors_preflight is not None:
        middlewares.insert(0, cors_preflight)
    if shared.metrics is not None:
        middlewares.insert(0, api_metrics_middleware)
    # Request lines up to 64 KiB (aiohttp's default, 8190 bytes, is refused as a text/plain
    # 400 before any middleware): object keys and prefixes of 1024 characters, each up to
    # 12 bytes percent-encoded, plus a cursor, must reach the handler for a JSON answer.
    # Bodies are never decompressed: aiohttp's parser would answer an encoding it lacks
    # (br) with a text/plain 400 and a corrupt gzip body with an error mid-read; the /v1
    # routes refuse a Content-Encoding with a JSON 415 instead (gateway/api/validation.py).
    app = web.Application(
        middlewares=middlewares,
        handler_args={"max_line_size": 64 * 1024, "auto_decompress": False},
    )
    _install(app, shared)
    app.on_response_prepare.append(uncached_answers)
    rate_limits.install(app, exempt_paths=rate_limits.EXEMPT_PATHS)
    observe.install(app)
    api_cors.install(app, shared.config)
    console_assets.install(app)
    buckets.install_stats_limit(app)
    routes.add_routes(app)
    oauth_routes.add_routes(app)
    return app
