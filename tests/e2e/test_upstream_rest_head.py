"""A /v1 download's HEAD in front of an upstream store (a scripted store that records
what it is asked): the store is asked HeadObject, never sent a GET whose body the
gateway would then throw away (a whole object's transfer, billed by stores that bill
egress, for an answer that carries only headers).
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.rest_util import ADMIN, call
from tests.e2e.scripted_store import ScriptedStore, StoreRequest, gateway_before

BODY = b"x" * (1 << 20)
ASKED: list[tuple[str, str]] = []
CREATED: list[str] = []


class _Store(ScriptedStore):
    """A bucket that exists once created, holding one object of ``BODY`` at every key."""

    def answer(self, request: StoreRequest) -> bool:
        ASKED.append((request.method, request.path))
        self.read_body(request)
        segments = request.segments
        if len(segments) == 2 and request.method in ("GET", "HEAD"):
            body = BODY if request.method == "GET" else b""
            self.sock.sendall(
                b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\nETag: "e1"\r\n'
                b"Last-Modified: Sat, 05 Dec 2026 12:00:00 GMT\r\n"
                b"Content-Type: text/plain\r\n\r\n" % len(BODY) + body
            )
            return True
        if len(segments) == 1 and request.method == "PUT":
            CREATED.append(segments[0])
        status = b"404 Not Found" if segments and segments[0] not in CREATED else b"200 OK"
        self.sock.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\n\r\n")
        return True


def test_a_download_head_asks_the_store_no_body(tmp_path: Path) -> None:
    with gateway_before(_Store, tmp_path / "data") as (gw, _):
        gw.client().create_bucket(Bucket="heads")
        ASKED.clear()
        path = "/v1/buckets/heads/objects/content?key=k"
        status, headers, body = call(gw, "HEAD", path, headers=ADMIN)
        assert (status, body, headers["Content-Length"]) == (200, b"", str(len(BODY)))
        assert headers["ETag"] == '"e1"' and headers["Content-Type"] == "text/plain"
        assert ASKED == [("HEAD", "/heads/k")], ASKED
        status, headers, body = call(gw, "GET", path, headers=ADMIN)
        assert (status, body) == (200, BODY)
