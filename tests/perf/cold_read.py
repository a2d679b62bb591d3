"""``make bench``: what a GET of an object that is not in the page cache does to the other
requests of the same gateway process, on a slow disk.

A GET body goes out with ``sendfile`` on the event loop; a ``sendfile`` of pages that are
not in the page cache reads them from the disk first, and the whole process waits. The
gateway brings each piece into the cache on the backend's threads before it is sent
(``ObjectRead.cache``). This bench shows the difference: one gateway process (fsync on)
holds a 128 MiB object whose data file is evicted from the page cache; while one client
GETs it, another sends HEAD requests one after the other on the same process, and the
table gives how many were answered and their latency (p50, p99, max). The disk is made
slow for the gateway process alone with the cgroup v1 ``blkio`` read throttle (100 MB/s
by default, ``BENCH_COLD_READ_BPS``): it needs root and that controller, and says so and
skips otherwise. With ``BENCH_BASELINE_TREE`` (as for ``sidebyside``) the other
revision's gateway runs the same rounds, interleaved. Nothing asserts on time.

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
from contextlib import ExitStack
from pathlib import Path

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.page_cache import evict

MiB = 1024 * 1024
SIZE = 128 * MiB
ROUNDS = 2
CGROUP = Path("/sys/fs/cgroup/blkio")


def _throttle(name: str, data_dir: Path, bps: int) -> Path | None:
    """A blkio cgroup reading at most ``bps`` from the device under ``data_dir``."""
    if os.geteuid() != 0 or not CGROUP.is_dir():
        return None
    dev = os.stat(data_dir).st_dev
    group = CGROUP / name
    try:
        group.mkdir(exist_ok=True)
        (group / "blkio.throttle.read_bps_device").write_text(
            f"{os.major(dev)}:{os.minor(dev)} {bps}\n"
        )
    except OSError:
        return None
    return group


def _evict(gw: Gateway) -> None:
    for path in (gw.data_dir / "storage" / "objects").rglob("*"):
        if path.is_file() and path.stat().st_size == SIZE:
            evict(path)


def _path(gw: Gateway, method: str, key: str) -> str:
    url = gw.client().generate_presigned_url(
        method, Params={"Bucket": "cold", "Key": key}, ExpiresIn=3600
    )
    return str(url[len(gw.s3_url) :])


def _round(gw: Gateway) -> tuple[float, list[float]]:
    """(GET MB/s, HEAD latencies in ms while it ran)."""
    _evict(gw)
    head, get = _path(gw, "head_object", "small"), _path(gw, "get_object", "big")
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
    started = time.perf_counter()
    conn.request("GET", get)
    response = conn.getresponse()
    while response.read(MiB):
        pass
    elapsed = time.perf_counter() - started
    conn.close()
    stop.set()
    thread.join()
    return SIZE / elapsed / 1e6, latencies


def main() -> int:
    bps = int(os.environ.get("BENCH_COLD_READ_BPS", str(100 * 1000 * 1000)))
    base = Path(tempfile.mkdtemp(prefix="nfyio-cold-"))
    peers: list[tuple[str, str | None]] = [("gateway", None)]
    baseline = os.environ.get("BENCH_BASELINE_TREE")
    if baseline:
        peers.append(("gateway (baseline)", baseline))
    group = _throttle(f"nfyio-bench-{os.getpid()}", base, bps)
    if group is None:
        print("cold-read bench skipped: it needs root and the cgroup v1 blkio controller")
        shutil.rmtree(base, ignore_errors=True)
        return 0
    results: dict[str, list[tuple[float, list[float]]]] = {name: [] for name, _ in peers}
    try:
        with ExitStack() as stack:
            gateways: list[tuple[str, Gateway]] = []
            for n, (name, tree) in enumerate(peers):
                env = {"NFYIO_SERVER_ACCESS_LOG": "false", "NFYIO_FSYNC": "true"}
                if tree:
                    env["PYTHONPATH"] = tree
                gw = start_gateway(base / f"gw{n}" / "data", extra_env=env)
                stack.callback(gw.stop)
                s3 = gw.client()
                s3.create_bucket(Bucket="cold")
                s3.put_object(Bucket="cold", Key="small", Body=b"x")
                block = os.urandom(MiB)
                s3.upload_fileobj(_Repeat(block, SIZE // MiB), "cold", "big")
                (group / "cgroup.procs").write_text(str(gw.pid()))
                gateways.append((name, gw))
            for round_ in range(ROUNDS):
                order = gateways[round_ % len(gateways) :] + gateways[: round_ % len(gateways)]
                for name, gw in order:
                    results[name].append(_round(gw))
    finally:
        shutil.rmtree(base, ignore_errors=True)
        for _ in range(50):  # the gateways' processes leave the group as they exit
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)
    print(
        f"HEADs on the same gateway process while a {SIZE // MiB} MiB object that is not "
        f"in the page cache is sent (disk reads throttled to {bps / 1e6:.0f} MB/s, "
        f"{ROUNDS} interleaved rounds)"
    )
    print()
    print("| peer | GET MB/s | HEADs answered during the GET | p50 | p99 | max |")
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
