"""No file descriptor left (``ulimit -n`` reached, with ``server.max_connections`` set
past what the limit affords): a request that needs a file answers 503
``ServiceUnavailable`` with a Retry-After, as a full disk does, never a 500 with a
traceback per request; the gateway serves again as soon as descriptors are free.
"""

from __future__ import annotations

import http.client
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.gateway_process import Gateway
from tests.security.dos_util import ADMIN, start_limited

NOFILE = 160
BIG = 8 * 1024 * 1024
"""Far more than a socket buffer holds: a GET whose client reads nothing keeps its data
file open."""


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    running = start_limited(
        tmp_path / "data", {"NFYIO_SERVER_MAX_CONNECTIONS": "2000"}, nofile=NOFILE
    )
    yield running
    running.stop()


def _connect(gateway: Gateway) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("127.0.0.1", gateway.s3_port, timeout=10)
    conn.connect()
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return conn


def _ask(
    conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None
) -> tuple[int, str, str | None]:
    """Status, body and Retry-After of a whole answer."""
    conn.request(method, path, body=body, headers=ADMIN)
    response = conn.getresponse()
    return (
        response.status,
        response.read().decode(errors="replace"),
        response.headers["Retry-After"],
    )


def test_no_descriptor_left_is_503_and_passes(gateway: Gateway) -> None:
    s3 = gateway.client()
    s3.create_bucket(Bucket="fds")
    s3.put_object(Bucket="fds", Key="big", Body=os.urandom(BIG))
    s3.put_object(Bucket="fds", Key="small", Body=b"in the database")
    probe = _connect(gateway)  # accepted while descriptors remain
    assert _ask(probe, "HEAD", "/fds/big")[0] == 200
    held: list[http.client.HTTPConnection] = []
    try:
        # GETs whose bodies nobody reads, each holding a socket and a data file, until
        # one is refused or not even accepted
        for _ in range(NOFILE):
            conn = http.client.HTTPConnection("127.0.0.1", gateway.s3_port, timeout=10)
            held.append(conn)
            try:
                conn.connect()
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                conn.request("GET", "/fds/big", headers=ADMIN)
                status = conn.getresponse().status
            except TimeoutError:
                break  # not accepted: no descriptor for its socket
            if status != 200:
                assert status == 503
                break
        else:
            raise AssertionError(f"{NOFILE} GETs held open under a limit of {NOFILE}")
        status, body, retry_after = _ask(probe, "GET", "/fds/big")
        assert (status, retry_after) == (503, "1"), body
        assert "<Code>ServiceUnavailable</Code>" in body
        # an inline object needs no file
        assert _ask(probe, "GET", "/fds/small")[:2] == (200, "in the database")
        # a PUT's temp file (the answer may close the connection: last)
        status, body, retry_after = _ask(probe, "PUT", "/fds/new", os.urandom(300_000))
        assert (status, retry_after) == (503, "1"), body
    finally:
        for conn in held:
            conn.close()
        probe.close()
    # served again once the held connections are closed (the server sees them go)
    for _ in range(100):
        try:
            again = _ask(_connect(gateway), "HEAD", "/fds/new")[0]
        except TimeoutError:
            continue
        if again != 503:
            break
        time.sleep(0.1)
    assert again == 404  # the refused PUT left nothing
    assert s3.get_object(Bucket="fds", Key="big")["ContentLength"] == BIG
    log = gateway.log()
    assert "status=500" not in log
    assert log.count("no file descriptor left") <= 2, "one line per interval"
