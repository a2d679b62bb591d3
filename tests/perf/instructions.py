"""What each feature costs a small request, counted in instructions (issue 17, section 4).

Server CPU time per request on a shared VM spreads by 5-10 % between runs of the same
code (the rate limiter read -0.3 % to +9.2 % per GET in four twelve-round readings), more
than the 5 % a feature may cost; the VM exposes no hardware counters for ``perf stat``.
So this runs each gateway under ``valgrind --tool=callgrind`` and counts the instructions
its process executes (every thread: the event loop, the group commit, the file threads)
per request: the same requests give the same count within about 1 %.

What it does not count: time in the kernel (syscalls, page-cache copies) and what a cache
miss costs; a change that trades instructions for syscalls shows here as a gain it may not
be. Under callgrind a request takes about 50 times as long, so the time-based settings
that decide how often per-request work happens are scaled to keep the native number of
requests per event: the rate limiter's leases hold 250 tokens as at the default 60,000
requests a minute, but last up to 10 s (``lease_seconds``) so they end by being spent, not
by expiring.

Gateways (filesystem backend, one worker, fsync on, access log off), all started at once:

- ``defaults``: rate limits on (per principal), audit log on: what a user runs. Buckets
  ``plain`` (nothing configured), ``policy`` (20 statements, as in ``features.py``),
  ``versioned`` (100 versions per key), ``sse-s3`` (default encryption), ``cors`` (a CORS
  configuration; requested without and with an ``Origin`` header, as a browser sends),
  and ``plain`` with an ``Origin`` header too: the same browser request to a bucket
  without CORS, so CORS's own cost (``cors + Origin`` / ``plain + Origin``) shows apart
  from the extra request header's;
- ``limits off`` and ``audit off``: the same but for that feature, ``plain`` only;
- with ``BENCH_BASELINE_TREE`` (another revision's ``gateway``/``sigv4``/``backends``, as
  for ``sidebyside``): ``defaults`` on that code too, for a before/after.

Each cell: boto3 (the SDK's defaults, one request at a time), a warm-up pass over every
cell before the first round, warm-up requests again, the
counters zeroed (``callgrind_control -z``), ``N`` requests, the counters dumped
(``callgrind_control -d``); instructions per request = the dump's total / ``N``. Rounds
are interleaved. Needs ``valgrind`` (``make bench`` installs it). Nothing asserts.

Run: ``python -m tests.perf.instructions``. Environment: ``BENCH_ROUNDS`` (3),
``BENCH_SCALE`` (requests per cell: 250 x scale), ``BENCH_BASELINE_TREE``,
``BENCH_CELLS`` (cell names to run, ``;``-separated, e.g. ``HEAD|plain|defaults``: with
``BENCH_BASELINE_TREE``, a ``defaults`` cell brings its ``defaults (baseline)`` twin; only the
gateways the cells name are started).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.perf.features import configure_buckets
from tests.perf.sidebyside import NEVER_REFUSED

DEFAULTS = "defaults"
LIMITS_OFF = "limits off"
AUDIT_OFF = "audit off"
BASELINE = "defaults (baseline)"
BUCKETS = ("plain", "policy", "versioned", "sse-s3", "cors")
READ_KEYS = 5
VERSIONS = 100
PUT_KEYS = 20
WARM = 10
PER_CELL = 250
"""Requests counted per cell: one lease's tokens."""
ORIGIN = "https://app.example.com"

_LIMITS_SCALED = {
    # 1,500 a minute x 10 s = leases of 250 tokens, as 60,000 x 0.25 s natively; the
    # burst keeps every request admitted.
    "NFYIO_RATELIMIT_REQUESTS_PER_MINUTE": "1500",
    **NEVER_REFUSED,
    "NFYIO_RATELIMIT_LEASE_SECONDS": "10",
}
_LIMITS_OFF = {
    "NFYIO_RATELIMIT_REQUESTS_PER_MINUTE": "0",
    "NFYIO_RATELIMIT_ANONYMOUS_REQUESTS_PER_MINUTE": "0",
}
CONFIGS: dict[str, dict[str, str]] = {
    DEFAULTS: _LIMITS_SCALED,
    LIMITS_OFF: _LIMITS_OFF,
    AUDIT_OFF: {**_LIMITS_SCALED, "NFYIO_AUDIT_ENABLED": "false"},
}


@dataclass(frozen=True)
class Cell:
    op: str  # "GET", "HEAD", "PUT"
    bucket: str
    gateway: str
    origin: bool = False

    @property
    def name(self) -> str:
        return f"{self.op}|{self.bucket}{' + Origin' if self.origin else ''}|{self.gateway}"


@dataclass
class Counted:
    """One gateway under callgrind, its client and its counter files."""

    gw: Gateway
    out_dir: Path
    client: Any
    browser: Any  # the same client, sending an Origin header

    def zero(self) -> None:
        subprocess.run(
            ["callgrind_control", "-z", str(self.gw.pid())], check=True, capture_output=True
        )

    def dump(self) -> int:
        """Dump the counters; the instructions counted since they were zeroed."""
        subprocess.run(
            ["callgrind_control", "-d", str(self.gw.pid())], check=True, capture_output=True
        )
        parts = list(self.out_dir.glob(f"cg.{self.gw.pid()}.*"))
        newest = max(parts, key=lambda p: int(p.suffix[1:]))
        for line in newest.read_text().splitlines():
            if line.startswith("totals:"):
                return int(line.split()[1])
        raise RuntimeError(f"no totals in {newest}")


def cells(with_baseline: bool) -> list[Cell]:
    found: list[Cell] = []
    for gateway in (DEFAULTS, BASELINE) if with_baseline else (DEFAULTS,):
        for bucket in BUCKETS:
            for op in ("GET", "HEAD", "PUT"):
                found.append(Cell(op, bucket, gateway))
        # The browser's request without and with the feature configured: the first
        # prices the extra request header, the second what CORS itself adds to it.
        found.append(Cell("GET", "plain", gateway, origin=True))
        found.append(Cell("GET", "cors", gateway, origin=True))
    for gateway in (LIMITS_OFF, AUDIT_OFF):
        found += [Cell("GET", "plain", gateway), Cell("HEAD", "plain", gateway)]
    return found


def under_callgrind(
    out_dir: Path, env: dict[str, str], tree: str | None, *, health_timeout: float = 1
) -> Gateway:
    """A gateway of one worker under callgrind (counter files in ``out_dir``), without
    its access log, with ``env``, running the code of ``tree`` when given."""
    extra = {"NFYIO_SERVER_ACCESS_LOG": "false", **env}
    if tree:
        extra["PYTHONPATH"] = tree
    return start_gateway(
        out_dir / "data",
        extra_env=extra,
        extra_args=["--workers", "1"],
        wrapper=["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_dir}/cg.%p"],
        ready_timeout=600,
        health_timeout=health_timeout,
    )


def _start(base: Path, name: str, env: dict[str, str], tree: str | None) -> Counted:
    out_dir = base / name.replace(" ", "-").replace("(", "").replace(")", "")
    out_dir.mkdir(parents=True)
    gw = under_callgrind(out_dir, {"NFYIO_FSYNC": "true", **env}, tree)
    client = gw.client()
    browser = gw.client()

    def add_origin(request: Any, **_: Any) -> None:
        request.headers["Origin"] = ORIGIN

    browser.meta.events.register("before-sign.s3.*", add_origin)
    return Counted(gw, out_dir, client, browser)


@contextmanager
def gateways(
    base: Path, baseline: str | None, needed: set[str] | None = None
) -> Iterator[dict[str, Counted]]:
    """The gateways ``needed`` names (all by default), started at once, stopped after."""
    plan: list[tuple[str, dict[str, str], str | None]] = [
        (name, env, None) for name, env in CONFIGS.items()
    ]
    if baseline:
        plan.append((BASELINE, CONFIGS[DEFAULTS], baseline))
    if needed is not None:
        plan = [step for step in plan if step[0] in needed]
    with ExitStack() as stack, ThreadPoolExecutor(len(plan)) as pool:
        futures = {name: pool.submit(_start, base, name, env, tree) for name, env, tree in plan}
        found: dict[str, Counted] = {}
        for name, future in futures.items():
            counted = future.result()
            stack.callback(counted.gw.stop, 120)
            found[name] = counted
        yield found


def prepare(name: str, counted: Counted) -> None:
    s3 = counted.client
    buckets = BUCKETS if name in (DEFAULTS, BASELINE) else ("plain",)
    for bucket in buckets:
        s3.create_bucket(Bucket=bucket)
    if "policy" in buckets:
        configure_buckets(counted.gw, s3)
        s3.put_bucket_cors(
            Bucket="cors",
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedOrigins": ["https://admin.example.com"],
                        "AllowedMethods": ["PUT", "POST", "DELETE"],
                        "AllowedHeaders": ["*"],
                    },
                    {
                        "AllowedOrigins": [ORIGIN, "https://*.example.org"],
                        "AllowedMethods": ["GET", "HEAD"],
                        "AllowedHeaders": ["*"],
                        "ExposeHeaders": ["ETag", "x-amz-version-id"],
                        "MaxAgeSeconds": 3000,
                    },
                ]
            },
        )
    body = b"x" * 4096
    for bucket in buckets:
        for _ in range(VERSIONS if bucket == "versioned" else 1):
            for i in range(READ_KEYS):
                s3.put_object(Bucket=bucket, Key=f"s{i}", Body=body)


def _request(counted: Counted, cell: Cell) -> Callable[[int], None]:
    s3 = counted.browser if cell.origin else counted.client
    body = b"y" * 4096

    def one(i: int) -> None:
        if cell.op == "GET":
            s3.get_object(Bucket=cell.bucket, Key=f"s{i % READ_KEYS}")["Body"].read()
        elif cell.op == "HEAD":
            s3.head_object(Bucket=cell.bucket, Key=f"s{i % READ_KEYS}")
        else:
            s3.put_object(Bucket=cell.bucket, Key=f"p{i % PUT_KEYS}", Body=body)

    return one


def count(counted: Counted, cell: Cell, n: int) -> float:
    one = _request(counted, cell)
    for i in range(WARM):
        one(i)
    counted.zero()
    for i in range(n):
        one(i)
    return counted.dump() / n


def table(results: dict[str, list[float]], with_baseline: bool) -> str:
    lines = [
        "| request | bucket | gateway | instructions per request (rounds) | median "
        "| / plain bucket, same gateway | / defaults |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    medians = {name: statistics.median(values) for name, values in results.items()}
    for cell in cells(with_baseline):
        if cell.name not in medians:
            continue
        value = medians[cell.name]
        plain = medians.get(f"{cell.op}|plain|{cell.gateway}")
        defaults = medians.get(Cell(cell.op, cell.bucket, DEFAULTS, cell.origin).name)
        rounds = " / ".join(f"{v / 1000:,.0f}k" for v in results[cell.name])
        bucket = cell.bucket + (" + Origin" if cell.origin else "")
        lines.append(
            f"| {cell.op} | {bucket} | {cell.gateway} | {rounds} | {value / 1000:,.0f}k "
            f"| {value / plain:.3f} | {value / defaults:.3f} |"
            if plain and defaults
            else f"| {cell.op} | {bucket} | {cell.gateway} | {rounds} | {value / 1000:,.0f}k | | |"
        )
    for gateway in (DEFAULTS, BASELINE):
        browser = medians.get(Cell("GET", "plain", gateway, origin=True).name)
        configured = medians.get(Cell("GET", "cors", gateway, origin=True).name)
        if browser and configured:
            lines.append("")
            lines.append(
                f"{gateway}: a GET with `Origin`, CORS configured / not configured: "
                f"{configured / browser:.3f} (CORS's own cost; the `Origin` header itself "
                f"is `plain + Origin` / `plain`)"
            )
    return "\n".join(lines)


@dataclass(frozen=True)
class Knobs:
    """What the environment asks of a callgrind count (this module's and
    ``tests.perf.upstream_instructions``'s): ``rounds``, ``n`` requests per cell, the
    ``baseline`` tree."""

    rounds: int
    n: int
    baseline: str | None


def knobs(tool: str) -> Knobs | None:
    """The run's knobs, or None (said on stdout) when valgrind is not installed."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print(f"{tool}: valgrind is not installed (make bench installs it); skipped")
        return None
    # A lease holds 250 tokens (above): a cell of 250 requests spends exactly one, so
    # every cell carries one lease renewal, not some none and some one.
    return Knobs(
        rounds=int(os.environ.get("BENCH_ROUNDS", "3")),
        n=max(20, int(PER_CELL * float(os.environ.get("BENCH_SCALE", "1")))),
        baseline=os.environ.get("BENCH_BASELINE_TREE"),
    )


def main() -> int:
    run = knobs("instructions")
    if run is None:
        return 0
    rounds, n, baseline = run.rounds, run.n, run.baseline
    wanted = {c for c in os.environ.get("BENCH_CELLS", "").split(";") if c}
    # a defaults cell named alone brings its baseline twin: a before/after is the point
    wanted |= {c[: -len(DEFAULTS)] + BASELINE for c in wanted if c.endswith(f"|{DEFAULTS}")}
    plan = [c for c in cells(bool(baseline)) if not wanted or c.name in wanted]
    base = Path(tempfile.mkdtemp(prefix="nfyio-instructions-"))
    started = time.monotonic()
    results: dict[str, list[float]] = {}
    try:
        with gateways(base, baseline, {c.gateway for c in plan}) as found:
            print(f"gateways up in {time.monotonic() - started:.0f} s", file=sys.stderr)
            for name, counted in found.items():
                prepare(name, counted)
            for cell in plan:  # what runs once (imports, statement caches) runs here
                one = _request(found[cell.gateway], cell)
                for i in range(WARM * 3):
                    one(i)
            for round_ in range(1, rounds + 1):
                # interleaved: every cell once per round, the gateways alternating
                for cell in plan if round_ % 2 else plan[::-1]:
                    value = count(found[cell.gateway], cell, n)
                    results.setdefault(cell.name, []).append(value)
                    print(f"round {round_} {cell.name:40} {value:12,.0f}", file=sys.stderr)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print()
    print(
        f"Instructions per small request (callgrind; {rounds} rounds of {n} requests per "
        f"cell, one at a time; {time.monotonic() - started:.0f} s)"
    )
    print()
    print(table(results, bool(baseline)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
