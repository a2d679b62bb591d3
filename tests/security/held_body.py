"""A request whose body is held back while the test changes something.

The gateway decides a request at its head; its body may take a minute. A test sends the
head with ``Expect: 100-continue``, waits for the gateway's ``100 Continue`` (the
decision is made: the body may come), changes the world meanwhile (deletes the bucket,
writes the key again, revokes a grant), then sends the body and reads the answer::

    with held_body(gw.s3_port, "PUT", target, signed_as(gw, tenant, "PUT", target, body),
                   body) as held:
        ...  # meanwhile
        answer = held.send()
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import RawResponse, read_head, sign
from tests.e2e.tenants import Tenant


def signed_as(
    gw: Gateway,
    sender: Tenant,
    method: str,
    target: str,
    body: bytes,
    headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The headers of an S3 request of ``sender`` (SigV4, the body's SHA-256 signed),
    ``headers`` among them."""
    return sign(
        gw,
        method,
        target,
        body=body,
        headers=headers,
        access_key=sender.key_id,
        secret=sender.secret,
    )


@dataclass
class HeldBody:
    """A request whose head was sent and whose body the gateway asked for."""

    sock: socket.socket
    body: bytes

    def send(self) -> RawResponse:
        """Send the body; the final answer."""
        self.sock.sendall(self.body)
        response = http.client.HTTPResponse(self.sock)
        response.begin()
        data = response.read()
        return RawResponse(response.status, dict(response.getheaders()), data)


@contextmanager
def held_body(
    port: int, method: str, target: str, headers: Mapping[str, str], body: bytes
) -> Iterator[HeldBody]:
    """Send the head of ``method target`` to ``port`` with ``headers`` (``Host``,
    ``Expect: 100-continue``, ``Content-Length`` and ``Connection: close`` added) and
    wait until the gateway answers ``100 Continue``; then the body waits for ``send``."""
    lines = [f"{method} {target} HTTP/1.1"]
    if not any(name.lower() == "host" for name in headers):
        lines.append(f"Host: 127.0.0.1:{port}")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += ["Expect: 100-continue", f"Content-Length: {len(body)}", "Connection: close"]
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall("\r\n".join([*lines, "", ""]).encode("latin-1"))
        interim = read_head(sock)
        assert interim.startswith(b"HTTP/1.1 100"), interim  # decided: the body may come
        yield HeldBody(sock, body)
