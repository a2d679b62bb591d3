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

**Cost per request.** A request adds to in-process tallies (a dictionary lookup, a few
additions and a ``bisect`` for its duration bucket, about 0.5 us); :meth:`Metrics.flush`
moves them into prometheus_client's values once a second, before this process answers
a scrape, and when the server stops. Each value update in multiprocess mode is a lock
and a write into a memory-mapped file (about 0.6 us), five of them for a GET: done per
request, that was 4-6 % of a small GET's instructions. So a scrape that lands on one
worker sees what the others counted up to a second earlier.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sys
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from gateway.datadir import allocate
from gateway.ratelog import RateLimitedLog

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Histogram
    from prometheus_client.metrics_core import Metric
    from prometheus_client.mmap_dict import MmapedDict

_log = logging.getLogger("nfyio.metrics")
ENV = "PROMETHEUS_MULTIPROC_DIR"
PREFIX = "metrics-"
FLUSH_SECONDS = 1.0
"""How often a process moves its tallies into the shared values (and so how far behind
a scrape answered by another worker can be)."""

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


_ENTRY_OVERHEAD = 32
"""Bytes a value file entry takes beyond its key: length, padding to 8, two doubles."""


def _allocated_value_files() -> type[MmapedDict]:
    """prometheus_client's value file (``MmapedDict``: one per process and metric type,
    written through a shared mapping), with blocks on the disk for every byte before it
    is mapped (``datadir.allocate``). The library grows the file with ``truncate``, which
    leaves it sparse; the first write to a page without a block, on a full disk, killed
    the process with SIGBUS (a worker died on the first new label set, e.g. the first
    503 of an operation, once the data directory's disk was full). Now opening a value
    file, or growing one, raises ENOSPC, which a flush survives (``Metrics.run``) and
    retries. Costs nothing per request: a file is opened and grown when a label set is
    first flushed, and its blocks are allocated then."""
    from prometheus_client import mmap_dict

    initial = int(getattr(mmap_dict, "_INITIAL_MMAP_SIZE", 1 << 16))

    class AllocatedMmapedDict(mmap_dict.MmapedDict):
        def __init__(self, filename: str, read_mode: bool = False) -> None:
            if not read_mode:
                fd = os.open(filename, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                try:
                    allocate(fd, max(initial, os.fstat(fd).st_size))
                finally:
                    os.close(fd)
            super().__init__(filename, read_mode)  # type: ignore[no-untyped-call]

        def _init_value(self, key: str) -> None:
            # the library doubles the file until the entry fits, then writes through the
            # new mapping: allocate what it will grow to first
            needed = self._used + len(key.encode("utf-8")) + _ENTRY_OVERHEAD
            capacity = self._capacity
            while needed > capacity:
                capacity *= 2
            if capacity > self._capacity:
                allocate(self._f.fileno(), capacity)
            super()._init_value(key)  # type: ignore[no-untyped-call]

    return AllocatedMmapedDict


class _S3Tally:
    """What one (operation, status) counted since the last flush."""

    __slots__ = ("buckets", "count", "received", "seconds", "sent")

    def __init__(self, buckets: int) -> None:
        self.count = 0
        self.seconds = 0.0
        self.buckets = [0] * buckets
        """Observations per duration bucket (not cumulative), ``+Inf`` last."""
        self.received = 0
        self.sent = 0


def add_observations(histogram: Histogram, seconds: float, buckets: list[int]) -> None:
    """Add ``sum(buckets)`` observations totalling ``seconds`` to a histogram child, as
    that many ``observe`` calls would (prometheus_client has no call for a batch: this
    writes its sum and per-bucket values, as ``Histogram.observe`` does;
    ``tests/gateway/test_metrics_tallies.py`` checks the two agree)."""
    histogram._sum.inc(seconds)
    for index, n in enumerate(buckets):
        if n:
            histogram._buckets[index].inc(n)


class Metrics:
    """The gateway's metrics for one process, and the scrape that reports all of them."""

    def __init__(self, *, version: str, backend: str, workers: int) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram, values
        from prometheus_client.multiprocess import MultiProcessCollector

        self.multiprocess = ENV in os.environ
        if self.multiprocess and not getattr(values.ValueClass, "_cached_pid", False):
            values.MmapedDict = _allocated_value_files()  # type: ignore[attr-defined]
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
        # Label children, created once per key when its first tally is flushed.
        self._s3_children: dict[tuple[str, int], tuple[Counter, Histogram, Counter, Counter]] = {}
        self._api_children: dict[tuple[str, int], Counter] = {}
        self._bounds = DURATION_BUCKETS
        self._s3: dict[tuple[str, int], _S3Tally] = {}
        self._api: dict[tuple[str, int], int] = {}

    def observe_s3(
        self, operation: str, status: int, seconds: float, received: int, sent: int
    ) -> None:
        tally = self._s3.get((operation, status))
        if tally is None:
            tally = self._s3[(operation, status)] = _S3Tally(len(self._bounds) + 1)
        tally.count += 1
        tally.seconds += seconds
        tally.buckets[bisect_left(self._bounds, seconds)] += 1
        tally.received += received
        tally.sent += sent

    def observe_api(self, route: str, status: int) -> None:
        key = (route, status)
        self._api[key] = self._api.get(key, 0) + 1

    def flush(self) -> None:
        """Move this process's tallies into prometheus_client's values. A new label
        set opens its value file first (multiprocess mode); when that fails (no
        descriptor left, say), the tallies not yet moved stay for the next flush and the
        error is raised."""
        s3, self._s3 = self._s3, {}
        pending = list(s3.items())
        try:
            while pending:
                (operation, status), tally = pending[-1]
                count, duration, received, sent = self._s3_children_of(operation, status)
                count.inc(tally.count)
                add_observations(duration, tally.seconds, tally.buckets)
                if tally.received:
                    received.inc(tally.received)
                if tally.sent:
                    sent.inc(tally.sent)
                pending.pop()
        finally:
            self._s3.update(pending)
        api, self._api = self._api, {}
        pending_api = list(api.items())
        try:
            while pending_api:
                (route, status), n = pending_api[-1]
                child = self._api_children.get((route, status))
                if child is None:
                    child = self.api_requests.labels(route, str(status))
                    self._api_children[(route, status)] = child
                child.inc(n)
                pending_api.pop()
        finally:
            self._api.update(pending_api)

    def _s3_children_of(
        self, operation: str, status: int
    ) -> tuple[Counter, Histogram, Counter, Counter]:
        children = self._s3_children.get((operation, status))
        if children is None:
            children = (
                self.s3_requests.labels(operation, str(status)),
                self.s3_duration.labels(operation),
                self.s3_received.labels(operation),
                self.s3_sent.labels(operation),
            )
            self._s3_children[(operation, status)] = children
        return children

    async def run(self) -> None:
        """Flush every ``FLUSH_SECONDS`` until cancelled (the server flushes once more
        when it stops). A failed flush is logged, at most once a minute, and retried."""
        failures = RateLimitedLog(_log, 60.0)
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            try:
                self.flush()
            except Exception as exc:
                failures.event("metrics", f"metrics not written, will retry: {exc!r}")

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        self.flush()
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


CLIENT_GONE = 499
"""The status counted for a request whose client went away before its answer (nginx's,
as the access log writes it)."""
UNMATCHED = "unmatched"
"""Route label of API requests no route matched (404/405): the raw path is not a label."""


@web.middleware
async def api_metrics_middleware(
    request: web.Request,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    """Count API requests by route template (``/v1/access-keys/{id}``), never raw paths.
    A request that ends in an exception counts too, as the access log has it: a redirect
    (the console's, raised as ``HTTPFound``) by its status, a client gone before its
    answer as 499."""
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except ConnectionError:
        status = CLIENT_GONE
        raise
    finally:
        route = request.match_info.route.resource
        metrics = request.app[METRICS]
        if metrics is not None:
            metrics.observe_api(route.canonical if route is not None else UNMATCHED, status)
