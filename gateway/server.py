"""Running the listeners: TLS, worker processes sharing the ports, connection limits,
graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import ssl
import sys
import time
from collections.abc import Callable
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from aiohttp import web
from cryptography import x509

from gateway import datadir, garbage, handler_tasks, logs, metrics
from gateway.api.errors import malformed_response
from gateway.app import Shared, install_direct_s3, make_api_app, make_s3_app
from gateway.config import Config, ServerConfig
from gateway.connections import GuardedSite, Limits
from gateway.executors import install_default_executor
from gateway.malformed import answering_with
from gateway.ratelog import RateLimitedLog, install_accept_error_handler, raise_fd_limit
from gateway.s3.render import render_malformed

log = logging.getLogger("nfyio.server")

AUTO_MAX_CONNECTIONS = 8192
"""Ceiling of the automatic ``server.max_connections`` (per listener and worker)."""
MAX_BACKLOG = 1024
MAX_RESTARTS = 5
RESTART_WINDOW = 60.0
"""A worker that exits while the gateway runs (killed, crashed) is replaced; more than
``MAX_RESTARTS`` exits within ``RESTART_WINDOW`` seconds stop the gateway (exit 1) rather
than restart a crashing worker forever."""


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
"""Each stops the gateway gracefully. SIGHUP too (there is no reload, docs/deploy.md):
its default action killed the parent of ``--workers N`` at once and left the workers
serving on, orphaned; a closed terminal sends it to every process of ``make run``."""
PR_SET_PDEATHSIG = 1


def connection_limits(server: ServerConfig, fd_limit: int) -> Limits:
    """The limits of each listener, and what ``max_connections = 0`` takes from the
    descriptor limit: a reserve for databases, logs and the like (a quarter, at most
    256); room for two accept bursts per listener (asyncio accepts up to ``backlog``
    sockets per wake-up before the guard can refuse any, so the backlog follows the
    limit too); then a third of the rest per listener (an S3 connection may hold a data
    file as well)."""
    backlog = max(8, min(MAX_BACKLOG, fd_limit // 32))
    reserve = min(256, fd_limit // 4)
    affordable = max(16, (fd_limit - reserve - 2 * 2 * backlog) // 3)
    max_connections = server.max_connections
    if max_connections == 0:
        max_connections = min(AUTO_MAX_CONNECTIONS, affordable)
    elif max_connections > affordable:
        log.warning(
            "server.max_connections = %d per listener exceeds what the descriptor limit "
            "(%d) affords (%d): the process may run out of descriptors under load",
            max_connections,
            fd_limit,
            affordable,
        )
    return Limits(
        header_timeout=server.header_timeout,
        body_timeout=server.body_timeout,
        body_min_rate=server.body_min_rate,
        keepalive_timeout=server.keepalive_timeout,
        send_timeout=server.send_timeout,
        max_connections=max_connections,
        max_per_address=server.max_connections_per_address,
        backlog=backlog,
    )


def certificate_expiry(path: str) -> datetime:
    """When the first certificate of the PEM file ``path`` expires."""
    with open(path, "rb") as pem:
        return x509.load_pem_x509_certificate(pem.read()).not_valid_after_utc


def ssl_context(config: Config) -> ssl.SSLContext | None:
    if not config.server.tls_cert or not config.server.tls_key:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config.server.tls_cert, config.server.tls_key)
    return context


async def serve(
    config: Config, *, reuse_port: bool = False, ready: Callable[[], None] | None = None
) -> None:
    """Serve both listeners until SIGTERM/SIGINT, then drain in-flight requests."""
    shared = Shared(config)
    tls = ssl_context(config)
    limits = connection_limits(config.server, raise_fd_limit())
    runners: list[web.AppRunner] = []
    sites: list[GuardedSite] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    install_accept_error_handler(loop, RateLimitedLog(log))
    install_default_executor(loop, shared.executors)
    handler_tasks.install(loop)
    try:
        for name, app, port in (
            ("s3", make_s3_app(shared), config.server.s3_port),
            ("api", make_api_app(shared), config.server.api_port),
        ):
            runner = web.AppRunner(
                app,
                access_log=None,
                shutdown_timeout=config.server.shutdown_timeout,
                handle_signals=False,
            )
            await runner.setup()
            if name == "s3":
                assert runner.server is not None
                install_direct_s3(runner.server, app)
            runners.append(runner)
            site = GuardedSite(
                runner,
                config.server.host,
                port,
                limits,
                name=name,
                ssl_context=tls,
                reuse_port=reuse_port,
                handler_class=answering_with(
                    render_malformed if name == "s3" else malformed_response
                ),
            )
            await site.start()
            sites.append(site)
        log.info(
            "connection limits per listener: %d connections, %d per address; timeouts "
            "(s): header %g, body %g (min %d bytes/s), keep-alive %g, send %g",
            limits.max_connections,
            limits.max_per_address,
            limits.header_timeout,
            limits.body_timeout,
            limits.body_min_rate,
            limits.keepalive_timeout,
            limits.send_timeout,
        )
        garbage.settle()  # the app is built: what start-up made stays (gateway/garbage.py)
        if ready is not None:
            ready()
        await stop.wait()
        log.info("shutting down: finishing in-flight requests")
        for site in sites:
            await site.stop()  # no new connections; open ones keep being served
        timeout = config.server.shutdown_timeout
        if not await shared.inflight.wait_idle(timeout):
            log.warning("%d requests still running after %.0fs", shared.inflight.count, timeout)
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
        shared.executors.close()


def _stop_with_parent(parent: int) -> None:
    """Linux: SIGTERM this worker when the parent dies without stopping it (SIGKILL, the
    OOM killer); otherwise the worker served on, orphaned, and a new gateway shared the
    ports with it (``SO_REUSEPORT``)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # it died before prctl
        os.kill(os.getpid(), signal.SIGTERM)


def _worker(config: Config, listening: Connection, parent: int) -> None:
    _stop_with_parent(parent)
    logs.configure(config.server.log_level)
    asyncio.run(serve(config, reuse_port=True, ready=lambda: listening.send(os.getpid())))


def _await_listening(listening: Connection, processes: list[BaseProcess]) -> bool:
    """Wait until every worker listens on both ports (each binds its own ``SO_REUSEPORT``
    socket; the kernel spreads connections only over the sockets that exist, so a
    "ready" said before the last one binds would send every early client to one worker).
    False when a worker exits first: the join in :func:`_run` reports it."""
    waiting = len(processes)
    while waiting:
        if listening.poll(0.1):
            listening.recv()
            waiting -= 1
        elif any(not process.is_alive() for process in processes):
            return False
    return True


def run(config: Config, *, ready: Callable[[], None] | None = None) -> None:
    """Serve in this process (one worker) or in N forked workers sharing the ports."""
    raise_fd_limit()  # before forking: workers inherit it
    with contextlib.ExitStack() as stack:
        # Shared with every other `serve` here; `rotate-master-key` waits for none.
        stack.enter_context(datadir.serving(config.data_dir))
        if config.server.metrics:
            # Before any worker exists and before prometheus_client is imported (workers
            # import it when they build their apps): every process writes its counts here.
            stack.enter_context(metrics.multiprocess_dir(config.data_dir))
        _run(config, ready)


def _run(config: Config, ready: Callable[[], None] | None) -> None:
    workers = max(1, config.server.workers)
    if workers == 1:
        asyncio.run(serve(config, ready=ready))
        return
    context = multiprocessing.get_context("fork")
    heard, listening = context.Pipe(duplex=False)

    def spawn() -> BaseProcess:
        process = context.Process(
            target=_worker, args=(config, listening, os.getpid()), daemon=False
        )
        process.start()
        return process

    processes = [spawn() for _ in range(workers)]
    stopping = False

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, signum)

    for sig in STOP_SIGNALS:
        signal.signal(sig, forward)
    failed = not _await_listening(heard, processes)
    if failed:
        # Half a gateway is worse than none: a supervisor restarts a failed one.
        log.error("a worker exited while starting (its error is above); stopping the others")
        forward(signal.SIGTERM, None)
    elif ready is not None:
        ready()
    too_many_exits = _supervise(
        processes,
        spawn,
        heard,
        stop=lambda: forward(signal.SIGTERM, None),
        stopping=lambda: stopping,
    )
    if failed or too_many_exits:
        raise SystemExit(1)


def _supervise(
    processes: list[BaseProcess],
    spawn: Callable[[], BaseProcess],
    heard: Connection,
    *,
    stop: Callable[[], None],
    stopping: Callable[[], bool],
) -> bool:
    """Until every worker has exited: reap the workers that exit and, unless the gateway
    is stopping, start one in each one's place. More than ``MAX_RESTARTS`` exits within
    ``RESTART_WINDOW`` seconds call ``stop`` (which makes ``stopping`` true) and make the
    answer True: a worker that keeps crashing is not restarted forever."""
    failed = False
    exits: list[float] = []
    handled: set[int] = set()
    while True:
        running = [process for process in processes if process.exitcode is None]
        # Workers that died since the last look (every one of them, perhaps: the OOM
        # killer can take them all at once) are seen to before waiting again.
        if all(process.pid in handled for process in processes if process not in running):
            if not running:
                return failed
            multiprocessing.connection.wait([*(process.sentinel for process in running), heard])
        while heard.poll():  # a replacement saying it listens
            heard.recv()
        for slot, process in enumerate(processes):
            if process.exitcode is None or process.pid is None or process.pid in handled:
                continue
            process.join()
            handled.add(process.pid)
            metrics.worker_exited(process.pid)
            if stopping():
                continue
            now = time.monotonic()
            exits = [t for t in exits if now - t < RESTART_WINDOW] + [now]
            if len(exits) > MAX_RESTARTS:
                log.error(
                    "workers exited %d times within %.0f s; stopping the gateway",
                    len(exits),
                    RESTART_WINDOW,
                )
                failed = True
                stop()
                continue
            log.error(
                "worker %d exited unexpectedly (exit code %s); starting another",
                process.pid,
                process.exitcode,
            )
            processes[slot] = spawn()
