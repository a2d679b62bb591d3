"""Slow clients cannot hold connections: header, body, keep-alive and send timeouts.

Each test starts a real gateway with short timeouts (the mechanism is the same as with
the defaults) and drives it through raw sockets. Assertions are outcomes (the
connection was closed, the upload completed) with generous deadlines, never latencies.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.e2e.gateway_process import Gateway
from tests.security.dos_util import (
    ADMIN,
    connect,
    health_ok,
    is_closed,
    read_response,
    start_limited,
    try_send,
)

TOKEN = ADMIN["Authorization"].encode()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    running = start_limited(
        Path(tmp_path_factory.mktemp("slow")) / "data",
        {
            "NFYIO_SERVER_HEADER_TIMEOUT": "2",
            "NFYIO_SERVER_BODY_TIMEOUT": "2",
            "NFYIO_SERVER_BODY_MIN_RATE": "1000",
            "NFYIO_SERVER_KEEPALIVE_TIMEOUT": "2",
            "NFYIO_SERVER_SEND_TIMEOUT": "2",
        },
    )
    yield running
    running.stop()


def _put_head(bucket: str, key: str, length: int) -> bytes:
    return (
        f"PUT /{bucket}/{key} HTTP/1.1\r\nHost: gw\r\nContent-Length: {length}\r\n".encode()
        + b"Authorization: "
        + TOKEN
        + b"\r\n\r\n"
    )


@pytest.fixture(scope="module")
def bucket(gateway: Gateway) -> str:
    gateway.client().create_bucket(Bucket="slow-bkt")
    return "slow-bkt"


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    directory = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    paths = (directory / "cert.pem", directory / "key.pem", directory / "ca.pem")
    cert.private_key_and_cert_chain_pem.write_to_path(str(paths[0]))
    cert.private_key_pem.write_to_path(str(paths[1]))
    ca.cert_pem.write_to_path(str(paths[2]))
    return str(paths[0]), str(paths[1]), str(paths[2])


def _wait_all_closed(socks: list[socket.socket], seconds: float, drip: bytes | None) -> int:
    """Drip ``drip`` into every open socket every half second until all are closed or
    ``seconds`` passed; return how many are still open."""
    deadline = time.monotonic() + seconds
    alive = list(socks)
    while alive and time.monotonic() < deadline:
        time.sleep(0.5)
        alive = [s for s in alive if (drip is None or try_send(s, drip)) and not is_closed(s)]
    return len(alive)


def test_slow_request_heads_are_cut_off_on_both_listeners(gateway: Gateway) -> None:
    socks = [connect(port) for port in (gateway.s3_port, gateway.api_port) for _ in range(40)]
    try:
        for sock in socks:
            try_send(sock, b"GET /health HTTP/1.1\r\nHost: gw\r\nX-Slow: ")
        # A byte every half second would keep them open forever without a head timeout.
        still_open = _wait_all_closed(socks, 20, drip=b"a")
        assert still_open == 0, f"{still_open} of {len(socks)} slow connections still open"
        assert health_ok(gateway)
    finally:
        for sock in socks:
            sock.close()
    log = gateway.log()
    closed_lines = [line for line in log.splitlines() if "request head not complete" in line]
    assert 0 < len(closed_lines) <= 8, "closing slow clients is logged, rate-limited"


def test_silent_new_connection_is_closed(gateway: Gateway) -> None:
    with connect(gateway.api_port) as sock:
        assert _wait_all_closed([sock], 15, drip=None) == 0


def test_idle_keep_alive_connection_is_closed(gateway: Gateway) -> None:
    with connect(gateway.api_port) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: gw\r\n\r\n")
        status, headers, _ = read_response(sock)
        assert status == 200 and headers.get("connection", "").lower() != "close"
        assert _wait_all_closed([sock], 15, drip=None) == 0


def test_stalled_and_dribbling_bodies_are_cut_off(gateway: Gateway, bucket: str) -> None:
    stalled, dribbling = connect(gateway.s3_port), connect(gateway.s3_port)
    try:
        stalled.sendall(_put_head(bucket, "stalled", 1_000_000) + b"x" * 100)
        dribbling.sendall(_put_head(bucket, "dribble", 1_000_000))
        # one byte every half second: never idle, but far below 1000 bytes/s
        assert _wait_all_closed([dribbling], 20, drip=b"x") == 0
        assert _wait_all_closed([stalled], 10, drip=None) == 0
    finally:
        stalled.close()
        dribbling.close()
    client = gateway.client()
    for key in ("stalled", "dribble"):
        with pytest.raises(client.exceptions.ClientError):
            client.head_object(Bucket=bucket, Key=key)


def test_slow_but_steady_upload_outlasts_every_timeout(gateway: Gateway, bucket: str) -> None:
    """The body timeout is idle time and a minimum rate, never a total: a 2 MiB upload at
    ~200 KiB/s lasts several body_timeout windows and completes."""
    size, piece = 2 * 1024 * 1024, 32 * 1024
    with connect(gateway.s3_port, timeout=60) as sock:
        sock.sendall(_put_head(bucket, "steady", size))
        sent = 0
        started = time.monotonic()
        while sent < size:
            sock.sendall(b"s" * piece)
            sent += piece
            time.sleep(0.15)
        assert time.monotonic() - started > 3 * 2, "the upload must outlast the timeouts"
        status, _, body = read_response(sock)
        assert status == 200, body
    head = gateway.client().head_object(Bucket=bucket, Key="steady")
    assert head["ContentLength"] == size


def test_response_never_read_is_cut_off(gateway: Gateway, bucket: str) -> None:
    size = 16 * 1024 * 1024
    gateway.client().put_object(Bucket=bucket, Key="big", Body=b"b" * size)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", gateway.s3_port))
    try:
        sock.sendall(
            f"GET /{bucket}/big HTTP/1.1\r\nHost: gw\r\n".encode()
            + b"Authorization: "
            + TOKEN
            + b"\r\n\r\n"
        )
        time.sleep(8)  # read nothing: the send buffer stays full for > send_timeout
        received = 0
        try:
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
        except OSError:
            pass
        assert received < size, "the gateway waited for a client that does not read"
    finally:
        sock.close()
    # The client stopped reading: that is the client gone, never the gateway's failure
    # (sendfile's timeout used to be logged as an internal error with a status of 500).
    deadline = time.monotonic() + 30
    while "client went away during GET" not in gateway.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = gateway.log()
    assert "response not read for 2 s" in log
    assert "internal error" not in log and "Traceback" not in log
    assert "status=500" not in log


def test_tls_handshake_that_never_completes_is_closed(
    tmp_path: Path, tls_files: tuple[str, str, str]
) -> None:
    gateway = start_limited(tmp_path / "data", {"NFYIO_SERVER_HEADER_TIMEOUT": "2"}, tls=tls_files)
    try:
        silent = connect(gateway.s3_port)
        half = connect(gateway.api_port)
        half.sendall(b"\x16\x03\x01\x00\xff")  # a ClientHello record header, then nothing
        try:
            assert _wait_all_closed([silent, half], 15, drip=None) == 0
        finally:
            silent.close()
            half.close()
        context = ssl.create_default_context(cafile=tls_files[2])
        with (
            connect(gateway.api_port) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            tls.sendall(b"GET /health HTTP/1.1\r\nHost: gw\r\nX-Slow: ")
            assert _wait_all_closed([tls], 15, drip=b"a") == 0
        assert health_ok(gateway)
    finally:
        gateway.stop()
