"""What the rate limiter costs a small request: the same gateway with limits on and off.

Two ``nfyio-gateway serve --workers 2`` on the filesystem backend, identical but for
``ratelimit``: one with the per-principal default rate (60,000 requests a minute: leases
of at most 250 tokens) and a burst large enough that nothing is ever refused, so every
request takes the limiter's whole path (spend a leased token, a lease transaction every
250 requests, the three headers); the other with every limit off. The audit log is on in
both. The same load generator (``tests/perf/loadgen.py``) runs 4 KiB GETs and HEADs on
each, interleaved over ``BENCH_ROUNDS`` rounds; the table gives throughput and server CPU
per request (user + system time of each gateway's processes), and the difference.

Run from the repository root: ``python -m tests.perf.ratelimit_cost`` (``make bench``
runs it after the side-by-side table). Environment: ``BENCH_ROUNDS`` (default 3),
``BENCH_SCALE`` (request counts, 1), ``BENCH_SECONDS`` (cap per workload and peer, 8).
Nothing asserts on time.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import boto3
from botocore.config import Config

from tests.e2e.gateway_process import start_gateway
from tests.perf.loadgen import Job, LoadGenerator, Peer
from tests.perf.sidebyside import NEVER_REFUSED, Measurement, Server, Workload, measure

LIMITS_ON = "limits on"
LIMITS_OFF = "limits off"
KEYS = 2000


def _peers(base: Path, stack: ExitStack) -> list[Server]:
    common = {"NFYIO_SERVER_ACCESS_LOG": "false", "NFYIO_FSYNC": "false"}
    settings = {
        LIMITS_ON: {
            "NFYIO_RATELIMIT_REQUESTS_PER_MINUTE": "60000",
            **NEVER_REFUSED,
        },
        LIMITS_OFF: {
            "NFYIO_RATELIMIT_REQUESTS_PER_MINUTE": "0",
            "NFYIO_RATELIMIT_ANONYMOUS_REQUESTS_PER_MINUTE": "0",
        },
    }
    servers = []
    for name, env in settings.items():
        gw = start_gateway(
            base / name.replace(" ", "-") / "data",
            extra_env={**common, **env},
            extra_args=["--workers", "2"],
        )
        stack.callback(gw.stop)
        servers.append(Server(Peer(name, gw.s3_url, gw.access_key, gw.secret_key), [gw.pid()]))
    return servers


def _fill(load: LoadGenerator, server: Server, seconds: float) -> int:
    client = boto3.client(
        "s3",
        endpoint_url=server.peer.endpoint,
        aws_access_key_id=server.peer.access_key,
        aws_secret_access_key=server.peer.secret_key,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    client.create_bucket(Bucket="small")
    done = load.run(
        Job(server.peer, "put", "small", KEYS, 32, size=4096, prefix="s", seconds=seconds)
    )
    if done.errors:
        raise RuntimeError(f"{server.peer.name}: filling failed: {done.first_error}")
    return done.prefix


def main() -> int:
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    scale = float(os.environ.get("BENCH_SCALE", "1"))
    seconds = float(os.environ.get("BENCH_SECONDS", "8"))
    count = max(2, int(8000 * scale))
    work = [
        Workload("4 KiB GET", "get", "small", count, 32, prefix="s", keys=KEYS),
        Workload("HEAD", "head", "small", count, 32, prefix="s", keys=KEYS),
    ]
    results: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="nfyio-rl-bench-") as tmp, ExitStack() as stack:
        servers = _peers(Path(tmp), stack)
        load = LoadGenerator(2)
        stack.callback(load.close)
        written = {}
        for server in servers:
            written[(server.peer.name, "s")] = _fill(load, server, 60)
        started = time.monotonic()
        for round_ in range(rounds):
            for workload in work:
                order = servers if round_ % 2 == 0 else list(reversed(servers))
                for server in order:
                    results.append(measure(load, server, workload, round_, seconds, written))
        elapsed = time.monotonic() - started
    print(
        f"\nRate limiter cost: {rounds} interleaved rounds, {elapsed:.0f} s, load average "
        f"{os.getloadavg()[0]:.1f} at the end\n"
    )
    print("| workload | peer | requests/s (median) | server CPU/request (median) | errors |")
    print("| --- | --- | --- | --- | --- |")
    medians: dict[tuple[str, str], tuple[float, float]] = {}
    for workload in work:
        for server in servers:
            mine = [
                m for m in results if m.workload == workload.name and m.peer == server.peer.name
            ]
            rate = statistics.median(m.rate for m in mine)
            cpu = statistics.median(m.cpu_per_op_us for m in mine)
            medians[(workload.name, server.peer.name)] = (rate, cpu)
            errors = sum(m.errors for m in mine)
            print(
                f"| {workload.name} | {server.peer.name} | {rate:,.0f} | {cpu:.0f} us | {errors} |"
            )
    print()
    for workload in work:
        on_rate, on_cpu = medians[(workload.name, LIMITS_ON)]
        off_rate, off_cpu = medians[(workload.name, LIMITS_OFF)]
        cpu_change = (on_cpu / off_cpu - 1) * 100
        rate_change = (on_rate / off_rate - 1) * 100
        print(
            f"{workload.name}: limiter costs {on_cpu - off_cpu:+.1f} us CPU per request "
            f"({cpu_change:+.1f} %), throughput {rate_change:+.1f} %"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
