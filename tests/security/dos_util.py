"""Helpers for the resource-exhaustion tests: a gateway with chosen limits, raw sockets."""

from __future__ import annotations

import os
import socket
import ssl
import time
import urllib.request
from pathlib import Path

from tests.e2e.gateway_process import (
    ROOT_KEY,
    ROOT_SECRET,
    Gateway,
    free_port,
    launch,
    serve_command,
)

ADMIN = {"Authorization": f"Bearer {ROOT_SECRET}"}


def start_limited(
    data_dir: Path,
    env: dict[str, str],
    *,
    nofile: int | None = None,
    fsize: int | None = None,
    tls: tuple[str, str, str] | None = None,
) -> Gateway:
    """``nfyio-gateway serve`` with ``env`` (``NFYIO_SERVER_*`` limits) and, when given,
    a descriptor limit of ``nofile`` and a file size limit of ``fsize`` bytes (soft and
    hard, set before the process starts: a write past it fails with EFBIG, as a full
    disk fails with ENOSPC)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    s3_port, api_port = free_port(), free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("NFYIO_", "AWS_"))}
    full_env.update(
        {
            "NFYIO_ROOT_ACCESS_KEY": ROOT_KEY,
            "NFYIO_ROOT_SECRET_KEY": ROOT_SECRET,
            "NFYIO_FSYNC": "false",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
    )
    args = serve_command(data_dir, s3_port, api_port, tls=tls)
    limits = [f"--nofile={nofile}:{nofile}"] if nofile is not None else []
    limits += [f"--fsize={fsize}:{fsize}"] if fsize is not None else []
    if limits:
        args = ["prlimit", *limits, "--", *args]
    gateway = launch(data_dir, args, full_env, s3_port, api_port, tls=tls)
    process = gateway.process
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gateway exited early:\n{gateway.log()}")
        if health_ok(gateway, timeout=1):
            return gateway
        time.sleep(0.2)
    gateway.stop()
    raise RuntimeError(f"gateway did not become ready:\n{gateway.log()}")


def health_ok(gateway: Gateway, *, timeout: float = 10) -> bool:
    context = ssl.create_default_context(cafile=gateway.tls_ca) if gateway.tls_ca else None
    try:
        with urllib.request.urlopen(
            f"{gateway.api_url}/health", timeout=timeout, context=context
        ) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def connect(port: int, *, timeout: float = 10) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def is_closed(sock: socket.socket) -> bool:
    """Whether the peer has closed (EOF or reset), without blocking; data is discarded."""
    sock.setblocking(False)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)


def try_send(sock: socket.socket, data: bytes) -> bool:
    """Send; False when the connection is gone."""
    try:
        sock.sendall(data)
    except OSError:
        return False
    return True


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length body from a blocking socket."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed after {buffer!r}")
        buffer += chunk
    head, _, body = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body
