"""Connection caps (total, per address), descriptor exhaustion and its log lines."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.security.dos_util import connect, health_ok, is_closed, read_response, start_limited


def _open(port: int, count: int) -> list[socket.socket]:
    """``count`` connections, opened 50 at a time as a flood would: a gateway at its cap
    stops accepting, its listen queue fills and each further SYN waits for the kernel's
    retransmission (1 s), which one at a time would cost the test half a minute."""
    with ThreadPoolExecutor(50) as pool:
        return list(pool.map(lambda _: connect(port), range(count)))


def _open_what_connects(port: int, count: int) -> list[socket.socket]:
    """Up to ``count`` connections, 50 attempts at a time; a gateway out of descriptors
    stops accepting, its listen queue fills and further attempts time out (2 s)."""

    def attempt(_: int) -> socket.socket | None:
        try:
            return connect(port, timeout=2)
        except OSError:
            return None

    with ThreadPoolExecutor(50) as pool:
        return [sock for sock in pool.map(attempt, range(count)) if sock is not None]


def _still_open(socks: list[socket.socket]) -> list[socket.socket]:
    return [s for s in socks if not is_closed(s)]


def _close(socks: list[socket.socket]) -> None:
    for sock in socks:
        sock.close()


def _until(check: Callable[[], bool], seconds: float = 20) -> None:
    """Poll ``check`` until it holds or ``seconds`` passed: the gateway accepts and closes
    connections when it gets to them, which on a loaded machine can take seconds."""
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.2)


def test_connections_per_address_are_capped(tmp_path: Path) -> None:
    gateway = start_limited(tmp_path / "data", {"NFYIO_SERVER_MAX_CONNECTIONS_PER_ADDRESS": "20"})
    socks: list[socket.socket] = []
    try:
        socks = _open(gateway.s3_port, 40)
        _until(lambda: len(_still_open(socks)) <= 20)  # within the 30 s head timeout
        assert len(_still_open(socks)) == 20
        # the API listener has caps of its own: the S3 flood does not lock anyone out there
        assert health_ok(gateway)
        # a refused connection is told so before it is closed
        extra = connect(gateway.s3_port)
        status, headers, _ = read_response(extra)
        extra.close()
        assert status == 503 and headers["retry-after"] == "1"
        _close(socks)
        served: list[int] = []

        def served_again() -> bool:  # refused until the gateway has seen the closes
            try:
                with connect(gateway.s3_port) as fresh:
                    fresh.sendall(b"GET / HTTP/1.1\r\nHost: gw\r\n\r\n")
                    served.append(read_response(fresh)[0])
            except ConnectionError:  # refused, and reset before its 503 was read
                served.append(503)
            return served[-1] != 503

        _until(served_again)
        assert served[-1] == 403  # served again (anonymous: AccessDenied)
    finally:
        _close(socks)
        gateway.stop()
    assert gateway.log().count("already open from that address") <= 4, "rate-limited"


def test_total_cap_reuses_idle_connections_then_refuses(tmp_path: Path) -> None:
    gateway = start_limited(
        tmp_path / "data",
        {
            "NFYIO_SERVER_MAX_CONNECTIONS": "30",
            "NFYIO_SERVER_MAX_CONNECTIONS_PER_ADDRESS": "0",
        },
    )
    idle: list[socket.socket] = []
    busy: list[socket.socket] = []
    try:
        idle = _open(gateway.api_port, 30)
        for sock in idle:  # one request each, then keep-alive idle
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: gw\r\n\r\n")
            assert read_response(sock)[0] == 200
        # New clients get in: the oldest idle connections make room for them.
        busy = _open(gateway.api_port, 30)
        for sock in busy:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: gw\r\nX-Slow: ")
        _until(lambda: not _still_open(idle))  # within the 30 s head timeout of the busy
        assert len(_still_open(busy)) == 30
        assert not _still_open(idle)
        # Nothing idle is left to reuse: the next connection is refused with a 503.
        extra = connect(gateway.api_port)
        assert read_response(extra)[0] == 503
        extra.close()
    finally:
        _close(idle + busy)
        gateway.stop()


def test_descriptor_exhaustion_logs_a_few_lines_and_recovers(tmp_path: Path) -> None:
    """With a cap above what the descriptor limit allows, accept() fails with EMFILE:
    the log gets a line and a count per interval (not one traceback per attempt), and
    the gateway serves again once the connections are gone."""
    gateway = start_limited(
        tmp_path / "data",
        {
            "NFYIO_SERVER_MAX_CONNECTIONS": "1000",
            "NFYIO_SERVER_MAX_CONNECTIONS_PER_ADDRESS": "0",
        },
        nofile=128,
    )
    socks: list[socket.socket] = []
    try:
        socks = _open_what_connects(gateway.s3_port, 200)
        assert len(socks) > 100

        def lines() -> list[str]:
            return [line for line in gateway.log().splitlines() if "Too many open files" in line]

        # A loaded machine (the whole suite on two cores) can take a while to get the
        # gateway to its next accept(): wait for the first line, then give the rest the
        # same two seconds as before.
        deadline = time.monotonic() + 20
        while not lines() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)
        found = lines()
        assert 1 <= len(found) <= 6, f"{len(found)} lines about EMFILE"
        _close(socks)
        socks = []
        deadline = time.monotonic() + 20
        while not health_ok(gateway, timeout=2) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert health_ok(gateway)
    finally:
        _close(socks)
        gateway.stop()


def test_automatic_cap_keeps_the_api_answering_under_a_flood(tmp_path: Path) -> None:
    """The default cap follows the descriptor limit: a flood of S3 connections cannot take
    the descriptors /health needs."""
    gateway = start_limited(tmp_path / "data", {}, nofile=256)
    socks: list[socket.socket] = []
    try:
        socks = _open(gateway.s3_port, 300)
        _until(lambda: len(_still_open(socks)) < 300)
        assert health_ok(gateway, timeout=10)
        assert len(_still_open(socks)) < 300
        assert "Too many open files" not in gateway.log()
    finally:
        _close(socks)
        gateway.stop()
