"""A versioned listing's page cost from 10k to 1M versions (issue 17, section 4: "stays
flat"); part of ``make bench``.

Three gateways (filesystem backend, ``--workers 2``), each with one versioned bucket of
``VERSIONS`` (100) versions per key: 10,000, 100,000 and 1,000,000 versions in all. The
first key's versions are written through S3 (real PUTs); the other keys are copies of its
rows made straight in the metadata database (1M versions through PUTs would take the
whole benchmark's time), so every key has the same 100 version ids, as any listing would
find them. The load generator asks for ListObjectVersions pages of 1,000 entries, each
after a random key (at least ten keys before the end, so every page is full), 8 in
flight; rounds are interleaved over the three sizes, the order rotated per round (with
three rounds each size takes each place once, so a slow minute of the VM is not read as
growth; docs/performance.md, twenty-first sitting). The table: pages per second and the
gateway's CPU per page (medians). Nothing asserts on time.

Run: ``python -m tests.perf.version_scale``. Environment: ``BENCH_ROUNDS`` (3),
``BENCH_SECONDS`` (per cell, 8), ``BENCH_VERSION_SIZES`` (comma-separated, default
``10000,100000,1000000``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from backends.filesystem.files import META_DB
from tests.e2e.gateway_process import Gateway, start_gateway
from tests.perf.loadgen import Job, LoadGenerator, Peer, list_key
from tests.perf.sidebyside import NEVER_REFUSED, cpu_seconds, rotated

BUCKET = "versions"
VERSIONS = 100
CONCURRENCY = 8
GATEWAY_ENV = {"NFYIO_SERVER_ACCESS_LOG": "false", **NEVER_REFUSED}
GATEWAY_ARGS = ["--workers", "2"]


def _template(data_dir: Path) -> None:
    """A versioned bucket whose first key has ``VERSIONS`` versions, written through S3."""
    gateway = start_gateway(data_dir, extra_env=GATEWAY_ENV)
    try:
        s3 = gateway.client()
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        for n in range(VERSIONS):
            s3.put_object(Bucket=BUCKET, Key=list_key(0), Body=f"version {n}".encode())
    finally:
        gateway.stop()


def _clone_keys(data_dir: Path, keys: int) -> None:
    """Copy key 0's ``objects`` row and ``versions`` rows to keys 1 .. keys-1 (named by
    ``list_key``), in one transaction."""
    paths = list(data_dir.rglob(META_DB))
    if len(paths) != 1:
        raise RuntimeError(f"expected one {META_DB} under {data_dir}, found {paths}")
    new_key = "CAST('dir' || (n.i % 10) || '/key-' || printf('%06d', n.i) AS BLOB)"
    with sqlite3.connect(paths[0]) as conn:
        for table in ("objects", "versions"):
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
            selected = ", ".join(new_key if c == "key" else f"t.{c}" for c in columns)
            conn.execute(
                f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"SELECT {selected} FROM {table} AS t, n WHERE t.bucket = ? AND t.key = ?",
                (keys - 1, BUCKET, list_key(0).encode()),
            )
        (count,) = conn.execute(
            "SELECT count(*) FROM versions WHERE bucket = ?", (BUCKET,)
        ).fetchone()
    if count + keys != keys * VERSIONS:  # the latest of each key is its objects row
        raise RuntimeError(f"{count} version rows for {keys} keys")


def main() -> int:
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    seconds = float(os.environ.get("BENCH_SECONDS", "8"))
    sizes = [
        int(s) for s in os.environ.get("BENCH_VERSION_SIZES", "10000,100000,1000000").split(",")
    ]
    base = Path(tempfile.mkdtemp(prefix="nfyio-bench-versions-"))
    started = time.monotonic()
    gateways: dict[int, Gateway] = {}
    load = LoadGenerator(processes=1)
    results: dict[int, list[tuple[float, float]]] = {size: [] for size in sizes}
    errors = 0
    try:
        _template(base / "template")
        for size in sizes:
            data_dir = base / f"v{size}"
            shutil.copytree(base / "template", data_dir)
            keys = size // VERSIONS
            t0 = time.monotonic()
            _clone_keys(data_dir, keys)
            print(f"{size:,} versions written in {time.monotonic() - t0:.1f} s", file=sys.stderr)
            gateways[size] = start_gateway(data_dir, extra_env=GATEWAY_ENV, extra_args=GATEWAY_ARGS)
        for round_ in range(1, rounds + 1):
            for size in rotated(sizes, round_):
                gateway = gateways[size]
                peer = Peer(str(size), gateway.s3_url, gateway.access_key, gateway.secret_key)
                job = Job(
                    peer,
                    "versions",
                    BUCKET,
                    10**6,
                    CONCURRENCY,
                    keys=size // VERSIONS,
                    seconds=seconds,
                )
                pids = [gateway.pid()]
                before = cpu_seconds(pids)
                outcome = load.run(job)
                spent = cpu_seconds(pids) - before
                elapsed = max(outcome.ended - outcome.started, 1e-9)
                if outcome.errors:
                    errors += outcome.errors
                    print(
                        f"{size}: {outcome.errors} errors: {outcome.first_error}", file=sys.stderr
                    )
                pages = max(outcome.done, 1)
                results[size].append((outcome.done / elapsed, spent / pages * 1e3))
                print(
                    f"round {round_} {size:>9,} versions {outcome.done / elapsed:7.1f} pages/s "
                    f"cpu/page {spent / pages * 1e3:6.1f} ms",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        load.close()
        for gateway in gateways.values():
            gateway.stop()
        shutil.rmtree(base, ignore_errors=True)
    print()
    print(
        f"ListObjectVersions, 1,000-entry pages, {VERSIONS} versions per key, {CONCURRENCY} in "
        f"flight ({rounds} interleaved rounds, {time.monotonic() - started:.0f} s)"
    )
    print()
    print(
        "| versions in the bucket | pages/s (median) | gateway CPU per page (median) "
        "| CPU / smallest |"
    )
    print("| --- | --- | --- | --- |")
    first = statistics.median(c for _, c in results[sizes[0]])
    for size in sizes:
        rate = statistics.median(r for r, _ in results[size])
        cpu = statistics.median(c for _, c in results[size])
        print(f"| {size:,} | {rate:.1f} | {cpu:.1f} ms | {cpu / first:.2f} |")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
