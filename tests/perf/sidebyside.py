"""``make bench``: the gateway side by side with SeaweedFS, one table.

Starts SeaweedFS (``weed server -s3``), the gateway on the filesystem backend
(``--workers 2``, fsync on) and the gateway on the upstream backend over that same
SeaweedFS (``--workers 2``), then drives each with the same multi-process load generator
(``loadgen``: SigV4 as botocore signs it, payload hash included). Peers are interleaved
(each round runs every workload on every peer, in a rotated order; each cell starts once
the dirty pages of the ones before are written out: ``settle``) and the server CPU time
of each peer's processes is read before and after each workload. The table shows
throughput and server CPU per operation per peer, and the ratios to SeaweedFS.

Run from the repository root: ``python -m tests.perf.sidebyside`` (``make bench``).
Environment: ``BENCH_ROUNDS`` (default 3: each of the three peers takes each place in
the order once), ``BENCH_SCALE`` (multiplies request counts, default 1),
``BENCH_SECONDS`` (cap per workload and peer, default 8), ``BENCH_JSON`` (also write
the raw results there), ``BENCH_BASELINE_TREE`` (a directory with another
revision's ``gateway``/``sigv4``/``backends``: adds that revision's filesystem and upstream
gateways as two more peers, e.g. ``git archive <rev> gateway sigv4 backends | tar -x -C
DIR``), ``BENCH_BASELINE_PYTHON`` (the python of another venv: the baseline peers run on
that interpreter, with the current code unless ``BENCH_BASELINE_TREE`` is set too),
``BENCH_PEERS`` (peer names to run besides SeaweedFS, separated by ``;``),
``BENCH_WORKLOADS`` (workload names to run, separated by ``;``, e.g. ``HEAD;4 KiB GET``:
for a quick before/after of one path; a read brings the PUT that writes its keys, and
the listing bucket is filled only when a listing runs).
Nothing asserts on time.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar

import psutil

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.perf.loadgen import Job, LoadGenerator, Outcome, Peer
from tests.services.seaweedfs import SeaweedFS, start_seaweedfs

MiB = 1024 * 1024
LIST_KEYS = 10_000
SEAWEEDFS = "SeaweedFS"
GATEWAY_FS = "gateway, filesystem"
GATEWAY_S3 = "gateway over SeaweedFS"
BASELINE_S3 = "gateway over SeaweedFS (baseline)"
BASELINE_FS = "gateway, filesystem (baseline)"
PEERS = (SEAWEEDFS, GATEWAY_FS, BASELINE_FS, GATEWAY_S3, BASELINE_S3)
_T = TypeVar("_T")


@dataclass(frozen=True)
class Workload:
    name: str
    op: str
    bucket: str
    count: int
    concurrency: int
    size: int = 0
    prefix: str = "k"
    keys: int = 1
    per_op_unit: str = "us"

    @property
    def mb(self) -> bool:
        return self.size >= MiB


def workloads(scale: float) -> list[Workload]:
    def n(count: int) -> int:
        return max(2, int(count * scale))

    small, big, huge = n(4000), n(300), max(2, n(8))
    return [
        Workload("4 KiB PUT", "put", "small", small, 32, size=4096, prefix="s"),
        Workload("4 KiB GET", "get", "small", 2 * small, 32, prefix="s", keys=small),
        Workload("HEAD", "head", "small", 2 * small, 32, prefix="s", keys=small),
        Workload(
            "ListObjectsV2 1000-key page",
            "list",
            "list",
            n(300),
            8,
            keys=LIST_KEYS,
            per_op_unit="ms",
        ),
        Workload("1 MiB PUT", "put", "large", big, 8, size=MiB, prefix="m"),
        Workload("1 MiB GET", "get", "large", 2 * big, 8, size=MiB, prefix="m", keys=big),
        Workload("64 MiB PUT", "put", "large", huge, 2, size=64 * MiB, prefix="h"),
        Workload("64 MiB GET", "get", "large", huge, 2, size=64 * MiB, prefix="h", keys=huge),
    ]


@dataclass
class Measurement:
    workload: str
    peer: str
    round: int
    done: int
    errors: int
    seconds: float
    rate: float
    cpu_per_op_us: float
    store_cpu_per_op_us: float | None = None
    first_error: str = ""
    client_cpu_per_op_us: float = 0.0
    """The load generator's CPU per request: it shares the machine's cores with the
    peer, so it bounds the throughput any peer can reach (docs/performance.md)."""


@dataclass
class Server:
    """A peer: its endpoint and the processes whose CPU time is its cost."""

    peer: Peer
    pids: list[int]
    store_pids: list[int] = field(default_factory=list)


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time of the processes and their children, so far."""
    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            for p in [proc, *proc.children(recursive=True)]:
                times = p.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def measure(
    load: LoadGenerator,
    server: Server,
    work: Workload,
    round_: int,
    seconds: float,
    written: dict[tuple[str, str], int],
) -> Measurement:
    """One workload on one peer. ``written`` remembers how many keys each PUT workload
    wrote (all of them unless time-capped), so the GETs read only keys that exist."""
    settle()
    keys = work.keys
    if work.op in ("get", "head"):
        keys = written.get((server.peer.name, work.prefix), keys)
    elif work.op == "list":
        keys = written.get((server.peer.name, "list"), keys)
    job = Job(
        peer=server.peer,
        op=work.op,
        bucket=work.bucket,
        count=work.count,
        concurrency=work.concurrency,
        size=work.size,
        prefix=work.prefix,
        keys=max(keys, 1),
        seconds=seconds,
    )
    before, store_before = cpu_seconds(server.pids), cpu_seconds(server.store_pids)
    client_before = cpu_seconds(load.pids)
    outcome: Outcome = load.run(job)
    after, store_after = cpu_seconds(server.pids), cpu_seconds(server.store_pids)
    client_after = cpu_seconds(load.pids)
    if work.op == "put":
        written[(server.peer.name, work.prefix)] = outcome.prefix
    elapsed = max(outcome.ended - outcome.started, 1e-9)
    ops = max(outcome.done, 1)
    rate = (outcome.done * work.size / 1e6 if work.mb else outcome.done) / elapsed
    return Measurement(
        workload=work.name,
        peer=server.peer.name,
        round=round_,
        done=outcome.done,
        errors=outcome.errors,
        seconds=round(elapsed, 3),
        rate=rate,
        cpu_per_op_us=(after - before) / ops * 1e6,
        store_cpu_per_op_us=(
            (store_after - store_before) / ops * 1e6 if server.store_pids else None
        ),
        first_error=outcome.first_error,
        client_cpu_per_op_us=(client_after - client_before) / ops * 1e6,
    )


def settle() -> None:
    """Write every dirty page out before a cell is measured (``sync``), outside its timed
    window. A peer that does not fsync (SeaweedFS, by default) leaves the bytes of a PUT
    cell to the kernel's flusher threads: without this their writeback, disk time and CPU
    charged to no peer, lands in whichever cell runs next. In three of four runs of the
    nineteenth sitting the gateway's 64 MiB PUT ran 11-41 % slower in the round where it
    followed SeaweedFS's than in the one where it came first, and SeaweedFS's 4 KiB GET,
    which followed a PUT cell in the first round only, was the slower of its two in all
    four (docs/performance.md, twentieth sitting)."""
    os.sync()


def rotated(items: Sequence[_T], round_: int) -> list[_T]:
    """Round ``round_``'s order (rounds count from 1): shifted by one place per round,
    so with as many rounds as items each item takes each place once. Every bench table
    orders its peers, buckets or sizes with it."""
    shift = (round_ - 1) % len(items)
    return [*items[shift:], *items[:shift]]


def interleave(
    load: LoadGenerator,
    peers: Sequence[Server],
    works_of_round: Callable[[int], Sequence[Workload]],
    rounds: int,
    seconds: float,
    written: dict[tuple[str, str], int],
) -> list[Measurement]:
    """Every workload of a round on every peer, the peers' order rotated per round (with
    as many rounds as peers, each takes each place once); ``works_of_round(r)`` gives
    round ``r``'s workloads in order. Each cell's line goes to stderr as it ends."""
    results: list[Measurement] = []
    for round_ in range(1, rounds + 1):
        for work in works_of_round(round_):
            for server in rotated(peers, round_):
                m = measure(load, server, work, round_, seconds, written)
                results.append(m)
                print(
                    f"round {round_} {work.name:28} {server.peer.name:24} "
                    f"{_fmt_rate(m.rate):>8} {'MB/s' if work.mb else '/s':4} "
                    f"cpu/op {_fmt_cpu(m.cpu_per_op_us, work.per_op_unit):>10}"
                    + (f"  errors {m.errors}: {m.first_error}" if m.errors else ""),
                    file=sys.stderr,
                    flush=True,
                )
    return results


NEVER_REFUSED = {"NFYIO_RATELIMIT_BURST": "100000000"}
"""Every bench gateway's setting (here, the features, instruction, scale, version-scale,
rate-limit and cold-read tables): the default rate limit (60,000 requests a minute per
key; the instruction table scales it for callgrind) with a burst no run spends, so each
request takes the limiter's whole path, as in a default deployment, but none is
refused. With the default burst (the rate itself) one key's 60,000 tokens ran out in
the third round of the features table (twentieth sitting: ~5,000 requests/s for 80 s),
and ``SlowDown`` answers were counted as the gateway's errors."""


@contextmanager
def servers(
    base: Path, baseline: str | None, baseline_python: str | None = None
) -> Iterator[list[Server]]:
    """SeaweedFS and the gateways; with ``baseline`` (a directory holding another
    revision's ``gateway``, ``sigv4`` and ``backends``) and/or ``baseline_python`` (another
    interpreter) a second filesystem and a second upstream gateway run that code or
    interpreter, for a before/after comparison within one sitting."""
    with ExitStack() as stack:
        weed: SeaweedFS = start_seaweedfs(base / "seaweedfs")
        stack.callback(weed.stop)
        quiet = {"NFYIO_SERVER_ACCESS_LOG": "false", **NEVER_REFUSED}
        workers = ["--workers", "2"]
        fs = start_gateway(
            base / "gateway-fs" / "data",
            extra_env={**quiet, "NFYIO_FSYNC": "true"},
            extra_args=workers,
        )
        stack.callback(fs.stop)
        upstream = {
            **quiet,
            "NFYIO_BACKEND": "s3",
            "NFYIO_UPSTREAM_ENDPOINT": weed.endpoint_url,
            "NFYIO_UPSTREAM_ACCESS_KEY_ID": weed.access_key,
            "NFYIO_UPSTREAM_SECRET_ACCESS_KEY": weed.secret_key,
            "NFYIO_UPSTREAM_BUCKET_PREFIX": "gw-",
        }
        up = start_gateway(base / "gateway-s3" / "data", extra_env=upstream, extra_args=workers)
        stack.callback(up.stop)
        peers = [
            Server(
                Peer(SEAWEEDFS, weed.endpoint_url, weed.access_key, weed.secret_key), [weed.pid]
            ),
            Server(_gateway_peer(GATEWAY_FS, fs), [fs.pid()]),
            Server(_gateway_peer(GATEWAY_S3, up), [up.pid()], store_pids=[weed.pid]),
        ]
        if baseline or baseline_python:
            tree = {"PYTHONPATH": baseline} if baseline else {}
            old_fs = start_gateway(
                base / "gateway-fs-baseline" / "data",
                extra_env={**quiet, "NFYIO_FSYNC": "true", **tree},
                extra_args=workers,
                python=baseline_python,
            )
            stack.callback(old_fs.stop)
            peers.insert(2, Server(_gateway_peer(BASELINE_FS, old_fs), [old_fs.pid()]))
            old = start_gateway(
                base / "gateway-s3-baseline" / "data",
                extra_env={**upstream, "NFYIO_UPSTREAM_BUCKET_PREFIX": "old-", **tree},
                extra_args=workers,
                python=baseline_python,
            )
            stack.callback(old.stop)
            peers.append(Server(_gateway_peer(BASELINE_S3, old), [old.pid()], [weed.pid]))
        only = os.environ.get("BENCH_PEERS")
        if only:
            # Names hold commas ("gateway, filesystem"): separate them with ";".
            wanted = {name.strip() for name in only.split(";" if ";" in only else ",")}
            peers = [p for p in peers if p.peer.name == SEAWEEDFS or p.peer.name in wanted]
        yield peers


def _gateway_peer(name: str, gw: Gateway) -> Peer:
    return Peer(name, gw.s3_url, gw.access_key, gw.secret_key)


def prepare(
    load: LoadGenerator,
    all_servers: list[Server],
    seconds: float,
    written: dict[tuple[str, str], int],
    fill: bool = True,
) -> None:
    """Buckets on every peer, and (with ``fill``) the 10,000-key listing bucket (fewer if
    the time cap stops the filling: ``written`` then tells the listing workload how many
    there are). The buckets the rounds write to get one object first."""
    import boto3
    from botocore.config import Config

    for server in all_servers:
        client = boto3.client(
            "s3",
            endpoint_url=server.peer.endpoint,
            aws_access_key_id=server.peer.access_key,
            aws_secret_access_key=server.peer.secret_key,
            region_name=server.peer.region,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )
        for bucket in ("small", "list", "large"):
            client.create_bucket(Bucket=bucket)
            if bucket != "list":
                # SeaweedFS grows a bucket's volumes on its first write (seconds): done
                # here, so it does not land in the first round's PUT cell.
                client.put_object(Bucket=bucket, Key="first-write", Body=b"x")
        if not fill:
            continue
        filled = load.run(Job(server.peer, "fill", "list", LIST_KEYS, 32, size=1, seconds=seconds))
        if filled.errors:
            raise RuntimeError(f"{server.peer.name}: filling failed: {filled.first_error}")
        written[(server.peer.name, "list")] = filled.prefix
        print(
            f"{server.peer.name}: {filled.done:,} keys in the listing bucket "
            f"({filled.done / max(filled.ended - filled.started, 1e-9):,.0f} PUT/s)",
            file=sys.stderr,
            flush=True,
        )


def selected(works: list[Workload], names: set[str]) -> list[Workload]:
    """The workloads named, in the table's order, each read with the PUT that writes the
    keys it reads (a GET or HEAD of keys no round wrote would only count 404s)."""
    reads = {w.prefix for w in works if w.name in names and w.op in ("get", "head")}
    return [w for w in works if w.name in names or (w.op == "put" and w.prefix in reads)]


def disk_reference(directory: Path) -> float:
    """MB/s of ``dd bs=1M count=256 conv=fdatasync`` into ``directory`` (the disk's pace)."""
    target = directory / "dd.bin"
    started = time.perf_counter()
    subprocess.run(
        ["dd", "if=/dev/zero", f"of={target}", "bs=1M", "count=256", "conv=fdatasync"],
        check=True,
        capture_output=True,
    )
    rate = 256 * MiB / (time.perf_counter() - started) / 1e6
    target.unlink()
    return rate


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def _fmt_rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _fmt_cpu(us: float, unit: str) -> str:
    return f"{us / 1000:,.1f} ms" if unit == "ms" else f"{us:,.0f} us"


def table(results: list[Measurement], works: list[Workload]) -> str:
    """One markdown table: a row per workload and peer."""
    lines = [
        "| workload | peer | throughput per round | median | server CPU/op (median) "
        "| + SeaweedFS CPU/op | throughput / SeaweedFS | CPU / SeaweedFS "
        "| load generator CPU/op | errors |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for work in works:
        unit = "MB/s" if work.mb else "/s"
        rows = {
            peer: [m for m in results if m.workload == work.name and m.peer == peer]
            for peer in PEERS
        }
        base_rate = _median([m.rate for m in rows[SEAWEEDFS]])
        base_cpu = _median([m.cpu_per_op_us for m in rows[SEAWEEDFS]])
        for peer, measured in rows.items():
            if not measured:
                continue
            rate = _median([m.rate for m in measured])
            cpu = _median([m.cpu_per_op_us for m in measured])
            stores = [m.store_cpu_per_op_us for m in measured if m.store_cpu_per_op_us]
            store = _fmt_cpu(_median(stores), work.per_op_unit) if stores else ""
            per_round = " / ".join(_fmt_rate(m.rate) for m in measured)
            ratio = "1" if peer == SEAWEEDFS else f"{rate / base_rate:.2f}" if base_rate else ""
            cpu_ratio = "1" if peer == SEAWEEDFS else f"{cpu / base_cpu:.2f}" if base_cpu else ""
            errors = sum(m.errors for m in measured)
            client = _fmt_cpu(_median([m.client_cpu_per_op_us for m in measured]), work.per_op_unit)
            lines.append(
                f"| {work.name} | {peer} | {per_round} {unit} | {_fmt_rate(rate)} {unit} "
                f"| {_fmt_cpu(cpu, work.per_op_unit)} | {store} | {ratio} | {cpu_ratio} "
                f"| {client} | {errors or ''} |"
            )
    return "\n".join(lines)


def main() -> int:
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    scale = float(os.environ.get("BENCH_SCALE", "1"))
    # Each workload stops after its request count or this many seconds: on a quiet 2-core
    # machine every cell takes a few seconds; on a loaded one the cap keeps `make bench`
    # near 10 minutes (a capped cell shows fewer requests, never a wrong rate).
    seconds = float(os.environ.get("BENCH_SECONDS", "8"))
    works = workloads(scale)
    chosen = os.environ.get("BENCH_WORKLOADS")
    if chosen:
        works = selected(works, {name.strip() for name in chosen.split(";")})
    base = Path(tempfile.mkdtemp(prefix="nfyio-bench-"))
    started = time.monotonic()
    load_before = os.getloadavg()
    results: list[Measurement] = []
    written: dict[tuple[str, str], int] = {}
    load = LoadGenerator(processes=2)
    try:
        dd = disk_reference(base)
        with servers(
            base,
            os.environ.get("BENCH_BASELINE_TREE"),
            os.environ.get("BENCH_BASELINE_PYTHON"),
        ) as all_servers:
            fill = any(work.op == "list" for work in works)
            prepare(load, all_servers, seconds=60, written=written, fill=fill)
            # The workloads keep their order in every round: GET and HEAD read what the
            # round's PUT wrote.
            results = interleave(load, all_servers, lambda _: works, rounds, seconds, written)
    finally:
        load.close()
        shutil.rmtree(base, ignore_errors=True)
    print()
    print(
        f"nfyio-gateway vs SeaweedFS ({psutil.cpu_count()} cores, {rounds} interleaved rounds, "
        f"load average {load_before[0]:.1f} before / {os.getloadavg()[0]:.1f} after, "
        f"{time.monotonic() - started:.0f} s; disk: dd bs=1M conv=fdatasync {dd:,.0f} MB/s)"
    )
    print()
    print(table(results, works))
    target = os.environ.get("BENCH_JSON")
    if target:
        Path(target).write_text(json.dumps([asdict(m) for m in results], indent=1))
    return 1 if any(m.errors for m in results) else 0


if __name__ == "__main__":
    sys.exit(main())
