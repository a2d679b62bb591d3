"""A scripted upstream store (threads on a socket) and the gateway in front of it.

For what a real store does not do (a proxy's page, an answer without end, a success
before the upload arrived...). A test subclasses ``ScriptedStore`` and writes ``answer``:
it gets each request's head (``StoreRequest``) on a keep-alive connection, reads the body
itself (``read_body``: all of it, some, or none) and writes whatever it likes to
``self.sock``. ``gateway_before`` serves the store and starts the gateway (s3 backend) in
front of it.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.conftest import upstream_env
from tests.e2e.gateway_process import Gateway, start_gateway

__all__ = ["ScriptedStore", "StoreRequest", "gateway_before"]


@dataclass(frozen=True, slots=True)
class StoreRequest:
    """A request's head as the store received it."""

    method: str
    target: str
    headers: Mapping[str, str]
    """Lower-case names, values stripped."""

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]

    @property
    def segments(self) -> list[str]:
        """The path's non-empty segments: ``[bucket]`` or ``[bucket, key...]``."""
        return [s for s in self.path.split("/") if s]

    @property
    def length(self) -> int:
        return int(self.headers.get("content-length", "0"))


class ScriptedStore(socketserver.BaseRequestHandler):
    """Keep-alive connections: each request's head handed to ``answer`` until the
    gateway closes the connection, ``answer`` returns False, or the socket fails."""

    sock: socket.socket
    pending: bytes

    def handle(self) -> None:
        self.sock = self.request
        self.pending = b""
        try:
            while (request := self._head()) is not None and self.answer(request):
                pass
        except OSError:
            return  # the gateway hung up: what a refused answer ends with

    def answer(self, request: StoreRequest) -> bool:
        """Answer ``request`` on ``self.sock``; False closes the connection."""
        raise NotImplementedError

    def read_body(self, request: StoreRequest, limit: int | None = None) -> bytes:
        """The request's body (``Content-Length`` bytes, or the first ``limit``)."""
        want = request.length if limit is None else min(request.length, limit)
        while len(self.pending) < want:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.pending += chunk
        body, self.pending = self.pending[:want], self.pending[want:]
        return body

    def _head(self) -> StoreRequest | None:
        while b"\r\n\r\n" not in self.pending:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.pending += chunk
        head, _, self.pending = self.pending.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:])
        }
        return StoreRequest(method, target, headers)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def gateway_before(
    store: type[ScriptedStore],
    data_dir: Path,
    *,
    access_key: str = "upstream-access-key",
    secret_key: str = "upstream-secret-key",
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[tuple[Gateway, str]]:
    """The gateway (s3 backend) in front of ``store``: (gateway, the store's endpoint).
    Both are stopped on the way out."""
    server = _Server(("127.0.0.1", 0), store)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        env = {**upstream_env(endpoint, access_key, secret_key), **(extra_env or {})}
        gateway = start_gateway(data_dir, extra_env=env)
        try:
            yield gateway, endpoint
        finally:
            gateway.stop()
    finally:
        server.shutdown()
        server.server_close()
