"""Prometheus metrics: ``GET /metrics`` on the API listener.

With ``--workers N`` every worker counts its own requests, and a scrape lands on whichever
worker the kernel picks, so the counts live in prometheus_client's multiprocess mode: each
process writes its values to memory-mapped files in a directory named by
``PROMETHEUS_MULTIPROC_DIR`` and a scrape sums the files of every worker. The server
creates that directory fresh for each run (``<data_dir>/run/metrics-<pid>``), before
forking, and removes it on exit (see ``multiprocess_dir``).

prometheus_client decides between in-memory and file-backed values when it is first
imported, so this module imports it only inside ``Metrics``: the server sets the variable
first. Without the variable (one process, e.g. the in-process tests) values stay in memory.

Labels are operation names from the S3 operation table, API route templates and status
codes: never a bucket, key, principal or secret.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric

ENV = "PROMETHEUS_MULTIPROC_DIR"
_Inc = Callable[[float], None]
_Observe = Callable[[float], None]
PREFIX = "metrics-"

DURATION_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
"""Seconds: small GETs and HEADs take well under a millisecond to a few; large bodies
take as long as the network or disk needs."""


_PID = [os.getpid()]
os.register_at_fork(after_in_child=lambda: _PID.__setitem__(0, os.getpid()))


def _process_id() -> int:
    """This process's id without a system call: multiprocess values ask for it on every
    update, to notice a fork, and ``os.getpid`` is a system call each time (about 3 % of
    a HEAD's CPU). Read at import and again in each forked child."""
    return _PID[0]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def multiprocess_dir(data_dir: Path) -> Iterator[Path]:
    """A fresh ``<data_dir>/run/metrics-<pid>`` named by ``PROMETHEUS_MULTIPROC_DIR`` for
    the life of this server run; directories left by runs that died are removed first.

    Must run before prometheus_client is imported in this process, and before forking.
    """
    values = sys.modules.get("prometheus_client.values")
    if values is not None and not getattr(values.ValueClass, "_multiprocess", False):
        raise RuntimeError(
            "prometheus_client was imported before PROMETHEUS_MULTIPROC_DIR was set: "
            "worker metrics would not add up"
        )
    run_dir = data_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in run_dir.glob(f"{PREFIX}*"):
        pid = stale.name[len(PREFIX) :]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue  # another gateway running on this data directory
        shutil.rmtree(stale, ignore_errors=True)
    path = run_dir / f"{PREFIX}{os.getpid()}"
    path.mkdir(mode=0o700)
    previous = os.environ.get(ENV)
    os.environ[ENV] = str(path)
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = previous
        shutil.rmtree(path, ignore_errors=True)


def worker_exited(pid: int) -> None:
    """Bookkeeping for a worker that ended: its live gauges go, its counters stay."""
    if ENV in os.environ:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


class _InfoCollector:
    """Facts about the server, computed at scrape time (nothing stored per process)."""

    def __init__(self, version: str, backend: str, workers: int) -> None:
        self.version = version
        self.backend = backend
        self.workers = workers

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.metrics_core import GaugeMetricFamily

        info = GaugeMetricFamily(
            "nfyio_build_info",
            "Gateway version and storage backend (always 1).",
            labels=["version", "backend"],
        )
        info.add_metric([self.version, self.backend], 1)
        yield info
        yield GaugeMetricFamily(
            "nfyio_workers", "Worker processes serving the ports.", value=self.workers
        )


class Metrics:
    """The gateway's metrics for one process, and the scrape that reports all of them."""

    def __init__(self, *, version: str, backend: str, workers: int) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram, values
        from prometheus_client.multiprocess import MultiProcessCollector

        self.multiprocess = ENV in os.environ
        if self.multiprocess and not getattr(values.ValueClass, "_cached_pid", False):
            value_class = values.MultiProcessValue(process_identifier=_process_id)  # type: ignore[no-untyped-call]
            value_class._cached_pid = True
            values.ValueClass = value_class
        # Multiprocess mode: values go to files, the scrape reads every worker's files.
        # Otherwise: values in memory, registered in a registry of their own (not the
        # global one, so several apps in one test process do not collide).
        own = None if self.multiprocess else CollectorRegistry(auto_describe=True)
        self.s3_requests = Counter(
            "nfyio_s3_requests",
            "S3 requests answered, by operation and HTTP status.",
            ["operation", "status"],
            registry=own,
        )
        self.s3_duration = Histogram(
            "nfyio_s3_request_duration_seconds",
            "Time from request to response (to the last body byte for streamed GETs).",
            ["operation"],
            buckets=DURATION_BUCKETS,
            registry=own,
        )
        self.s3_received = Counter(
            "nfyio_s3_request_bytes",
            "Request body bytes received on the S3 listener (as sent, aws-chunked framing "
            "included).",
            ["operation"],
            registry=own,
        )
        self.s3_sent = Counter(
            "nfyio_s3_response_bytes",
            "Response body bytes sent on the S3 listener (HEAD and 304 send none).",
            ["operation"],
            registry=own,
        )
        self.api_requests = Counter(
            "nfyio_api_requests",
            "Requests answered on the API listener, by route template and HTTP status.",
            ["route", "status"],
            registry=own,
        )
        self.scrape_registry: CollectorRegistry
        if self.multiprocess:
            self.scrape_registry = CollectorRegistry(auto_describe=True)
            MultiProcessCollector(self.scrape_registry)  # type: ignore[no-untyped-call]
        else:
            assert own is not None
            self.scrape_registry = own
        self.scrape_registry.register(_InfoCollector(version, backend, workers))
        # Label children, created once per (operation, status): a request costs a dict
        # lookup and a few additions, no label formatting.
        self._s3: dict[tuple[str, int], tuple[_Inc, _Observe, _Inc, _Inc]] = {}
        self._api: dict[tuple[str, int], _Inc] = {}

    def observe_s3(
        self, operation: str, status: int, seconds: float, received: int, sent: int
    ) -> None:
        children = self._s3.get((operation, status))
        if children is None:
            children = self._s3[(operation, status)] = (
                self.s3_requests.labels(operation, str(status)).inc,
                self.s3_duration.labels(operation).observe,
                self.s3_received.labels(operation).inc,
                self.s3_sent.labels(operation).inc,
            )
        count, duration, received_inc, sent_inc = children
        count(1)
        duration(seconds)
        if received:
            received_inc(received)
        if sent:
            sent_inc(sent)

    def observe_api(self, route: str, status: int) -> None:
        inc = self._api.get((route, status))
        if inc is None:
            inc = self._api[(route, status)] = self.api_requests.labels(route, str(status)).inc
        inc(1)

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.scrape_registry)

    @property
    def content_type(self) -> str:
        from prometheus_client import CONTENT_TYPE_LATEST

        return CONTENT_TYPE_LATEST


METRICS: web.AppKey[Metrics | None] = web.AppKey("metrics")
"""None when ``server.metrics`` is off."""


def response_bytes(request: web.BaseRequest, response: web.StreamResponse) -> int:
    """Body bytes of a response as declared: none for HEAD (its Content-Length describes
    the object, not what was sent) and none when no length is known."""
    if request.method == "HEAD":
        return 0
    return response.content_length or 0


async def scrape(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    assert metrics is not None  # the route exists only when metrics are on
    return web.Response(body=metrics.render(), headers={"Content-Type": metrics.content_type})


UNMATCHED = "unmatched"
"""Route label of API requests no route matched (404/405): the raw path is not a label."""


@web.middleware
async def api_metrics_middleware(
    request: web.Request,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    """Count API requests by route template (``/v1/access-keys/{id}``), never raw paths."""
    response = await handler(request)
    route = request.match_info.route.resource
    template = route.canonical if route is not None else UNMATCHED
    metrics = request.app[METRICS]
    if metrics is not None:
        metrics.observe_api(template, response.status)
    return response
