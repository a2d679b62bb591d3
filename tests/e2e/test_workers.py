"""``--workers N``: the gateway says it is ready (the banner) only once every worker
listens; a worker that cannot start stops the whole gateway with an error; a worker that
dies later is replaced, unless workers keep dying."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import psutil

from tests.e2e.gateway_process import (
    ROOT_KEY,
    ROOT_SECRET,
    Gateway,
    free_port,
    serve_command,
    start_gateway,
)


def _listening_sockets(port: int) -> int:
    """LISTEN sockets bound to ``port`` on 127.0.0.1 (/proc/net/tcp: local address
    0100007F:PORT, state 0A)."""
    wanted = f"0100007F:{port:04X}"
    rows = [row.split() for row in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(1 for row in rows if row[1] == wanted and row[3] == "0A")


def test_ready_only_once_every_worker_listens(tmp_path: Path) -> None:
    # The kernel spreads connections only over the sockets that exist: a banner printed
    # before the last worker binds would send every early client to the first one.
    gw = start_gateway(tmp_path / "data", extra_args=["--workers", "3"])
    try:
        assert _listening_sockets(gw.s3_port) == 3
        assert _listening_sockets(gw.api_port) == 3
        assert gw.log().count("  S3 endpoint:") == 1
    finally:
        assert gw.stop() == 0


def test_a_worker_that_cannot_start_stops_the_gateway(tmp_path: Path) -> None:
    taken = socket.socket()  # no SO_REUSEPORT: no worker can bind beside it
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NFYIO_", "AWS_"))}
    env |= {"NFYIO_ROOT_ACCESS_KEY": ROOT_KEY, "NFYIO_ROOT_SECRET_KEY": ROOT_SECRET}
    try:
        done = subprocess.run(
            serve_command(tmp_path / "data", taken.getsockname()[1], free_port(), "--workers", "2"),
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        taken.close()
    assert done.returncode == 1
    assert "S3 endpoint:" not in done.stdout  # never said it was ready
    assert "address already in use" in done.stderr.lower()
    assert "a worker exited while starting" in done.stderr


def _workers(gw: Gateway) -> set[int]:
    return {child.pid for child in psutil.Process(gw.pid()).children()}


def test_a_worker_that_dies_is_replaced(tmp_path: Path) -> None:
    gw = start_gateway(tmp_path / "data", extra_args=["--workers", "2"])
    try:
        first = _workers(gw)
        assert len(first) == 2
        victim = min(first)
        os.kill(victim, signal.SIGKILL)  # what the OOM killer does
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = _workers(gw)
            if len(now) == 2 and victim not in now and _listening_sockets(gw.s3_port) == 2:
                break
            time.sleep(0.1)
        assert len(now) == 2 and victim not in now, now
        assert _listening_sockets(gw.s3_port) == 2
        s3 = gw.client()
        s3.create_bucket(Bucket="after-restart")
        for _ in range(10):  # new connections, spread over both workers
            gw.client().list_buckets()
        assert f"worker {victim} exited unexpectedly" in gw.log()
    finally:
        assert gw.stop() == 0  # a stop after a replacement is an ordinary stop


def test_workers_that_die_together_are_all_replaced(tmp_path: Path) -> None:
    """Every worker dead by the time the parent looks (the OOM killer can take them all
    at once): the parent, paused while they die, replaces both and serves on. (The case
    where replacements die before the next look is pinned deterministically in
    ``tests/gateway/test_server_workers.py``.)"""
    gw = start_gateway(tmp_path / "data", extra_args=["--workers", "2"])
    try:
        parent = psutil.Process(gw.pid())
        first = _workers(gw)
        parent.suspend()
        try:
            for pid in first:
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and any(  # zombies until the parent reaps
                c.status() != psutil.STATUS_ZOMBIE for c in parent.children()
            ):
                time.sleep(0.05)
        finally:
            parent.resume()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = _workers(gw)
            if len(now) == 2 and not now & first and _listening_sockets(gw.s3_port) == 2:
                break
            time.sleep(0.1)
        assert gw.process.poll() is None, gw.log()
        assert len(now) == 2 and not now & first, now
        gw.client().list_buckets()
        assert all(f"worker {pid} exited unexpectedly" in gw.log() for pid in first)
    finally:
        assert gw.stop() == 0


def test_a_worker_that_keeps_dying_stops_the_gateway(tmp_path: Path) -> None:
    gw = start_gateway(tmp_path / "data", extra_args=["--workers", "2"])
    deadline = time.monotonic() + 60
    killed: set[int] = set()
    while gw.process.poll() is None and time.monotonic() < deadline:
        for pid in _workers(gw) - killed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        time.sleep(0.05)
    assert gw.process.wait(timeout=30) == 1
    assert "stopping the gateway" in gw.log()


def _gone(pids: set[int]) -> bool:
    """Whether every process of ``pids`` has exited (waiting up to 30 s for them)."""
    processes = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            processes.append(psutil.Process(pid))
    _, alive = psutil.wait_procs(processes, timeout=30)
    return not alive


def test_sighup_stops_the_gateway_and_every_worker(tmp_path: Path) -> None:
    """SIGHUP (a closed terminal; there is no reload) is a graceful stop like SIGTERM. Its
    default action killed the parent at once and left both workers serving, orphaned."""
    gw = start_gateway(tmp_path / "data", extra_args=["--workers", "2"])
    workers = _workers(gw)
    assert len(workers) == 2
    gw.process.send_signal(signal.SIGHUP)
    assert gw.process.wait(timeout=60) == 0
    assert _gone(workers)
    assert "shutting down: finishing in-flight requests" in gw.log()


def test_workers_stop_when_the_parent_is_killed(tmp_path: Path) -> None:
    """A parent killed without a chance to stop its workers (SIGKILL, the OOM killer):
    the workers stop too, instead of serving on orphaned beside the next gateway."""
    gw = start_gateway(tmp_path / "data", extra_args=["--workers", "2"])
    workers = _workers(gw)
    assert len(workers) == 2
    gw.process.kill()
    gw.process.wait(timeout=60)
    assert _gone(workers)


MIGRATED_ROWS = 1_000_000
"""Null versions schema version 5 names at start-up: about a second of one UPDATE, far
past the busy timeout the test gives the workers."""


def _at_schema_4_with_unnamed_null_versions(data_dir: Path, bucket: str, key: str) -> None:
    """The data directory as the release before schema version 5 left it: a versioned
    bucket whose null versions (``key`` and ``MIGRATED_ROWS`` more) have a NULL id."""
    db = sqlite3.connect(data_dir / "storage" / "meta" / "meta.sqlite3", isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT INTO objects (bucket, key, size, etag, last_modified, meta, checksums,"
            " data_id) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
            " WHERE i < ?) SELECT o.bucket, CAST(printf('seeded/%08d', i) AS BLOB), o.size,"
            " o.etag, o.last_modified, o.meta, o.checksums, o.data_id FROM n, objects o"
            " WHERE o.bucket = ? AND o.key = ?",
            (MIGRATED_ROWS, bucket, key.encode()),
        )
        db.execute("UPDATE objects SET version_id = NULL WHERE bucket = ?", (bucket,))
        db.execute("PRAGMA user_version = 4")
        db.execute("COMMIT")
    finally:
        db.close()


def test_workers_wait_for_a_migration_that_outlasts_the_busy_timeout(tmp_path: Path) -> None:
    # Schema version 5 rewrote every null version of versioned buckets in the start-up
    # transaction; the second worker waited for it on SQLite's busy timeout, gave up
    # ("database is locked") and the gateway exited 1. Now it waits on the schema lock
    # for as long as the migration takes.
    data = tmp_path / "data"
    gw = start_gateway(data)
    try:
        s3 = gw.client()
        s3.create_bucket(Bucket="upgraded")
        s3.put_object(Bucket="upgraded", Key="old", Body=b"before versioning")
        s3.put_bucket_versioning(Bucket="upgraded", VersioningConfiguration={"Status": "Enabled"})
    finally:
        assert gw.stop() == 0
    _at_schema_4_with_unnamed_null_versions(data, "upgraded", "old")
    gw = start_gateway(
        data,
        extra_args=["--workers", "2"],
        extra_env={"NFYIO_STORAGE_BUSY_TIMEOUT": "0.01"},
        ready_timeout=120,
    )
    try:
        for _ in range(4):  # new connections, spread over both workers
            s3 = gw.client()
            assert s3.head_object(Bucket="upgraded", Key="old")["VersionId"] == "null"
            seeded = s3.head_object(Bucket="upgraded", Key=f"seeded/{MIGRATED_ROWS:08d}")
            assert seeded["VersionId"] == "null"
        assert "database is locked" not in gw.log()
    finally:
        assert gw.stop() == 0
