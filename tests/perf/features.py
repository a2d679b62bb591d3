"""What each feature on the request path costs a small request, used and unused (issue 17,
section 4); the last part of ``make bench``.

One gateway (filesystem backend, ``--workers 2``, fsync on, as in the side-by-side table)
serves the same 4 KiB GET, HEAD and PUT workloads on buckets that differ in one feature:

- ``plain``: owned by the caller, nothing configured (what the side-by-side table uses);
- ``policy``: a 20-statement bucket policy (allows for other accounts with conditions,
  denies whose conditions do not match the caller), evaluated on every request;
- ``versioned``: versioning enabled, every key with 100 versions (GET/HEAD read the
  latest; a PUT adds a version);
- ``sse-s3``: default encryption SSE-S3 (each object encrypted at rest; GET decrypts).

Rounds are interleaved (each workload on every bucket, the buckets' order rotated per
round; each cell starts once the dirty pages of the ones before are written out),
and, with ``BENCH_BASELINE_TREE`` (another revision's ``gateway``/``sigv4``/``backends``,
as for ``sidebyside``), the same buckets on a second gateway running that code, for a
before/after in one sitting. The table: throughput and server CPU per request per bucket
and the ratio of CPU to the ``plain`` bucket on the same gateway. Nothing asserts on time.

Run: ``python -m tests.perf.features``. Environment: ``BENCH_ROUNDS`` (3),
``BENCH_SECONDS`` (cap per cell, 8), ``BENCH_SCALE`` (request counts, 1),
``BENCH_BASELINE_TREE``, ``BENCH_JSON`` (raw results).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.tenants import new_tenant
from tests.perf.loadgen import Job, LoadGenerator, Peer
from tests.perf.sidebyside import (
    NEVER_REFUSED,
    Measurement,
    Server,
    Workload,
    interleave,
    rotated,
)

BUCKETS = ("plain", "policy", "versioned", "sse-s3")
KEYS = 50
VERSIONS = 100
CURRENT = "gateway"
BASELINE = "gateway (baseline)"


def twenty_statements(bucket: str, partners: list[str]) -> str:
    """A realistic policy of 20 statements that grants the caller nothing and denies it
    nothing (its scopes decide), so every statement is read on every request.
    ``partners``: 8 account ids (S3 refuses a policy naming accounts that do not exist)."""
    arn, objects = f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"
    statements: list[dict[str, Any]] = []
    for i in range(8):
        statements.append(
            {
                "Sid": f"PartnerRead{i}",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{partners[i]}:root"},
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": f"{objects[:-1]}shared/{i}/*",
                "Condition": {"StringEquals": {"s3:ExistingObjectTag/share": f"p{i}"}},
            }
        )
    for i in range(4):
        statements.append(
            {
                "Sid": f"PartnerList{i}",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{partners[i]}:root"},
                "Action": "s3:ListBucket",
                "Resource": arn,
                "Condition": {"StringLike": {"s3:prefix": [f"shared/{i}/*"]}},
            }
        )
    for i in range(6):
        statements.append(
            {
                "Sid": f"DenyNetwork{i}",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, objects],
                "Condition": {"IpAddress": {"aws:SourceIp": f"203.0.{113 + i}.0/24"}},
            }
        )
    statements.append(
        {
            "Sid": "DenyOldSignatures",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn, objects],
            "Condition": {"StringEquals": {"s3:signatureversion": "AWS"}},
        }
    )
    statements.append(
        {
            "Sid": "PublicAssets",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"{objects[:-1]}public/*",
        }
    )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def configure_buckets(gw: Gateway, s3: Any) -> None:
    """The ``policy`` bucket's 20 statements (naming eight other tenants), ``versioned``'s
    versioning and ``sse-s3``'s default encryption; the buckets exist."""
    partners = [new_tenant(gw, "partner").id for _ in range(8)]
    s3.put_bucket_policy(Bucket="policy", Policy=twenty_statements("policy", partners))
    s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket="sse-s3",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


def prepare(load: LoadGenerator, gw: Gateway, peer: Peer) -> None:
    """The four buckets, each with ``KEYS`` keys (``VERSIONS`` versions each in
    ``versioned``) for GET and HEAD."""
    s3 = gw.client()
    for bucket in BUCKETS:
        s3.create_bucket(Bucket=bucket)
    configure_buckets(gw, s3)
    started = time.monotonic()
    for bucket in BUCKETS:
        rounds = VERSIONS if bucket == "versioned" else 1
        for _ in range(rounds):
            out = load.run(Job(peer, "put", bucket, KEYS, 16, size=4096, prefix="s"))
            if out.errors:
                raise RuntimeError(f"{peer.name}/{bucket}: filling failed: {out.first_error}")
    print(
        f"{peer.name}: buckets filled in {time.monotonic() - started:.0f} s",
        file=sys.stderr,
        flush=True,
    )


def workloads(scale: float) -> list[Workload]:
    n = max(2, int(4000 * scale))
    works: list[Workload] = []
    for bucket in BUCKETS:
        works += [
            Workload(f"4 KiB GET|{bucket}", "get", bucket, n, 32, prefix="s", keys=KEYS),
            Workload(f"HEAD|{bucket}", "head", bucket, n, 32, prefix="s", keys=KEYS),
            Workload(f"4 KiB PUT|{bucket}", "put", bucket, n // 2, 32, size=4096, prefix="p"),
        ]
    return works


def buckets_rotated(works: list[Workload], round_: int) -> list[Workload]:
    """Round ``round_``'s order: the buckets rotated by one per round, so the ``plain``
    bucket, which every ratio divides by, is not always the first one measured (in the
    nineteenth sitting the first round's plain HEAD took 327 us of CPU, the second's 175
    us)."""
    per_bucket = len(works) // len(BUCKETS)
    blocks = [works[i : i + per_bucket] for i in range(0, len(works), per_bucket)]
    return [work for block in rotated(blocks, round_) for work in block]


@contextmanager
def gateways(base: Path, baseline: str | None) -> Iterator[list[tuple[Server, Gateway]]]:
    with ExitStack() as stack:
        env = {"NFYIO_SERVER_ACCESS_LOG": "false", "NFYIO_FSYNC": "true", **NEVER_REFUSED}
        workers = ["--workers", "2"]
        found: list[tuple[Server, Gateway]] = []
        trees = [(CURRENT, None)] + ([(BASELINE, baseline)] if baseline else [])
        for name, tree in trees:
            extra = {**env, **({"PYTHONPATH": tree} if tree else {})}
            gw = start_gateway(
                base / name.replace(" ", "-") / "data", extra_env=extra, extra_args=workers
            )
            stack.callback(gw.stop)
            peer = Peer(name, gw.s3_url, gw.access_key, gw.secret_key)
            found.append((Server(peer, [gw.pid()]), gw))
        yield found


def table(results: list[Measurement]) -> str:
    lines = [
        "| workload | bucket | peer | throughput per round | median | server CPU/op (median) "
        "| CPU / plain bucket |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    names = dict.fromkeys(m.workload.split("|")[0] for m in results)
    peers = dict.fromkeys(m.peer for m in results)
    for name in names:
        for peer in peers:
            plain = [
                m.cpu_per_op_us for m in results if m.workload == f"{name}|plain" and m.peer == peer
            ]
            base = statistics.median(plain) if plain else 0.0
            for bucket in BUCKETS:
                cells = [m for m in results if m.workload == f"{name}|{bucket}" and m.peer == peer]
                if not cells:
                    continue
                cpu = statistics.median(m.cpu_per_op_us for m in cells)
                rate = statistics.median(m.rate for m in cells)
                per_round = " / ".join(f"{m.rate:,.0f}" for m in cells)
                ratio = f"{cpu / base:.2f}" if base else ""
                errors = sum(m.errors for m in cells)
                lines.append(
                    f"| {name} | {bucket} | {peer} | {per_round} /s | {rate:,.0f} /s "
                    f"| {cpu:,.0f} us | {ratio}{f' ({errors} errors)' if errors else ''} |"
                )
    return "\n".join(lines)


def main() -> int:
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    scale = float(os.environ.get("BENCH_SCALE", "1"))
    seconds = float(os.environ.get("BENCH_SECONDS", "8"))
    works = workloads(scale)
    base = Path(tempfile.mkdtemp(prefix="nfyio-features-"))
    started, load_before = time.monotonic(), os.getloadavg()
    results: list[Measurement] = []
    load = LoadGenerator(processes=2)
    try:
        with gateways(base, os.environ.get("BENCH_BASELINE_TREE")) as found:
            for server, gw in found:
                prepare(load, gw, server.peer)
            servers = [server for server, _ in found]
            results = interleave(
                load, servers, lambda round_: buckets_rotated(works, round_), rounds, seconds, {}
            )
    finally:
        load.close()
        shutil.rmtree(base, ignore_errors=True)
    print()
    print(
        f"Feature cost per small request ({psutil.cpu_count()} cores, {rounds} interleaved "
        f"rounds, load average {load_before[0]:.1f} before / {os.getloadavg()[0]:.1f} after, "
        f"{time.monotonic() - started:.0f} s)"
    )
    print()
    print(table(results))
    target = os.environ.get("BENCH_JSON")
    if target:
        Path(target).write_text(json.dumps([asdict(m) for m in results], indent=1))
    return 1 if any(m.errors for m in results) else 0


if __name__ == "__main__":
    sys.exit(main())
