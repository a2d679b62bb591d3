"""Start the real gateway (``nfyio-gateway serve``) as a child process on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

ROOT_KEY = "AKIAE2ETESTROOT00001"
ROOT_SECRET = "e2e-root-secret-key-0123456789abcdefghij"


def get_json(url: str) -> tuple[int, dict[str, Any]]:
    """GET a JSON document from the API listener: (status, body), errors included."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # loopback
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Gateway:
    data_dir: Path
    s3_port: int
    api_port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    tls_ca: str | None = None
    access_key: str = ROOT_KEY
    secret_key: str = ROOT_SECRET
    env: dict[str, str] = field(default_factory=dict)

    @property
    def scheme(self) -> str:
        return "https" if self.tls_ca else "http"

    @property
    def s3_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.s3_port}"

    @property
    def api_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.api_port}"

    def client(
        self,
        access_key: str | None = None,
        secret_key: str | None = None,
        **config: Any,
    ) -> Any:
        """A boto3 S3 client with the SDK's current defaults (path-style addressing)."""
        options: dict[str, Any] = {
            "s3": {"addressing_style": "path"},
            "retries": {"max_attempts": 1},
        }
        options.update(config)
        return boto3.client(
            "s3",
            endpoint_url=self.s3_url,
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            region_name="us-east-1",
            verify=self.tls_ca if self.tls_ca else None,
            config=BotoConfig(**options),
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def temp_files(self) -> list[Path]:
        """Files under ``storage/tmp``: bodies being received (in the directories of the
        gateway's processes)."""
        return [p for p in (self.data_dir / "storage" / "tmp").rglob("*") if p.is_file()]

    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # The filesystem backend's full-disk reserve (16 MiB, made again at the next start):
        # a full run stops about a thousand gateways whose directories pytest keeps.
        (self.data_dir / "storage" / "meta" / "reserve").unlink(missing_ok=True)
        return self.process.returncode


def wait_until(check: Callable[[], object], what: str, seconds: float = 20) -> None:
    """Poll ``check`` until it is true; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def serve_command(
    data_dir: Path,
    s3_port: int,
    api_port: int,
    *extra_args: str,
    tls: tuple[str, str, str] | None = None,
    python: str | None = None,
) -> list[str]:
    """``nfyio-gateway serve`` on 127.0.0.1 with these ports and data directory."""
    args = [
        python or sys.executable,
        "-m",
        "gateway.cli",
        "serve",
        "--data-dir",
        str(data_dir),
        "--host",
        "127.0.0.1",
        "--s3-port",
        str(s3_port),
        "--api-port",
        str(api_port),
        *extra_args,
    ]
    if tls is not None:
        args += ["--tls-cert", tls[0], "--tls-key", tls[1]]
    return args


def start_gateway(
    data_dir: Path,
    *,
    tls: tuple[str, str, str] | None = None,
    extra_env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
    python: str | None = None,
    wrapper: list[str] | None = None,
    ready_timeout: float = 30,
    health_timeout: float = 1,
) -> Gateway:
    """``tls`` is (cert file, key file, CA bundle file); ``python`` the interpreter that
    runs the gateway (default: this one); ``wrapper`` a command line that runs it (as
    ``valgrind --tool=callgrind`` does), given longer than ``ready_timeout`` to start;
    ``health_timeout`` bounds each ``/health`` probe (an upstream gateway's asks the store,
    for up to 2 s, which under callgrind takes longer than the default)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NFYIO_", "AWS_"))}
    env.update(
        {
            "NFYIO_ROOT_ACCESS_KEY": ROOT_KEY,
            "NFYIO_ROOT_SECRET_KEY": ROOT_SECRET,
            "NFYIO_FSYNC": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra_env or {})
    for attempt in range(_PORT_ATTEMPTS):
        # A free port is free when picked; another process (a parallel test's server)
        # may bind it before the gateway does: pick again then.
        s3_port, api_port = free_port(), free_port()
        args = serve_command(
            data_dir, s3_port, api_port, *(extra_args or []), tls=tls, python=python
        )
        gateway = launch(data_dir, [*(wrapper or []), *args], env, s3_port, api_port, tls=tls)
        try:
            _wait_ready(gateway, ready_timeout, health_timeout)
        except RuntimeError:
            taken = "address already in use" in gateway.log()
            if not taken or attempt + 1 == _PORT_ATTEMPTS:
                raise
            continue
        return gateway
    raise AssertionError("unreachable")


_PORT_ATTEMPTS = 3


def launch(
    data_dir: Path,
    args: list[str],
    env: dict[str, str],
    s3_port: int,
    api_port: int,
    *,
    tls: tuple[str, str, str] | None = None,
) -> Gateway:
    """Start ``args`` (a ``serve_command``, perhaps behind ``prlimit``) with its output in
    ``<data_dir>-gateway.log``; not waited for."""
    log_path = data_dir.parent / f"{data_dir.name}-gateway.log"
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        args, stdout=log_file, stderr=subprocess.STDOUT, env=env, cwd=data_dir.parent
    )
    return Gateway(
        data_dir=data_dir,
        s3_port=s3_port,
        api_port=api_port,
        process=process,
        log_path=log_path,
        tls_ca=tls[2] if tls else None,
        env=env,
    )


def _wait_ready(gateway: Gateway, timeout: float = 30, health_timeout: float = 1) -> None:
    import ssl

    context = ssl.create_default_context(cafile=gateway.tls_ca) if gateway.tls_ca else None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gateway.process.poll() is not None:
            raise RuntimeError(f"gateway exited early:\n{gateway.log()}")
        # The banner is printed once every worker listens (with --workers N, the first
        # one up answers /health before the others have bound their sockets).
        if "  S3 endpoint:" not in gateway.log():
            time.sleep(0.05)
            continue
        try:
            with urllib.request.urlopen(
                f"{gateway.api_url}/health", timeout=health_timeout, context=context
            ) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    gateway.stop()
    raise RuntimeError(f"gateway did not become ready:\n{gateway.log()}")
