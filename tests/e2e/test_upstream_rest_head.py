"""A /v1 download's HEAD in front of an upstream store (a scripted store that records
what it is asked): the store is asked HeadObject, never sent a GET whose body the
gateway would then throw away (a whole object's transfer, billed by stores that bill
egress, for an answer that carries only headers).
"""

from __future__ import annotations

import json
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


_LISTING = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    b"<Owner><ID>o</ID></Owner><Buckets>%s</Buckets></ListAllMyBucketsResult>"
)
_ONE_BUCKET = (
    b"<Bucket><Name>%s</Name><CreationDate>2026-12-05T12:00:00.000Z</CreationDate></Bucket>"
)
_EMPTY_PAGE = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    b"<Name>%s</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys>"
    b"<IsTruncated>false</IsTruncated></ListBucketResult>"
)
_VERSIONING = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>'
)


class _Buckets(ScriptedStore):
    """Three buckets, each empty; every request recorded (method, path, query)."""

    NAMES = (b"heads-a", b"heads-b", b"heads-c")

    def answer(self, request: StoreRequest) -> bool:
        ASKED.append((request.method, request.target))
        self.read_body(request)
        segments = request.segments
        if not segments:
            body = _LISTING % b"".join(_ONE_BUCKET % name for name in self.NAMES)
        elif "versioning" in request.query:
            body = _VERSIONING
        else:
            body = _EMPTY_PAGE % segments[0].encode()
        self.sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body
        )
        return True


def test_a_bucket_listing_head_asks_the_store_for_the_list_only(tmp_path: Path) -> None:
    """HEAD /v1/buckets (with or without ?stats=true) needs the status, which the caller's
    checks and the bucket list decide: the store is asked ListBuckets once, never a
    bucket's versioning or a listing to count its objects; the GET still counts."""
    with gateway_before(_Buckets, tmp_path / "data") as (gw, _):
        for query in ("?stats=true", ""):
            ASKED.clear()
            status, headers, body = call(gw, "HEAD", "/v1/buckets" + query, headers=ADMIN)
            assert (status, body) == (200, b""), status
            assert headers["Content-Type"] == "application/json; charset=utf-8"
            assert [(m, target.partition("?")[0]) for m, target in ASKED] == [("GET", "/")], ASKED
            # The length of a body that was never made is not claimed (RFC 9110 9.3.2).
            assert "Content-Length" not in headers, headers
        ASKED.clear()
        status, _, body = call(gw, "GET", "/v1/buckets?stats=true", headers=ADMIN)
        assert status == 200, body
        listed = json.loads(body)["buckets"]
        assert [(b["name"], b["object_count"]) for b in listed] == [
            ("heads-a", 0),
            ("heads-b", 0),
            ("heads-c", 0),
        ]
        assert len(ASKED) > 1, ASKED  # the GET still asks what the counts need
        status, _, _ = call(gw, "HEAD", "/v1/buckets?stats=maybe", headers=ADMIN)
        assert status == 400  # the query is checked as the GET's
