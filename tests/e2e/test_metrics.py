"""``GET /metrics`` on the API listener, against the real server with one and two workers.

Each test starts its own gateway so the counts it checks are exactly the requests it sent.
"""

from __future__ import annotations

import http.client
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from gateway import __version__
from gateway.metrics import FLUSH_SECONDS
from tests.e2e.gateway_process import Gateway, start_gateway

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(gw: Gateway) -> tuple[str, str]:
    """A fresh connection each time, so with workers any of them may answer."""
    with urllib.request.urlopen(f"{gw.api_url}/metrics", timeout=10) as response:
        assert response.status == 200
        return response.headers["Content-Type"], response.read().decode()


def samples(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def total(found: Samples, name: str) -> float:
    return sum(v for (n, _), v in found.items() if n == name)


@pytest.fixture
def one_worker(tmp_path: Path) -> Iterator[Gateway]:
    gw = start_gateway(tmp_path / "data")
    yield gw
    assert gw.stop() == 0


def test_counts_operations_statuses_bytes_and_build_info(one_worker: Gateway) -> None:
    gw = one_worker
    s3 = gw.client()
    bucket = f"m-{uuid.uuid4().hex[:12]}"
    secret_key_name = "private/payroll-2024.csv"
    s3.create_bucket(Bucket=bucket)
    bodies = [b"a" * 100, b"b" * 2000, b"c" * 70_000]  # the last is streamed, not one write
    for i, body in enumerate(bodies):
        s3.put_object(Bucket=bucket, Key=f"{secret_key_name}.{i}", Body=body)
    for i in (1, 2):
        assert s3.get_object(Bucket=bucket, Key=f"{secret_key_name}.{i}")["Body"].read()
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket=bucket, Key="absent")
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="absent")
    s3.head_object(Bucket=bucket, Key=f"{secret_key_name}.2")

    content_type, text = scrape(gw)
    assert content_type.startswith("text/plain")
    found = samples(text)
    requests = "nfyio_s3_requests_total"
    assert value(found, requests, operation="CreateBucket", status="200") == 1
    assert value(found, requests, operation="PutObject", status="200") == 3
    assert value(found, requests, operation="GetObject", status="200") == 2
    assert value(found, requests, operation="GetObject", status="404") == 1
    assert value(found, requests, operation="HeadObject", status="404") == 1
    assert value(found, requests, operation="HeadObject", status="200") == 1
    assert total(found, requests) == 9
    duration = "nfyio_s3_request_duration_seconds"
    assert value(found, f"{duration}_count", operation="PutObject") == 3
    assert value(found, f"{duration}_count", operation="GetObject") == 3
    assert value(found, f"{duration}_bucket", operation="GetObject", le="+Inf") == 3
    assert value(found, f"{duration}_sum", operation="PutObject") > 0
    # PUT bodies as received (over HTTP boto3 sends them plain, with checksum headers).
    sent = sum(len(b) for b in bodies)
    assert value(found, "nfyio_s3_request_bytes_total", operation="PutObject") == sent
    # GET bodies plus the NoSuchKey XML; HEAD sends no body whatever its Content-Length.
    got = value(found, "nfyio_s3_response_bytes_total", operation="GetObject")
    assert len(bodies[1]) + len(bodies[2]) < got < len(bodies[1]) + len(bodies[2]) + 1024
    assert value(found, "nfyio_s3_response_bytes_total", operation="HeadObject") == 0
    assert value(found, "nfyio_build_info", version=__version__, backend="filesystem") == 1
    assert value(found, "nfyio_workers") == 1
    # Labels are operation names: no bucket, key or credential appears anywhere.
    for secret in (bucket, "payroll", "absent", gw.access_key, gw.secret_key):
        assert secret not in text

    # The API listener counts by route template, unmatched paths under one label.
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(f"{gw.api_url}/no/such/{uuid.uuid4().hex}", timeout=5)
    # A redirect ends its handler with an exception (HTTPFound): counted as answered.
    connection = http.client.HTTPConnection("127.0.0.1", gw.api_port, timeout=10)
    connection.request("GET", "/")
    assert connection.getresponse().status == 302
    connection.close()
    found = samples(scrape(gw)[1])
    assert value(found, "nfyio_api_requests_total", route="/metrics", status="200") >= 1
    assert value(found, "nfyio_api_requests_total", route="unmatched", status="404") == 1
    assert value(found, "nfyio_api_requests_total", route="/", status="302") == 1


def test_an_upload_cut_short_is_logged_and_counted(one_worker: Gateway) -> None:
    """A client that goes away mid-body is a request too: one access-log line and one
    count, status 499 (the API listener's and nginx's), not nothing."""
    gw = one_worker
    s3 = gw.client()
    bucket = f"m-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "cut"})
    target = url.split(str(gw.s3_port), 1)[1]
    with socket.create_connection(("127.0.0.1", gw.s3_port), timeout=10) as sock:
        head = f"PUT {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000000\r\n\r\n"
        sock.sendall(head.encode() + b"x" * 100_000)
    deadline = time.monotonic() + 30  # the handler notices the close by itself
    cut = 0.0
    while cut == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
        cut = value(
            samples(scrape(gw)[1]), "nfyio_s3_requests_total", operation="PutObject", status="499"
        )
    assert cut == 1
    lines = [line for line in gw.log().splitlines() if f"path=/{bucket}/cut " in line]
    assert len(lines) == 1 and " op=PutObject " in lines[0] and " status=499 " in lines[0]
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="cut")


def test_run_directory_is_fresh_and_removed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    stale = data / "run" / "metrics-999999999"  # above any pid_max: that process is gone
    stale.mkdir(parents=True)
    (stale / "counter_999999999.db").write_bytes(b"left by a crashed run")
    gw = start_gateway(data)
    try:
        assert not stale.exists()
        assert [p.name for p in (data / "run").iterdir()] == [f"metrics-{gw.pid()}"]
        assert total(samples(scrape(gw)[1]), "nfyio_s3_requests_total") == 0
    finally:
        assert gw.stop() == 0
    assert list((data / "run").iterdir()) == []


def test_workers_report_the_totals_of_all_workers(tmp_path: Path) -> None:
    gw = start_gateway(tmp_path / "data", extra_args=["--workers", "2"])
    try:
        bucket = f"m-{uuid.uuid4().hex[:12]}"
        gw.client().create_bucket(Bucket=bucket)
        puts = gets = 0
        missing = 0
        for batch in range(20):
            # A new client is a new connection: the kernel spreads them over the workers.
            s3: Any = gw.client()
            s3.put_object(Bucket=bucket, Key=f"k{batch}", Body=b"x" * batch)
            s3.get_object(Bucket=bucket, Key=f"k{batch}")["Body"].read()
            puts += 1
            gets += 1
            if batch % 4 == 0:
                with pytest.raises(ClientError):
                    s3.get_object(Bucket=bucket, Key=f"absent{batch}")
                missing += 1
        # Each worker moves its tallies into the shared values once a second (and before
        # it answers a scrape itself): wait for both, then whichever worker answers, the
        # totals are the same.
        requests = "nfyio_s3_requests_total"
        deadline = time.monotonic() + 10 * FLUSH_SECONDS
        while total(samples(scrape(gw)[1]), requests) < 1 + puts + gets + missing:
            assert time.monotonic() < deadline, "a worker's counts never reached the scrape"
            time.sleep(0.1)
        run_dir = gw.data_dir / "run" / f"metrics-{gw.pid()}"
        writers = {p.stem.split("_")[-1] for p in run_dir.glob("counter_*.db")}
        assert len(writers) == 2, "requests should have reached both workers"
        for _ in range(6):
            found = samples(scrape(gw)[1])
            assert total(found, requests) == 1 + puts + gets + missing
            assert value(found, requests, operation="PutObject", status="200") == puts
            assert value(found, requests, operation="GetObject", status="200") == gets
            assert value(found, requests, operation="GetObject", status="404") == missing
            count = "nfyio_s3_request_duration_seconds_count"
            assert value(found, count, operation="GetObject") == gets + missing
            assert value(found, "nfyio_s3_request_bytes_total", operation="PutObject") == sum(
                range(20)
            )
            assert value(found, "nfyio_workers") == 2
    finally:
        assert gw.stop() == 0


def test_metrics_can_be_turned_off(tmp_path: Path) -> None:
    gw = start_gateway(tmp_path / "data", extra_env={"NFYIO_SERVER_METRICS": "false"})
    try:
        gw.client().list_buckets()
        with pytest.raises(urllib.error.HTTPError) as off:
            scrape(gw)
        assert off.value.code == 404
        assert not (gw.data_dir / "run").exists()
    finally:
        assert gw.stop() == 0
