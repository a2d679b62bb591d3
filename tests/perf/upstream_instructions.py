"""Instructions per proxied small request, over SeaweedFS (issue 17, section 1).

``tests/perf/instructions.py``'s method (callgrind on the gateway's one worker, boto3 one
request at a time, the counters zeroed and dumped around each cell, rounds interleaved,
the median reported) for a gateway whose backend is the upstream one in front of a
SeaweedFS started here (``tests/services/seaweedfs.py``): HEAD and 4 KiB GET of keys read
before, and 4 KiB PUT, each on the ``plain`` bucket. The gateway counts its own work only;
SeaweedFS runs natively beside it and is not counted. With ``BENCH_BASELINE_TREE`` (another
revision's ``gateway``/``sigv4``/``backends``) a second upstream gateway runs that code
over the same SeaweedFS (bucket prefix ``old-``), for a before/after in one run: the
steady A/B for the upstream backend's own changes (a change of 1-2 % shows).

Run: ``python -m tests.perf.upstream_instructions``. Environment: ``BENCH_ROUNDS`` (3),
``BENCH_SCALE`` (requests per cell: 250 x scale), ``BENCH_BASELINE_TREE``, ``BENCH_OPS``
(``HEAD,GET,PUT``). Needs ``valgrind``. Nothing asserts.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from tests.perf.instructions import (
    _LIMITS_SCALED,
    READ_KEYS,
    WARM,
    Cell,
    Counted,
    _request,
    count,
    knobs,
    under_callgrind,
)
from tests.services.seaweedfs import SeaweedFS, start_seaweedfs

CURRENT = "upstream"
BASELINE = "upstream (baseline)"


def _start(base: Path, weed: SeaweedFS, name: str, tree: str | None) -> Counted:
    out_dir = base / ("baseline" if tree else "current")
    out_dir.mkdir(parents=True)
    env = {
        **_LIMITS_SCALED,
        "NFYIO_BACKEND": "s3",
        "NFYIO_UPSTREAM_ENDPOINT": weed.endpoint_url,
        "NFYIO_UPSTREAM_ACCESS_KEY_ID": weed.access_key,
        "NFYIO_UPSTREAM_SECRET_ACCESS_KEY": weed.secret_key,
        "NFYIO_UPSTREAM_BUCKET_PREFIX": "old-" if tree else "gw-",
    }
    gw = under_callgrind(out_dir, env, tree, health_timeout=30)
    return Counted(gw, out_dir, gw.client(), gw.client())


def main() -> int:
    run = knobs("upstream_instructions")
    if run is None:
        return 0
    rounds, n, baseline = run.rounds, run.n, run.baseline
    ops = [op for op in os.environ.get("BENCH_OPS", "HEAD,GET,PUT").split(",") if op]
    names = [CURRENT, BASELINE] if baseline else [CURRENT]
    base = Path(tempfile.mkdtemp(prefix="nfyio-upstream-instructions-"))
    started = time.monotonic()
    results: dict[tuple[str, str], list[float]] = {}
    try:
        with ExitStack() as stack:
            weed = start_seaweedfs(base / "seaweedfs")
            stack.callback(weed.stop)
            trees = {CURRENT: None, BASELINE: baseline}
            with ThreadPoolExecutor(len(names)) as pool:
                futures = {
                    name: pool.submit(_start, base, weed, name, trees[name]) for name in names
                }
                found: dict[str, Counted] = {}
                for name, future in futures.items():
                    counted = future.result()
                    stack.callback(counted.gw.stop, 120)
                    found[name] = counted
            print(f"gateways up in {time.monotonic() - started:.0f} s", file=sys.stderr)
            for counted in found.values():
                counted.client.create_bucket(Bucket="plain")
                for i in range(READ_KEYS):
                    counted.client.put_object(Bucket="plain", Key=f"s{i}", Body=b"x" * 4096)
            plan = [(name, Cell(op, "plain", name)) for op in ops for name in names]
            for name, cell in plan:  # what runs once (imports, the pool's connection) here
                one = _request(found[name], cell)
                for i in range(WARM * 3):
                    one(i)
            for round_ in range(1, rounds + 1):
                for name, cell in plan if round_ % 2 else plan[::-1]:
                    value = count(found[name], cell, n)
                    results.setdefault((cell.op, name), []).append(value)
                    print(f"round {round_} {cell.name:40} {value:12,.0f}", file=sys.stderr)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print()
    print(
        f"Instructions per proxied request over SeaweedFS (callgrind; {rounds} rounds of "
        f"{n} requests per cell, one at a time; {time.monotonic() - started:.0f} s)"
    )
    print()
    print("| request | gateway | instructions per request (rounds) | median | / baseline |")
    print("| --- | --- | --- | --- | --- |")
    for op in ops:
        for name in names:
            values = results[(op, name)]
            median = statistics.median(values)
            rounds_text = " / ".join(f"{v / 1000:,.1f}k" for v in values)
            ratio = ""
            if name == CURRENT and (op, BASELINE) in results:
                ratio = f"{median / statistics.median(results[(op, BASELINE)]):.3f}"
            print(f"| {op} | {name} | {rounds_text} | {median / 1000:,.1f}k | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
