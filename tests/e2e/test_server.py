"""The server process itself: health, workers sharing ports, graceful shutdown, bootstrap."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import boto3
import pytest

from tests.e2e.gateway_process import Gateway, free_port, get_json, start_gateway


def test_health_reports_backend_and_version(gateway: Gateway) -> None:
    status, body = get_json(f"{gateway.api_url}/health")
    assert status == 200
    assert body["status"] == "ok"
    assert body["backend"] == "filesystem"
    assert body["version"]
    status, body = get_json(f"{gateway.api_url}/ready")
    assert (status, body["status"]) == (200, "ready")


def test_unknown_api_path_is_json_404(gateway: Gateway) -> None:
    status, body = get_json(f"{gateway.api_url}/nope")
    assert status == 404
    assert body["error"]["code"] == "NotFound"


def test_two_workers_share_the_ports(tmp_path: Path) -> None:
    gw = start_gateway(tmp_path / "data", extra_args=["--workers", "2"])
    try:
        s3 = gw.client()
        bucket = f"w-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=bucket)
        for i in range(40):
            s3.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x" * i)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
        assert len(keys) == 40
        children = _children(gw.pid())
        assert len(children) == 2
        # every worker answers: connections land on both processes over time
        served = _pids_serving(gw)
        assert served <= set(children)
    finally:
        assert gw.stop() == 0


def _children(pid: int) -> list[int]:
    import psutil

    return [p.pid for p in psutil.Process(pid).children()]


def _pids_serving(gw: Gateway) -> set[int]:
    import psutil

    found: set[int] = set()
    for child in psutil.Process(gw.pid()).children():
        for conn in child.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == gw.s3_port and conn.status == "LISTEN":
                found.add(child.pid)
    return found


def _uploads_in_progress(data_dir: Path) -> list[Path]:
    """The temporary files of bodies still arriving (the filesystem backend's tmp/)."""
    return list((data_dir / "storage").rglob("tmp/*"))


def test_sigterm_lets_an_inflight_upload_finish(tmp_path: Path) -> None:
    """A PUT whose body is still arriving when SIGTERM lands completes and is stored."""
    gw = start_gateway(tmp_path / "data")
    s3 = gw.client()
    bucket = f"t-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "slow"}, ExpiresIn=300
    )
    path_and_query = url.split(str(gw.s3_port), 1)[1]
    size = 4 * 1024 * 1024
    sock = socket.create_connection(("127.0.0.1", gw.s3_port))
    sock.sendall(
        f"PUT {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1:{gw.s3_port}\r\n"
        f"Content-Length: {size}\r\n\r\n".encode()
    )
    sock.sendall(b"a" * (size // 2))
    # In flight when the signal lands: the body is being written (a fixed 0.3 s could
    # pass on a loaded machine before the gateway even took the connection).
    deadline = time.monotonic() + 30
    while not _uploads_in_progress(gw.data_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _uploads_in_progress(gw.data_dir), gw.log()
    gw.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    sock.sendall(b"a" * (size // 2))
    response = sock.recv(4096)
    sock.close()
    assert response.startswith(b"HTTP/1.1 200"), response
    assert gw.process.wait(timeout=30) == 0
    restarted = start_gateway(tmp_path / "data")
    try:
        head = restarted.client().head_object(Bucket=bucket, Key="slow")
        assert head["ContentLength"] == size
    finally:
        restarted.stop()


def test_interrupted_upload_leaves_no_object(tmp_path: Path) -> None:
    gw = start_gateway(tmp_path / "data")
    try:
        s3 = gw.client()
        bucket = f"i-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="obj", Body=b"old")
        url = s3.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": "obj"}, ExpiresIn=300
        )
        path_and_query = url.split(str(gw.s3_port), 1)[1]
        sock = socket.create_connection(("127.0.0.1", gw.s3_port))
        sock.sendall(
            f"PUT {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1:{gw.s3_port}\r\n"
            f"Content-Length: 1000000\r\n\r\n".encode()
        )
        sock.sendall(b"new" * 1000)
        sock.close()
        time.sleep(0.5)
        assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == b"old"
        # (each process receives bodies in a temp directory of its own, tmp/<owner>/:
        # what must not stay is a file in it)
        temp = tmp_path / "data" / "storage" / "tmp"
        assert [p for p in temp.rglob("*") if p.is_file()] == []
    finally:
        gw.stop()


def test_generated_admin_key_is_printed_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NFYIO_", "AWS_"))}
    port_s3, port_api = free_port(), free_port()
    outputs = []
    for _ in range(2):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "serve",
                "--data-dir",
                str(data),
                "--s3-port",
                str(port_s3),
                "--api-port",
                str(port_api),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
        )
        lines: list[str] = []
        assert proc.stdout is not None
        reader = threading.Thread(
            target=lambda p=proc, out=lines: out.extend(
                line.decode() for line in iter(p.stdout.readline, b"")
            )
        )
        reader.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any("aws --endpoint-url" in x for x in lines):
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        reader.join(timeout=5)
        outputs.append("".join(lines))
    first, second = outputs
    assert "secret access key:" in first
    secret = first.split("secret access key:")[1].split()[0]
    key_id = first.split("access key id:")[1].split()[0]
    assert secret.startswith("sk_")
    assert secret not in second
    assert "existing admin key" in second
    # the printed pair works with boto3
    gw = start_gateway(data)
    try:
        s3 = gw.client(access_key=key_id, secret_key=secret)
        assert "Buckets" in s3.list_buckets()
    finally:
        gw.stop()


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_cli_help(flag: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli", flag], capture_output=True, text=True, check=True
    )
    assert "nfyio-gateway" in out.stdout


def test_banner_instructions_work_on_ipv6_and_another_region(tmp_path: Path) -> None:
    """The banner's URLs and region are ones a client can use as printed: an IPv6 host in
    brackets (it printed ``http://::1:7007``, which no client parses) and the configured
    region (it printed ``AWS_DEFAULT_REGION=us-east-1`` whatever ``s3.region`` said)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NFYIO_", "AWS_"))}
    env["NFYIO_REGION"] = "eu-west-1"
    port_s3, port_api = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--data-dir", str(tmp_path / "data"),
         "--host", "::1", "--s3-port", str(port_s3), "--api-port", str(port_api)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        banner = []
        for line in proc.stdout:  # ends with the gateway if it never gets ready
            banner.append(line)
            if "s3 ls" in line:
                break
        text = "".join(banner)
        endpoint = f"http://[::1]:{port_s3}"
        assert f"S3 endpoint:  {endpoint}" in text, text
        assert f"GET http://[::1]:{port_api}/health" in text, text
        exported = dict(
            item.split("=", 1) for item in text.split("export ")[1].split("\n")[0].split()
        )
        assert exported["AWS_DEFAULT_REGION"] == "eu-west-1"
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=exported["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=exported["AWS_SECRET_ACCESS_KEY"],
            region_name=exported["AWS_DEFAULT_REGION"],
        )
        s3.create_bucket(
            Bucket="my-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        s3.put_object(Bucket="my-bucket", Key="README.md", Body=b"hello")
        assert s3.get_object(Bucket="my-bucket", Key="README.md")["Body"].read() == b"hello"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


def test_stray_nfyio_variables_are_named_at_start(tmp_path: Path) -> None:
    """An ``NFYIO_*`` variable that configures nothing and is no misspelling of one that
    does (those stop the start: tests/gateway/test_cli_failures.py) is named in one
    warning line, so a setting meant for the gateway is not lost in silence; the
    examples' own variables and Kubernetes service links of a Service named ``nfyio`` are
    not settings and are not warned of."""
    stray = {"NFYIO_DEBUG": "1", "NFYIO_LOGLEVEL_VERBOSE": "yes"}
    quiet = {
        "NFYIO_BUCKET": "demo",
        "NFYIO_API_URL": "http://127.0.0.1:3000",
        "NFYIO_SERVICE_HOST": "10.0.0.7",
        "NFYIO_SERVICE_PORT": "7007",
        "NFYIO_PORT": "tcp://10.0.0.7:7007",
        "NFYIO_PORT_7007_TCP_ADDR": "10.0.0.7",
    }
    gw = start_gateway(tmp_path / "data", extra_env={**stray, **quiet})
    try:
        gw.client().list_buckets()
        log = gw.log()
    finally:
        gw.stop()
    warned = [line for line in log.splitlines() if "is no setting of the gateway" in line]
    assert sorted(line.split("$")[1].split()[0] for line in warned) == sorted(stray), log
    assert all(" WARNING " in line for line in warned)
    assert "Traceback" not in log
