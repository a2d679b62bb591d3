"""``make bench``'s scaling section: small GETs through one and through two gateways.

The deployment of ``docs/deploy.md`` on one machine (``tests/services/topology.py``): one
PostgreSQL holding the state (``NFYIO_IDENTITY_URL``), one SeaweedFS as the upstream
store, and two gateway processes (``--workers 1`` each, their own data directories and
ports, as two hosts). The same load generator as the side-by-side table
(``tests/perf/loadgen.py``, SigV4 like botocore) reads 4 KiB objects:

- **SeaweedFS direct**: the same objects straight from SeaweedFS (the store's ceiling);
- **1 gateway process**: every request to host A;
- **2 gateway processes**: the request loops spread over A and B (as a balancer would).

Peers are interleaved per round in a rotated order; server CPU per request is read for
the gateways, for SeaweedFS and for PostgreSQL (its postmaster and backends), so the
table shows where the time goes when the rate stops growing. Nothing asserts on time.

Run from the repository root: ``python -m tests.perf.scale`` (``make bench-scale``; also
the last part of ``make bench``). Environment: ``BENCH_SCALE_ROUNDS`` (default 3),
``BENCH_SECONDS`` (cap per measurement, default 8), ``BENCH_SCALE`` (request counts,
default 1), ``BENCH_SCALE_CONCURRENCY`` (requests in flight, default 32).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.perf.loadgen import Job, LoadGenerator, Peer
from tests.perf.sidebyside import NEVER_REFUSED, _fmt_rate, _median, cpu_seconds, rotated
from tests.services.postgres import PostgresServer, start_postgres
from tests.services.seaweedfs import start_seaweedfs
from tests.services.topology import Topology

OBJECT_SIZE = 4096
BUCKET = "scale"
DIRECT = "SeaweedFS direct"
ONE = "1 gateway process"
TWO = "2 gateway processes"


@dataclass(frozen=True)
class Target:
    peer: Peer
    bucket: str
    gateway_pids: tuple[int, ...]


@dataclass(frozen=True)
class Sample:
    peer: str
    rate: float
    errors: int
    first_error: str
    gateway_us: float
    seaweedfs_us: float
    postgres_us: float


def postmaster_pid(server: PostgresServer) -> int:
    """The first line of ``postmaster.pid``: the parent of every backend."""
    return int((server.data / "postmaster.pid").read_text().split()[0])


def measure(load: LoadGenerator, target: Target, job: Job, store_pids: dict[str, int]) -> Sample:
    def cpu() -> tuple[float, float, float]:
        return (
            cpu_seconds(target.gateway_pids),
            cpu_seconds([store_pids["seaweedfs"]]),
            cpu_seconds([store_pids["postgres"]]),
        )

    before = cpu()
    outcome = load.run(job)
    after = cpu()
    ops = max(outcome.done, 1)
    gateway, weed, pg = ((a - b) / ops * 1e6 for a, b in zip(after, before, strict=True))
    return Sample(
        peer=target.peer.name,
        rate=outcome.done / max(outcome.ended - outcome.started, 1e-9),
        errors=outcome.errors,
        first_error=outcome.first_error,
        gateway_us=gateway,
        seaweedfs_us=weed,
        postgres_us=pg,
    )


def table(samples: list[Sample], names: list[str]) -> str:
    lines = [
        "| 4 KiB GET through | throughput per round | median | vs 1 process "
        "| gateway CPU/op | SeaweedFS CPU/op | PostgreSQL CPU/op | errors |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    one = _median([s.rate for s in samples if s.peer == ONE])
    for name in names:
        rows = [s for s in samples if s.peer == name]
        rate = _median([s.rate for s in rows])
        ratio = f"{rate / one:.2f}" if one and name != DIRECT else ""
        gateway = f"{_median([s.gateway_us for s in rows]):,.0f} us" if name != DIRECT else ""
        lines.append(
            f"| {name} | {' / '.join(_fmt_rate(s.rate) for s in rows)} /s "
            f"| {_fmt_rate(rate)} /s | {ratio} | {gateway} "
            f"| {_median([s.seaweedfs_us for s in rows]):,.0f} us "
            f"| {_median([s.postgres_us for s in rows]):,.0f} us "
            f"| {sum(s.errors for s in rows) or ''} |"
        )
    return "\n".join(lines)


def main() -> int:
    rounds = int(os.environ.get("BENCH_SCALE_ROUNDS", "3"))
    seconds = float(os.environ.get("BENCH_SECONDS", "8"))
    scale = float(os.environ.get("BENCH_SCALE", "1"))
    concurrency = int(os.environ.get("BENCH_SCALE_CONCURRENCY", "32"))
    keys, count = max(2, int(2000 * scale)), max(2, int(8000 * scale))
    base = Path(tempfile.mkdtemp(prefix="nfyio-bench-scale-"))
    started, load_before = time.monotonic(), os.getloadavg()
    samples: list[Sample] = []
    load = LoadGenerator(processes=2)
    try:
        with ExitStack() as stack:
            postgres = start_postgres()
            stack.callback(postgres.stop)
            weed = start_seaweedfs(base / "seaweedfs")
            stack.callback(weed.stop)
            topology = Topology.start(
                base / "gateways",
                asyncio.run(postgres.fresh_url()),
                weed,
                extra_env={"NFYIO_SERVER_ACCESS_LOG": "false", **NEVER_REFUSED},
            )
            stack.callback(topology.stop)
            host_a, host_b = topology.hosts
            a = Peer(ONE, host_a.s3_url, host_a.access_key, host_a.secret_key)
            both = Peer(
                TWO, a.endpoint, a.access_key, a.secret_key, more_endpoints=(host_b.s3_url,)
            )
            direct = Peer(DIRECT, weed.endpoint_url, weed.access_key, weed.secret_key)
            upstream_bucket = topology.env["NFYIO_UPSTREAM_BUCKET_PREFIX"] + BUCKET
            targets = [
                Target(direct, upstream_bucket, ()),
                Target(a, BUCKET, (host_a.pid(),)),
                Target(both, BUCKET, (host_a.pid(), host_b.pid())),
            ]
            store_pids = {"seaweedfs": weed.pid, "postgres": postmaster_pid(postgres)}

            host_a.client().create_bucket(Bucket=BUCKET)
            filled = load.run(
                Job(a, "put", BUCKET, keys, 32, size=OBJECT_SIZE, prefix="g", seconds=120)
            )
            if filled.errors or filled.done < keys:
                raise RuntimeError(f"filling failed: {filled.first_error or filled.done}")
            print(f"{keys:,} objects of 4 KiB written through host A", file=sys.stderr)
            for round_ in range(1, rounds + 1):
                for target in rotated(targets, round_):
                    job = Job(
                        target.peer, "get", target.bucket, count, concurrency,
                        prefix="g", keys=keys, seconds=seconds,
                    )  # fmt: skip
                    sample = measure(load, target, job, store_pids)
                    samples.append(sample)
                    print(
                        f"round {round_} {target.peer.name:22} {_fmt_rate(sample.rate):>8} /s"
                        + (
                            f"  errors {sample.errors}: {sample.first_error}"
                            if sample.errors
                            else ""
                        ),
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        load.close()
        shutil.rmtree(base, ignore_errors=True)
    print()
    print(
        f"4 KiB GETs through one and two gateway processes over SeaweedFS, state in PostgreSQL "
        f"({psutil.cpu_count()} cores shared by everything, {rounds} interleaved rounds, "
        f"{concurrency} in flight, load average {load_before[0]:.1f} before / "
        f"{os.getloadavg()[0]:.1f} after, {time.monotonic() - started:.0f} s)"
    )
    print()
    print(table(samples, [DIRECT, ONE, TWO]))
    return 1 if any(s.errors for s in samples) else 0


if __name__ == "__main__":
    sys.exit(main())
