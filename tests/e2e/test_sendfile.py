"""GET bodies sent with sendfile (``server.sendfile``, on by default: plain objects above
64 KiB over plain HTTP) carry exactly the object's bytes, whole and ranged, across the
sendfile pieces; over TLS and for encrypted objects the streamed path answers the same;
a data file that lost bytes ends the response short (the connection closes), never as a
well-formed body."""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.s3.render import SMALL_BODY
from gateway.s3.sendfile import PIECE
from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.s3util import unique
from tests.page_cache import evict

SIZES = (SMALL_BODY + 1, PIECE + 3, 2 * PIECE + 5)


SENDFILE_OFF = {"NFYIO_SERVER_SENDFILE": "false"}


@pytest.fixture(scope="module")
def sendfile_gateways(
    tmp_path_factory: pytest.TempPathFactory, tls_files: tuple[str, str, str]
) -> Iterator[dict[str, Gateway]]:
    """The filesystem backend over HTTPS (sendfile on, as by default, but streamed: TLS
    needs the bytes), and over plain HTTP with sendfile turned off (streamed)."""
    base = tmp_path_factory.mktemp("sendfile")
    off = start_gateway(base / "off" / "data", extra_env=SENDFILE_OFF)
    try:
        https = start_gateway(base / "https" / "data", tls=tls_files)
        try:
            yield {"off": off, "https": https}
        finally:
            https.stop()
    finally:
        off.stop()


@pytest.fixture(params=["http", "https", "off"])
def local_gateway(request: pytest.FixtureRequest) -> Gateway:
    """Sendfile on (the default: the session's gateway over plain HTTP; and HTTPS,
    where it streams), and turned off."""
    if request.param == "http":
        gw: Gateway = request.getfixturevalue("gateway")
        return gw
    gateways: dict[str, Gateway] = request.getfixturevalue("sendfile_gateways")
    return gateways[request.param]


def _ranges(size: int) -> list[tuple[int, int]]:
    """Inclusive (first, last) byte ranges: inside the first piece, across piece
    boundaries, the last byte, and long tails."""
    edge = min(PIECE, size - 1)
    return [
        (0, 0),
        (1, min(SMALL_BODY + 7, size - 1)),
        (edge - 10, size - 1),
        (size - 1, size - 1),
        (size // 3, size - 2),
    ]


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "sse-s3"])
def test_bodies_whole_and_ranged_are_the_object(local_gateway: Gateway, encrypted: bool) -> None:
    s3 = local_gateway.client()
    bucket = unique("sendfile")
    s3.create_bucket(Bucket=bucket)
    extra: dict[str, Any] = {"ServerSideEncryption": "AES256"} if encrypted else {}
    for size in SIZES:
        data = os.urandom(size)
        key = f"obj-{size}"
        s3.put_object(Bucket=bucket, Key=key, Body=data, **extra)
        got = s3.get_object(Bucket=bucket, Key=key)
        assert got["ContentLength"] == size
        assert hashlib.sha256(got["Body"].read()).digest() == hashlib.sha256(data).digest()
        for first, last in _ranges(size):
            part = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={first}-{last}")
            assert part["ContentRange"] == f"bytes {first}-{last}/{size}"
            assert part["Body"].read() == data[first : last + 1]
        tail = s3.get_object(Bucket=bucket, Key=key, Range="bytes=-70000")
        assert tail["Body"].read() == data[-70000:]


def test_keep_alive_connection_serves_requests_after_a_sendfile_body(gateway: Gateway) -> None:
    """The connection is usable after a body that bypassed aiohttp's writer."""
    s3 = gateway.client()
    bucket = unique("sendfile")
    s3.create_bucket(Bucket=bucket)
    data = os.urandom(PIECE + 1)
    s3.put_object(Bucket=bucket, Key="big", Body=data)
    s3.put_object(Bucket=bucket, Key="small", Body=b"small")
    for _ in range(3):  # boto3 keeps the connection open between these
        assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == data
        assert s3.get_object(Bucket=bucket, Key="small")["Body"].read() == b"small"


@pytest.fixture
def own_gateway(tmp_path: Path) -> Iterator[Gateway]:
    gw = start_gateway(tmp_path / "data")
    try:
        yield gw
    finally:
        gw.stop()


def test_a_data_file_shorter_than_recorded_ends_the_response_short(own_gateway: Gateway) -> None:
    s3 = own_gateway.client()
    bucket = unique("sendfile")
    s3.create_bucket(Bucket=bucket)
    size = 2 * PIECE
    s3.put_object(Bucket=bucket, Key="k", Body=os.urandom(size))
    files = [p for p in own_gateway.data_dir.rglob("*") if p.is_file() and p.stat().st_size == size]
    assert len(files) == 1, files
    os.truncate(files[0], PIECE + 100)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    path = url[len(own_gateway.s3_url) :]
    conn = http.client.HTTPConnection("127.0.0.1", own_gateway.s3_port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Length") == str(size)
        with pytest.raises(http.client.IncompleteRead) as short:
            response.read()
        assert len(short.value.partial) == PIECE + 100
    finally:
        conn.close()
    # The gateway goes on serving.
    assert s3.head_object(Bucket=bucket, Key="k")["ContentLength"] == size


def test_an_object_evicted_from_the_page_cache_is_sent_whole_and_ranged(
    own_gateway: Gateway,
) -> None:
    """Its pieces are read into the cache on the backend's threads before each sendfile
    (``ObjectRead.cache``): the bytes are the object's all the same."""
    s3 = own_gateway.client()
    bucket = unique("sendfile")
    s3.create_bucket(Bucket=bucket)
    size = 3 * PIECE + 5
    data = os.urandom(size)
    s3.put_object(Bucket=bucket, Key="k", Body=data)
    (path,) = [
        p for p in own_gateway.data_dir.rglob("*") if p.is_file() and p.stat().st_size == size
    ]

    evict(path)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == data
    for first, last in _ranges(size):
        evict(path)
        part = s3.get_object(Bucket=bucket, Key="k", Range=f"bytes={first}-{last}")
        assert part["Body"].read() == data[first : last + 1]


def test_clients_leaving_mid_body_are_one_info_line_each(own_gateway: Gateway) -> None:
    """Clients that read a few KiB of a large body (whole or ranged) and leave, some with
    a reset (``SO_LINGER`` 0), some with a plain close: each is a client gone (499, one
    INFO line), never a traceback. asyncio reports such a client in three forms during a
    sendfile (a ``BrokenPipeError`` mid-piece, a ``SendfileNotAvailableError`` when a
    piece's first call fails, a ``RuntimeError`` on a transport already closing); the old
    code logged each as an ERROR with a traceback, most of them twice."""
    s3 = own_gateway.client()
    bucket = unique("sendfile")
    s3.create_bucket(Bucket=bucket)
    size = 12 * PIECE
    s3.put_object(Bucket=bucket, Key="k", Body=os.urandom(size))
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    path = url[len(own_gateway.s3_url) :]
    ranges = ["", "bytes=100-", f"bytes={PIECE - 5}-{8 * PIECE}", f"bytes=-{5 * PIECE}"]
    for round_ in range(48):
        with socket.create_connection(("127.0.0.1", own_gateway.s3_port), timeout=30) as sock:
            if round_ % 2 == 0:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{own_gateway.s3_port}\r\n"
            if ranges[round_ % 4]:
                head += f"Range: {ranges[round_ % 4]}\r\n"
            sock.sendall(f"{head}\r\n".encode())
            wanted, got = (1, 4096, 65536)[round_ % 3], 0
            while got < wanted:
                chunk = sock.recv(wanted - got)
                assert chunk, "the gateway closed before the body started"
                got += len(chunk)
    # The gateway goes on serving, and every GET is counted as a client gone or served.
    assert s3.get_object(Bucket=bucket, Key="k", Range="bytes=0-9")["ContentLength"] == 10
    own_gateway.stop()
    log = own_gateway.log()
    assert "Traceback" not in log and " ERROR " not in log, log
    gets = [line for line in log.splitlines() if "op=GetObject" in line]
    assert len(gets) == 49, log
    assert any("status=499" in line for line in gets), log
