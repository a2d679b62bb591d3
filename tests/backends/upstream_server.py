"""A moto S3 server in a subprocess, standing in for an upstream S3-compatible store.

A subprocess rather than ``ThreadedMotoServer``: moto keeps object bytes in its own
memory, which would otherwise show up in the memory measurements of our own tests.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

__all__ = ["MOTO_CONDITIONAL_WRITES", "UpstreamServer", "free_port", "start_moto"]

MOTO_CONDITIONAL_WRITES = ("PutObject", "CompleteMultipartUpload:If-None-Match", "DeleteObject")
"""What moto 5 decides atomically: PutObject's If-None-Match and If-Match,
CompleteMultipartUpload's If-None-Match and DeleteObject's If-Match (with an ETag; ``*`` it
compares literally, so the backend sends the ETag a HEAD read). It ignores
CompleteMultipartUpload's If-Match, both on CopyObject and the ``<ETag>`` of DeleteObjects
keys (docs/upstream-backend.md): those answer NotImplemented, or go one by one."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of the call)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class UpstreamServer:
    endpoint_url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_moto(timeout: float = 30.0) -> UpstreamServer:
    """Start ``python -m moto.server`` on a free port and wait until it answers."""
    port = free_port()
    env = dict(os.environ)
    # moto only accepts these credentials shapes; it never verifies signatures.
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                break
        except urllib.error.HTTPError:
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.05)
    return UpstreamServer(endpoint_url=url, process=process)
