"""A hostile upstream store, end to end: boto3 through the gateway (s3 backend) gets S3's
``503 ServiceUnavailable``, never a 500 or a hung request, and the gateway keeps serving.

The store here answers what the gateway needs to make a bucket, then sends a HeadObject
answer whose head never ends and a listing page over the lean client's limit
(``test_upstream_answer_bounds.py`` has the limits themselves).
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from backends.s3.lean import LIST_BODY_MAX
from tests.e2e.conftest import upstream_env
from tests.e2e.gateway_process import Gateway, start_gateway

_LISTING_HEAD = b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult>'


class _HostileStore(socketserver.BaseRequestHandler):
    """One keep-alive connection: each request answered by ``_answer``."""

    def handle(self) -> None:
        sock: socket.socket = self.request
        pending = b""
        try:
            while True:
                while b"\r\n\r\n" not in pending:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    pending += chunk
                head, _, pending = pending.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                while len(pending) < length:
                    pending += sock.recv(65536)
                pending = pending[length:]
                method, target, _ = lines[0].split(" ")
                self._answer(sock, method, target)
        except OSError:
            return  # the gateway hung up: what a refused answer ends with

    def _answer(self, sock: socket.socket, method: str, target: str) -> None:
        path, _, query = target.partition("?")
        segments = [s for s in path.split("/") if s]
        if method == "HEAD" and len(segments) == 2:
            sock.sendall(b"HTTP/1.1 200 OK\r\n")
            line = b"x-amz-meta-filler: " + b"f" * 1000 + b"\r\n"
            while True:  # until the gateway closes the connection
                sock.sendall(line * 16)
        if method == "GET" and "list-type=2" in query:
            body = _LISTING_HEAD + b" " * (LIST_BODY_MAX + 1)
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
            sock.sendall(body)
            return
        if method == "HEAD" and len(segments) == 1:  # HeadBucket: none yet, create it
            sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            return
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture(scope="module")
def hostile_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    server = _Server(("127.0.0.1", 0), _HostileStore)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    data = Path(tmp_path_factory.mktemp("hostile-store")) / "data"
    running = start_gateway(data, extra_env=upstream_env(endpoint))
    try:
        yield running
    finally:
        running.stop()
        server.shutdown()
        server.server_close()


def test_boto3_gets_503_for_a_head_without_end_and_for_an_oversized_page(
    hostile_gateway: Gateway,
) -> None:
    s3 = hostile_gateway.client(read_timeout=30)  # one attempt: each refusal seen once
    s3.create_bucket(Bucket="hostile")
    for call, params in (
        (s3.head_object, {"Bucket": "hostile", "Key": "k"}),
        (s3.list_objects_v2, {"Bucket": "hostile"}),
    ):
        with pytest.raises(ClientError) as refused:
            call(**params)
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    # the gateway is still there (this store lists no buckets), without a traceback
    assert s3.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
    log = hostile_gateway.log()
    assert "Traceback" not in log
