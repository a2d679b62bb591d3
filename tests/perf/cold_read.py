"""``make bench``: what GETs of objects that are not in the page cache do to the other
requests of the same gateway process, on a slow disk.

A read of pages that are not in the page cache waits for the disk, and a read made on the
event loop makes the whole process wait: a large body's ``sendfile``, or a small body's
``pread``. The gateway reads uncached bytes on the backend's threads instead
(``ObjectRead.cache`` before each ``sendfile`` piece; ``FileBody`` for small reads). This
bench shows the difference. One gateway process (fsync on) holds the objects, their data
files evicted from the page cache; while one client GETs them, another sends HEAD requests
one after the other to the same process, and the tables give how many were answered and
their latency (p50, p99, max). Two cases, each with the gateway's disk reads throttled by
the cgroup v1 ``blkio`` controller for the gateway process alone:

- **large**: one 128 MiB object, reads limited to 100 MB/s (``BENCH_COLD_READ_BPS``);
- **small**: 100 objects of 4 KiB GET one after the other, reads limited to 100 per
  second (``BENCH_COLD_READ_IOPS``), as on a disk that seeks.

It needs root and that controller, and says so and skips otherwise. With
``BENCH_BASELINE_TREE`` (as for ``sidebyside``) the other revision's gateway runs the same
rounds, interleaved. Nothing asserts on time.

Run from the repository root: ``python -m tests.perf.cold_read``.
"""

from __future__ import annotations

import http.client
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.page_cache import evict
from tests.perf.sidebyside import NEVER_REFUSED, rotated

MiB = 1024 * 1024
LARGE = 128 * MiB
SMALL, SMALL_COUNT = 4096, 100
ROUNDS = 2
CGROUP = Path("/sys/fs/cgroup/blkio")


def _throttle(name: str, data_dir: Path, limit: str, value: int) -> Path | None:
    """A blkio cgroup whose reads from the device under ``data_dir`` are limited
    (``limit``: ``read_bps_device`` or ``read_iops_device``)."""
    if os.geteuid() != 0 or not CGROUP.is_dir():
        return None
    dev = os.stat(data_dir).st_dev
    group = CGROUP / name
    try:
        group.mkdir(exist_ok=True)
        (group / f"blkio.throttle.{limit}").write_text(f"{os.major(dev)}:{os.minor(dev)} {value}\n")
    except OSError:
        return None
    return group


def _remove(group: Path) -> None:
    for _ in range(50):  # processes leave the group as they exit
        try:
            group.rmdir()
            return
        except OSError:
            time.sleep(0.1)


def _evict(gw: Gateway, size: int) -> None:
    for path in (gw.data_dir / "storage" / "objects").rglob("*"):
        if path.is_file() and path.stat().st_size == size:
            evict(path)


def _path(gw: Gateway, method: str, key: str) -> str:
    url = gw.client().generate_presigned_url(
        method, Params={"Bucket": "cold", "Key": key}, ExpiresIn=3600
    )
    return str(url[len(gw.s3_url) :])


def _beside(gw: Gateway, work: Callable[[http.client.HTTPConnection], None]) -> list[float]:
    """HEAD latencies (ms) on the same gateway while ``work`` runs on its own connection."""
    head = _path(gw, "head_object", "small")
    stop, latencies = threading.Event(), []

    def heads() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", gw.s3_port, timeout=60)
        while not stop.is_set():
            started = time.perf_counter()
            conn.request("HEAD", head)
            conn.getresponse().read()
            latencies.append((time.perf_counter() - started) * 1e3)
        conn.close()

    thread = threading.Thread(target=heads)
    thread.start()
    conn = http.client.HTTPConnection("127.0.0.1", gw.s3_port, timeout=120)
    try:
        work(conn)
    finally:
        conn.close()
        stop.set()
        thread.join()
    return latencies


def _large_round(gw: Gateway) -> tuple[float, list[float]]:
    """(GET MB/s, HEAD latencies) for one cold GET of the large object."""
    _evict(gw, LARGE)
    get = _path(gw, "get_object", "big")
    elapsed = [0.0]

    def work(conn: http.client.HTTPConnection) -> None:
        started = time.perf_counter()
        conn.request("GET", get)
        response = conn.getresponse()
        while response.read(MiB):
            pass
        elapsed[0] = time.perf_counter() - started

    latencies = _beside(gw, work)
    return LARGE / elapsed[0] / 1e6, latencies


def _small_round(gw: Gateway) -> tuple[float, list[float]]:
    """(GETs/s, HEAD latencies) for cold GETs of every small object, one at a time."""
    _evict(gw, SMALL)
    gets = [_path(gw, "get_object", f"s{i}") for i in range(SMALL_COUNT)]
    elapsed = [0.0]

    def work(conn: http.client.HTTPConnection) -> None:
        started = time.perf_counter()
        for get in gets:
            conn.request("GET", get)
            conn.getresponse().read()
        elapsed[0] = time.perf_counter() - started

    latencies = _beside(gw, work)
    return SMALL_COUNT / elapsed[0], latencies


def _table(title: str, unit: str, results: dict[str, list[tuple[float, list[float]]]]) -> None:
    print(title)
    print()
    print(f"| peer | {unit} | HEADs answered meanwhile | p50 | p99 | max |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, rounds in results.items():
        for rate, lat in rounds:
            lat.sort()
            p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else 0.0
            print(
                f"| {name} | {rate:,.0f} | {len(lat):,} | "
                f"{statistics.median(lat) if lat else 0:.2f} ms | {p99:.2f} ms | "
                f"{max(lat, default=0):.2f} ms |"
            )
    print()


def main() -> int:
    bps = int(os.environ.get("BENCH_COLD_READ_BPS", str(100 * 1000 * 1000)))
    iops = int(os.environ.get("BENCH_COLD_READ_IOPS", "100"))
    base = Path(tempfile.mkdtemp(prefix="nfyio-cold-"))
    peers: list[tuple[str, str | None]] = [("gateway", None)]
    baseline = os.environ.get("BENCH_BASELINE_TREE")
    if baseline:
        peers.append(("gateway (baseline)", baseline))
    slow_bytes = _throttle(f"nfyio-bench-bps-{os.getpid()}", base, "read_bps_device", bps)
    slow_seeks = _throttle(f"nfyio-bench-iops-{os.getpid()}", base, "read_iops_device", iops)
    if slow_bytes is None or slow_seeks is None:
        print("cold-read bench skipped: it needs root and the cgroup v1 blkio controller")
        shutil.rmtree(base, ignore_errors=True)
        return 0
    large: dict[str, list[tuple[float, list[float]]]] = {name: [] for name, _ in peers}
    small: dict[str, list[tuple[float, list[float]]]] = {name: [] for name, _ in peers}
    try:
        with ExitStack() as stack:
            gateways: list[tuple[str, Gateway]] = []
            for n, (name, tree) in enumerate(peers):
                # every body in a data file: the small case is about files' reads (a small
                # object kept in the metadata database is read as its row is)
                env = {
                    "NFYIO_SERVER_ACCESS_LOG": "false",
                    "NFYIO_FSYNC": "true",
                    "NFYIO_INLINE_MAX_BYTES": "0",
                    **NEVER_REFUSED,
                }
                if tree:
                    env["PYTHONPATH"] = tree
                gw = start_gateway(base / f"gw{n}" / "data", extra_env=env)
                stack.callback(gw.stop)
                s3 = gw.client()
                s3.create_bucket(Bucket="cold")
                s3.put_object(Bucket="cold", Key="small", Body=b"x")
                for i in range(SMALL_COUNT):
                    s3.put_object(Bucket="cold", Key=f"s{i}", Body=os.urandom(SMALL))
                s3.upload_fileobj(_Repeat(os.urandom(MiB), LARGE // MiB), "cold", "big")
                gateways.append((name, gw))
            for group, results, one_round in (
                (slow_bytes, large, _large_round),
                (slow_seeks, small, _small_round),
            ):
                for _, gw in gateways:
                    (group / "cgroup.procs").write_text(str(gw.pid()))
                for round_ in range(1, ROUNDS + 1):
                    for name, gw in rotated(gateways, round_):
                        results[name].append(one_round(gw))
    finally:
        shutil.rmtree(base, ignore_errors=True)
        _remove(slow_bytes)
        _remove(slow_seeks)
    _table(
        f"HEADs on the same gateway process while a {LARGE // MiB} MiB object that is not "
        f"in the page cache is sent (disk reads throttled to {bps / 1e6:.0f} MB/s, "
        f"{ROUNDS} interleaved rounds)",
        "GET MB/s",
        large,
    )
    _table(
        f"HEADs on the same gateway process while {SMALL_COUNT} objects of "
        f"{SMALL // 1024} KiB that are not in the page cache are read one after the other "
        f"(disk reads throttled to {iops} per second, {ROUNDS} interleaved rounds)",
        "GETs/s",
        small,
    )
    return 0


class _Repeat:
    """A file-like object of ``count`` copies of ``block`` (never held whole)."""

    def __init__(self, block: bytes, count: int) -> None:
        self._block, self._left, self._buf = block, count, b""

    def read(self, n: int = -1) -> bytes:
        while (n < 0 or len(self._buf) < n) and self._left:
            self._buf += self._block
            self._left -= 1
        if n < 0:
            n = len(self._buf)
        out, self._buf = self._buf[:n], self._buf[n:]
        return out


if __name__ == "__main__":
    sys.exit(main())
