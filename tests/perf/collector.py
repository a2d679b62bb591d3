"""``make bench``: the cyclic garbage collector's share of a request, under load.

The instruction cells (``tests/perf/instructions.py``) send one request at a time, so a
cost that grows with the requests in flight never shows there; the cyclic collector's is
one. It runs when a worker has allocated a threshold of container objects more than it
freed, walks the young objects (and at times every object), and frees reference cycles;
with ``gateway/garbage.py``'s settings and request paths that leave no cycle behind it
should cost close to nothing. This table says whether it does: a filesystem gateway and
an upstream one over SeaweedFS (``--workers 2``, as in the side-by-side), each wrapped
by ``tests/perf/collector_probe.py``, which tallies every collection in every worker.
Per workload (32 in flight, ``make bench``'s load generator, 4,000 keys read in turn;
"missing" reads keys that do not exist, as a HEAD before a PUT does): server CPU per
request, the collector's time per request and its share of the CPU, collections per
generation, and the objects the collector freed per request (cyclic garbage). Nothing
asserts.

Run: ``python -m tests.perf.collector``. Environment: ``BENCH_SECONDS`` (per workload
and peer, 6), ``BENCH_BASELINE_TREE`` (another revision's gateway, sigv4 and backends:
its two gateways are measured too).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.perf.loadgen import Job, LoadGenerator, Peer
from tests.perf.sidebyside import NEVER_REFUSED, cpu_seconds
from tests.services.seaweedfs import start_seaweedfs

PROBE = Path(__file__).with_name("collector_probe.py")
KEYS = 4000
CONCURRENCY = 32
WORKLOADS = (
    ("4 KiB PUT", "put", "k"),
    ("HEAD", "head", "k"),
    ("4 KiB GET", "get", "k"),
    ("HEAD, missing key", "head", "missing"),
    ("GET, missing key", "get", "missing"),
)


@dataclass
class Probed:
    name: str
    gateway: Gateway
    tallies: Path

    def workers(self) -> list[int]:
        children = psutil.Process(self.gateway.pid()).children()
        return [c.pid for c in children] or [self.gateway.pid()]

    def signal(self, signum: int) -> None:
        for pid in self.workers():
            os.kill(pid, signum)

    def collector(self) -> tuple[float, list[int], int]:
        """Seconds, collections per generation and objects freed, summed over the
        workers' latest tallies."""
        latest: dict[int, tuple[float, list[int], int]] = {}
        for line in self.tallies.read_text(encoding="utf-8").splitlines():
            entry: dict[str, Any] = json.loads(line)
            counts = [int(n) for n in entry["collections"]]
            latest[int(entry["pid"])] = (float(entry["seconds"]), counts, int(entry["collected"]))
        seconds, collections, collected = 0.0, [0, 0, 0], 0
        for pid in self.workers():
            spent, counts, freed = latest.get(pid, (0.0, [0, 0, 0], 0))
            seconds += spent
            collections = [a + b for a, b in zip(collections, counts, strict=True)]
            collected += freed
        return seconds, collections, collected


@contextmanager
def _gateways(base: Path, baseline: str | None) -> Iterator[list[Probed]]:
    with ExitStack() as stack:
        weed = start_seaweedfs(base / "seaweedfs")
        stack.callback(weed.stop)
        quiet = {"NFYIO_SERVER_ACCESS_LOG": "false", **NEVER_REFUSED}
        upstream = {
            "NFYIO_BACKEND": "s3",
            "NFYIO_UPSTREAM_ENDPOINT": weed.endpoint_url,
            "NFYIO_UPSTREAM_ACCESS_KEY_ID": weed.access_key,
            "NFYIO_UPSTREAM_SECRET_ACCESS_KEY": weed.secret_key,
        }
        kinds: list[tuple[str, dict[str, str], str | None]] = [
            ("gateway, filesystem", {"NFYIO_FSYNC": "true"}, None),
            ("gateway over SeaweedFS", {**upstream, "NFYIO_UPSTREAM_BUCKET_PREFIX": "gw-"}, None),
        ]
        if baseline:
            kinds += [
                (f"{name} (baseline)", {**env, "NFYIO_UPSTREAM_BUCKET_PREFIX": "old-"}, baseline)
                for name, env, _ in list(kinds)
            ]
        probed = []
        for index, (name, env, tree) in enumerate(kinds):
            tallies = base / f"collector-{index}.jsonl"
            tallies.touch()
            extra = {**quiet, **env, "NFYIO_COLLECTOR_PROBE": str(tallies)}
            if tree:
                extra["PYTHONPATH"] = tree
            gw = start_gateway(
                base / f"gateway-{index}" / "data",
                extra_env=extra,
                extra_args=["--workers", "2"],
                wrapper=[sys.executable, str(PROBE)],
                ready_timeout=120,
            )
            stack.callback(gw.stop)
            probed.append(Probed(name, gw, tallies))
        yield probed


def _measure(load: LoadGenerator, probed: Probed, op: str, prefix: str, seconds: float) -> str:
    gw = probed.gateway
    peer = Peer(probed.name, gw.s3_url, gw.access_key, gw.secret_key)
    probed.signal(signal.SIGUSR1)
    time.sleep(0.3)
    before = cpu_seconds([gw.pid()])
    job = Job(
        peer, op, "small", 10**7, CONCURRENCY, size=4096, prefix=prefix, keys=KEYS, seconds=seconds
    )
    outcome = load.run(job)
    after = cpu_seconds([gw.pid()])
    probed.signal(signal.SIGUSR2)
    time.sleep(0.5)
    spent, collections, collected = probed.collector()
    requests = max(outcome.done + outcome.errors, 1)
    cpu = (after - before) / requests * 1e6
    in_gc = spent / requests * 1e6
    gens = " / ".join(str(n) for n in collections)
    return (
        f"| {probed.name} | {requests:,} | {cpu:,.0f} us | {in_gc:,.2f} us | "
        f"{in_gc / max(cpu, 1e-9):.1%} | {gens} | {collected / requests:,.2f} |"
    )


def main() -> int:
    seconds = float(os.environ.get("BENCH_SECONDS", "6"))
    baseline = os.environ.get("BENCH_BASELINE_TREE")
    base = Path(tempfile.mkdtemp(prefix="nfyio-bench-collector-"))
    lines = [
        "| workload | peer | requests | server CPU/op | collector/op | share | "
        "collections (gen 0 / 1 / 2) | objects freed by it per request |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    load = LoadGenerator(2)
    try:
        with _gateways(base, baseline) as probed:
            for one in probed:
                gw = one.gateway
                gw.client().create_bucket(Bucket="small")
                peer = Peer(one.name, gw.s3_url, gw.access_key, gw.secret_key)
                filled = load.run(
                    Job(peer, "put", "small", KEYS, CONCURRENCY, size=4096, keys=KEYS, seconds=120)
                )
                if filled.errors:
                    raise RuntimeError(f"{one.name}: filling failed: {filled.first_error}")
            for title, op, prefix in WORKLOADS:
                for one in probed:
                    row = _measure(load, one, op, prefix, seconds)
                    lines.append(f"| {title} {row}")
                    print(lines[-1], file=sys.stderr, flush=True)
    finally:
        load.close()
    print("\nThe cyclic collector under load (2 workers per gateway, 32 in flight)\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
