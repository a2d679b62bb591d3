"""A gateway host killed (SIGKILL) in the middle of a load of uploads (issue 16).

Clients spread their uploads over two hosts, as a load balancer would; one host is killed
while requests are in flight on it. Each client retries a failed upload through the
other host, as an SDK behind a balancer does. Nothing that was acknowledged (a 200) is
lost: every such object is afterwards readable with its bytes, through the surviving host
and through the killed one once it is started again.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import signal
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.services.postgres import PostgresServer
from tests.services.seaweedfs import SeaweedFS
from tests.services.topology import Topology

pytestmark = pytest.mark.multihost

CLIENTS = 8
UPLOADS = 160
KILL_AFTER = 40
"""Acknowledged uploads before host A is killed (A has had its share of them)."""
SIZES = (1024, 64 * 1024, 300 * 1024)


@pytest.fixture
def pair(
    tmp_path: Path,
    postgres_server: PostgresServer,
    seaweedfs: SeaweedFS,
) -> Iterator[Topology]:
    running = Topology.start(tmp_path, asyncio.run(postgres_server.fresh_url()), seaweedfs)
    yield running
    running.stop()


@dataclass
class Ledger:
    """What the clients were told: key -> SHA-256 of the bytes acknowledged for it."""

    acknowledged: dict[str, bytes] = field(default_factory=dict)
    by_host: list[int] = field(default_factory=lambda: [0, 0])
    failed_attempts: list[int] = field(default_factory=lambda: [0, 0])
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)

    def ack(self, key: str, digest: bytes, host: int) -> None:
        with self.lock:
            self.acknowledged[key] = digest
            self.by_host[host] += 1
            if len(self.acknowledged) >= KILL_AFTER:
                self.enough.set()

    def failed(self, host: int) -> None:
        with self.lock:
            self.failed_attempts[host] += 1


def upload_with_failover(clients: list[Any], bucket: str, index: int, ledger: Ledger) -> None:
    """PUT one object; on a connection error or a 5xx, the same bytes through the other
    host. Raises if no host acknowledged it."""
    rng = random.Random(index)
    data = rng.randbytes(rng.choice(SIZES))
    key = f"load/{index:04d}"
    first = index % 2  # the balancer's round robin
    for attempt in range(6):
        host = (first + attempt) % 2
        try:
            clients[host].put_object(Bucket=bucket, Key=key, Body=data)
        except (BotoCoreError, ClientError) as exc:
            if isinstance(exc, ClientError):
                assert exc.response["ResponseMetadata"]["HTTPStatusCode"] >= 500, exc.response
            ledger.failed(host)
            continue
        ledger.ack(key, hashlib.sha256(data).digest(), host)
        return
    raise AssertionError(f"{key}: no host accepted the upload")


def test_uploads_acknowledged_before_a_host_dies_are_never_lost(pair: Topology) -> None:
    host_a, host_b = pair.hosts
    bucket = f"mh-kill-{uuid.uuid4().hex[:10]}"
    host_a.client().create_bucket(Bucket=bucket)
    options: dict[str, Any] = {
        "connect_timeout": 2,
        "read_timeout": 30,
        "max_pool_connections": CLIENTS,
    }
    clients = [host.client(**options) for host in (host_a, host_b)]
    ledger = Ledger()

    def kill_host_a() -> None:
        ledger.enough.wait(timeout=120)
        host_a.process.send_signal(signal.SIGKILL)

    killer = threading.Thread(target=kill_host_a)
    killer.start()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        uploads = [
            pool.submit(upload_with_failover, clients, bucket, i, ledger) for i in range(UPLOADS)
        ]
        for finished in uploads:
            finished.result()
    killer.join()
    assert host_a.process.wait(timeout=10) == -signal.SIGKILL

    # The kill happened under load: A had acknowledged uploads, then refused some that
    # the clients then took to B; every upload ended acknowledged by one host.
    assert ledger.by_host[0] > 0 and ledger.failed_attempts[0] > 0, ledger
    assert ledger.failed_attempts[1] == 0, ledger
    assert len(ledger.acknowledged) == UPLOADS

    def check(client: Any, keys: list[str]) -> None:
        for key in keys:
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            assert hashlib.sha256(body).digest() == ledger.acknowledged[key], key

    check(clients[1], sorted(ledger.acknowledged))
    listed = clients[1].get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="load/")
    assert sorted(o["Key"] for page in listed for o in page.get("Contents", [])) == sorted(
        ledger.acknowledged
    )

    # Host A comes back on the same data directory: it serves the objects (a sample here),
    # and what the crash left in its data directory (the dead run's metrics) is cleaned.
    dead_pid = host_a.pid()
    restarted = pair.start_host(0)
    assert not (restarted.data_dir / "run" / f"metrics-{dead_pid}").exists()
    check(restarted.client(), sorted(ledger.acknowledged)[::8])
