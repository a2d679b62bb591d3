"""``--workers 2``: a worker killed (SIGKILL, the OOM killer) in the middle of a PUT leaves
its temp file; the other worker removes it within its sweep interval
(``storage.temp_sweep_interval``), while the parent is held so that no replacement starts
(a replacement removes it as it starts, too). A PUT that is received slowly across many
sweeps by a running worker is never touched.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.e2e.gateway_process import Gateway, start_gateway, wait_until

MIB = 1024 * 1024
INTERVAL = 0.2


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    gw = start_gateway(
        tmp_path / "data",
        extra_env={"NFYIO_STORAGE_TEMP_SWEEP_INTERVAL": str(INTERVAL)},
        extra_args=["--workers", "2"],
    )
    try:
        gw.client().create_bucket(Bucket="slow")
        yield gw
    finally:
        gw.stop()


def _start_put(gw: Gateway, key: str, size: int) -> http.client.HTTPConnection:
    """A PUT of ``size`` bytes announced, its headers sent, no byte of its body yet."""
    url = gw.client().generate_presigned_url(
        "put_object", Params={"Bucket": "slow", "Key": key}, ExpiresIn=300
    )
    conn = http.client.HTTPConnection("127.0.0.1", gw.s3_port, timeout=60)
    conn.putrequest("PUT", url.split(str(gw.s3_port), 1)[1], skip_accept_encoding=True)
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    return conn


def _holder(gw: Gateway, path: Path) -> int:
    """The worker that has ``path`` open."""
    for worker in psutil.Process(gw.pid()).children():
        if any(f.path == str(path) for f in worker.open_files()):
            return worker.pid
    raise AssertionError(f"no worker holds {path}")


def test_a_killed_workers_temp_file_is_removed_by_its_sibling(gateway: Gateway) -> None:
    conn = _start_put(gateway, "cut", 8 * MIB)
    conn.send(os.urandom(2 * MIB))
    wait_until(gateway.temp_files, "the PUT's temp file")
    [temp] = gateway.temp_files()
    victim = _holder(gateway, temp)
    parent = psutil.Process(gateway.pid())
    parent.suspend()  # no replacement worker (which would sweep as it starts)
    try:
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: not temp.exists(), "the sibling's sweep", seconds=30)
        assert not temp.parent.exists()
    finally:
        parent.resume()
        conn.close()
    # the sweep logs once its I/O thread has removed the directory: the file can be gone
    # a moment before the line is written
    wait_until(
        lambda: "removed the temp files of 1 process(es) that ended" in gateway.log(),
        "the sweep's log line",
    )
    wait_until(lambda: len(parent.children()) == 2, "the replacement worker")
    assert gateway.temp_files() == []


def test_a_slow_put_survives_the_sweeps_of_its_sibling(gateway: Gateway) -> None:
    data = os.urandom(8 * MIB)
    conn = _start_put(gateway, "slow", len(data))
    conn.send(data[: 2 * MIB])
    wait_until(gateway.temp_files, "the PUT's temp file")
    [temp] = gateway.temp_files()
    # the sibling looks every INTERVAL: let it look several times while this one writes
    for offset in range(2 * MIB, len(data), MIB):
        time.sleep(INTERVAL)
        assert temp.exists()
        conn.send(data[offset : offset + MIB])
    response = conn.getresponse()
    assert response.status == 200, response.read()
    assert response.getheader("ETag") == f'"{hashlib.md5(data).hexdigest()}"'
    conn.close()
    got = gateway.client().get_object(Bucket="slow", Key="slow")["Body"].read()
    assert got == data
    assert gateway.temp_files() == []
    assert "removed the temp files" not in gateway.log()
