"""Measurements behind docs/security.md "Resource limits" (numbers, never assertions).

    .venv/bin/python -m tests.perf.dos_bench [--slow-clients 1000] [--seconds 60]

1. **OAuth flood**: the latency of a 1 MiB GET, idle and while 150 concurrent
   unauthenticated token requests with wrong client secrets (each from another address
   through ``X-Forwarded-For``, so the per-address throttle does not help) run from a
   separate process.
2. **Slow clients**: N connections that each send a request-head byte every 5 s and
   reconnect when closed (the default limits: 30 s header timeout); the gateway's RSS
   and descriptor count are sampled every second, and ``/health`` is timed meanwhile.

Run against another checkout by putting it first on ``PYTHONPATH`` (the gateway child
process imports ``gateway`` from there).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from tests.e2e.gateway_process import ROOT_SECRET, Gateway
from tests.security.dos_util import start_limited

MiB = 1024 * 1024


def _get_latencies(gateway: Gateway, count: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", gateway.s3_port, timeout=120)
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        conn.request("GET", "/bench/one-mib", headers={"Authorization": f"Bearer {ROOT_SECRET}"})
        response = conn.getresponse()
        body = response.read()
        latencies.append((time.perf_counter() - started) * 1000)
        assert response.status == 200 and len(body) == MiB, response.status
    conn.close()
    return latencies


def _flood(api_port: int, concurrency: int, seconds: float, counts: dict[int, int]) -> None:
    import aiohttp

    async def one(session: aiohttp.ClientSession, worker: int) -> None:
        n = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            n += 1
            user = base64.b64encode(f"cl_{uuid.uuid4().hex[:8]}:wrong".encode()).decode()
            async with session.post(
                f"http://127.0.0.1:{api_port}/oauth/token",
                data={"grant_type": "client_credentials"},
                headers={
                    "Authorization": f"Basic {user}",
                    "X-Forwarded-For": f"10.{worker}.{n // 250 % 250}.{n % 250 + 1}",
                },
            ) as response:
                await response.read()
                counts[response.status] = counts.get(response.status, 0) + 1

    async def main() -> None:
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            await asyncio.gather(*(one(session, w) for w in range(concurrency)))

    asyncio.run(main())


def _summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms"


def oauth_flood(root: Path, concurrency: int = 150) -> None:
    gateway = start_limited(root / "flood", {"NFYIO_SERVER_TRUSTED_FORWARDED_HEADERS": "true"})
    try:
        client = gateway.client()
        client.create_bucket(Bucket="bench")
        client.put_object(Bucket="bench", Key="one-mib", Body=os.urandom(MiB))
        _get_latencies(gateway, 5)  # warm up
        idle = _get_latencies(gateway, 40)
        manager = multiprocessing.Manager()
        counts = manager.dict()
        flood = multiprocessing.Process(
            target=_flood, args=(gateway.api_port, concurrency, 25.0, counts)
        )
        flood.start()
        time.sleep(5)
        busy = _get_latencies(gateway, 40)
        flood.join()
        print(f"1 MiB GET idle:                     {_summary(idle)}")
        print(f"1 MiB GET during {concurrency} bad /oauth/token: {_summary(busy)}")
        print(f"flood answers: {dict(sorted(counts.items()))}")
    finally:
        gateway.stop()


def _rss_and_fds(pid: int) -> tuple[int, int]:
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) // 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def _health_ms(gateway: Gateway) -> float:
    """Milliseconds for a ``/health`` answer, ``inf`` when none came within 5 s."""
    started = time.perf_counter()
    reply = b""
    try:
        with socket.create_connection(("127.0.0.1", gateway.api_port), timeout=5) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
            while chunk := sock.recv(65536):
                reply += chunk
    except OSError:
        return float("inf")
    if not reply.startswith(b"HTTP/1.1 200"):
        return float("inf")
    return (time.perf_counter() - started) * 1000


class _Monitor:
    """Samples the gateway's RSS and descriptors and times ``/health`` once a second."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.base = _rss_and_fds(gateway.pid())
        self.peak = self.base
        self.health: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            rss, fds = _rss_and_fds(self.gateway.pid())
            self.peak = (max(self.peak[0], rss), max(self.peak[1], fds))
            self.health.append(_health_ms(self.gateway))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _attack(gateway: Gateway, socks: list[socket.socket | None], tick: int) -> int:
    """One second of the attack: (re)connect, drip a byte into a fifth; return how many
    connections turned out to be closed by the gateway."""
    closed = 0
    for i, sock in enumerate(socks):
        if sock is None:
            try:
                sock = socket.create_connection(("127.0.0.1", gateway.s3_port), timeout=1)
                sock.sendall(b"GET /bench/x HTTP/1.1\r\nHost: b\r\nX-Slow: ")
                socks[i] = sock
            except OSError:
                continue
        elif tick % 5 == i % 5:
            try:
                sock.sendall(b"a")
            except OSError:
                sock.close()
                socks[i] = None
                closed += 1
    return closed


def slow_clients(root: Path, count: int, seconds: float, nofile: int | None) -> None:
    gateway = start_limited(root / "slow", {}, nofile=nofile)
    socks: list[socket.socket | None] = [None] * count
    closed = 0
    try:
        monitor = _Monitor(gateway)
        deadline = time.monotonic() + seconds
        tick = 0
        while time.monotonic() < deadline:
            started = time.monotonic()
            closed += _attack(gateway, socks, tick)
            tick += 1
            time.sleep(max(0.0, 1 - (time.monotonic() - started)))
        monitor.stop()
        health = monitor.health
        answered = [ms for ms in health if ms != float("inf")]
        emfile = gateway.log().count("Too many open files")
        print(
            f"{count} slow clients for {seconds:.0f} s (descriptor limit {nofile or 'default'}):"
            f" RSS {monitor.base[0]} -> peak {monitor.peak[0]} MiB, descriptors"
            f" {monitor.base[1]} -> peak {monitor.peak[1]}, connections closed by the"
            f" gateway {closed}, /health {_summary(answered or [0.0])},"
            f" {len(health) - len(answered)} of {len(health)} /health probes failed,"
            f" log lines with 'Too many open files': {emfile}"
        )
    finally:
        for sock in socks:
            if sock is not None:
                sock.close()
        gateway.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow-clients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--nofile", type=int, help="descriptor limit of the gateway")
    parser.add_argument("--skip-flood", action="store_true")
    parser.add_argument("--skip-slow", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_flood:
            oauth_flood(Path(tmp))
        if not args.skip_slow:
            slow_clients(Path(tmp), args.slow_clients, args.seconds, args.nofile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
