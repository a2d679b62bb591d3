"""Running the listeners: TLS, worker processes sharing the ports, graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import ssl
from collections.abc import Callable

from aiohttp import web

from gateway import logs, metrics
from gateway.app import Shared, make_api_app, make_s3_app
from gateway.config import Config

log = logging.getLogger("nfyio.server")


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
    runners: list[web.AppRunner] = []
    sites: list[web.TCPSite] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        for app, port in (
            (make_s3_app(shared), config.server.s3_port),
            (make_api_app(shared), config.server.api_port),
        ):
            runner = web.AppRunner(
                app,
                access_log=None,
                shutdown_timeout=config.server.shutdown_timeout,
                handle_signals=False,
            )
            await runner.setup()
            runners.append(runner)
            site = web.TCPSite(
                runner, config.server.host, port, ssl_context=tls, reuse_port=reuse_port or None
            )
            await site.start()
            sites.append(site)
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


def _worker(config: Config) -> None:
    logs.configure(config.server.log_level)
    asyncio.run(serve(config, reuse_port=True))


def run(config: Config, *, ready: Callable[[], None] | None = None) -> None:
    """Serve in this process (one worker) or in N forked workers sharing the ports."""
    with contextlib.ExitStack() as stack:
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
    processes = [
        context.Process(target=_worker, args=(config,), daemon=False) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    if ready is not None:
        ready()

    def forward(signum: int, _frame: object) -> None:
        for process in processes:
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for process in processes:
        process.join()
        if process.pid is not None:
            metrics.worker_exited(process.pid)
