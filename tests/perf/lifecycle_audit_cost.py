"""What the audit trail costs the lifecycle sweeper: the same expirations with the
recorder on and off.

In one process, the filesystem backend and a SQLite state store (the embedded default,
fsync off as in the other benchmarks): a never-versioned bucket of ``BENCH_OBJECTS``
objects (default 5,000) under an ``Expiration`` rule, swept with the sweeper's clock a
few days ahead, in passes of ``lifecycle.batch`` (1,000) entries until every object is
gone. "audit on" gives the sweeper the worker's real ``AuditRecorder`` (one event per
object, the pass's events written in one transaction before its progress); "audit off"
gives it none. Rounds alternate (``BENCH_ROUNDS``, default 3); the table gives the median
time per object and per pass of 1,000, and the difference. Nothing asserts on time.

Run from the repository root: ``python -m tests.perf.lifecycle_audit_cost`` (``make
bench`` runs it last).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from backends import ObjectMeta
from backends.filesystem import FilesystemBackend
from gateway.audit import AuditRecorder
from gateway.config import AuditConfig
from gateway.identity.audit import AuditQuery
from gateway.identity.store import IdentityStore
from gateway.lifecycle.rules import Clock
from gateway.lifecycle.sweeper import LIFECYCLE, Sweeper
from tests.backends.test_contract import payload

OBJECTS = int(os.environ.get("BENCH_OBJECTS", "5000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
BATCH = 1000
RULES = (
    '<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ID>all</ID>'
    "<Filter><Prefix></Prefix></Filter><Status>Enabled</Status>"
    "<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>"
)


async def _one(base: Path, *, audited: bool) -> float:
    """Seconds the sweeper spent expiring every object."""
    backend = FilesystemBackend(base / "storage", fsync=False)
    await backend.start()
    state = await IdentityStore.open(base / "state", os.urandom(32))
    try:
        await backend.create_bucket("bench")
        for i in range(OBJECTS):
            await backend.put_object(
                "bench", f"k/{i:07d}", payload(b"x"), ObjectMeta(), size_hint=1
            )
        await state.bucket_settings.put("bench", LIFECYCLE, RULES)
        recorder = AuditRecorder(state.audit, AuditConfig()) if audited else None
        later = datetime.now(UTC) + timedelta(days=3)
        sweeper = Sweeper(
            backend,
            state.bucket_settings,
            state.object_acls,
            clock=Clock(),
            interval=1.0,
            batch=BATCH,
            lease_seconds=60.0,
            now=lambda: later,
            audit=recorder,
        )
        expired = 0
        start = time.perf_counter()
        while expired < OBJECTS:
            expired += (await sweeper.step()).expired
        spent = time.perf_counter() - start
        if audited:
            page, _ = await state.audit.page(AuditQuery(action="lifecycle.*"), limit=1)
            assert page, "the audited sweep wrote no events"
        return spent
    finally:
        await state.close()
        await backend.close()


async def main() -> None:
    timings: dict[str, list[float]] = {"audit on": [], "audit off": []}
    with tempfile.TemporaryDirectory(prefix="nfyio-lc-bench-") as tmp:
        for round_ in range(ROUNDS):
            for name in ("audit on", "audit off") if round_ % 2 == 0 else ("audit off", "audit on"):
                base = Path(tmp) / f"{name.replace(' ', '-')}-{round_}"
                timings[name].append(await _one(base, audited=name == "audit on"))
    print(f"lifecycle sweep of {OBJECTS} expirations, {ROUNDS} rounds (median)")
    print(f"{'':10} {'us/object':>10} {'ms/pass of 1000':>16}")
    medians = {name: statistics.median(values) for name, values in timings.items()}
    for name, seconds in medians.items():
        per = seconds / OBJECTS
        print(f"{name:10} {per * 1e6:10.0f} {per * BATCH * 1e3:16.1f}")
    extra = medians["audit on"] / medians["audit off"] - 1
    print(f"audit trail: {extra * 100:+.1f}% sweep time")
    sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
