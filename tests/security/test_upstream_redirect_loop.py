"""An upstream redirect loop is bounded: a store that redirects every request costs each
client request a few upstream requests, and the client gets 503 ``ServiceUnavailable``
with ``Retry-After`` (never a 500, never the redirect).

Before: a 301 without ``x-amz-bucket-region`` made botocore's region redirector ask
HeadBucket for the region, which was redirected too, until Python's recursion limit (a
hundred requests and more for one client request, through the lean client's HeadBucket
and every aiobotocore operation); and aiohttp, under aiobotocore, followed a
``Location`` itself, ten times, to wherever it pointed. The store is scripted (threads on
a socket): it creates buckets, then redirects everything (``backends/s3/redirects.py``,
``backends/s3/aio_session.py``).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway
from tests.e2e.scripted_store import ScriptedStore, StoreRequest, gateway_before

PER_CLIENT_REQUEST = 6
"""Upstream requests one client request may cost when every answer is a redirect: at
most two per upstream call (three for a HeadBucket handed from the lean client to
aiobotocore), and at most two upstream calls for each operation below (GetObjectTagging
asks HeadObject after a 503, tagging.py). Seen: 2, 4 for GetObjectTagging, 5 for a
HeadBucket. Before: 216 for a HeadBucket, 20 for a 307 that
aiohttp followed."""

REDIRECTS: dict[str, Callable[[StoreRequest], bytes]] = {
    "301 naming no region": lambda request: b"HTTP/1.1 301 Moved Permanently\r\n",
    "301 naming another region, again": (
        lambda request: b"HTTP/1.1 301 Moved Permanently\r\nx-amz-bucket-region: eu-west-3\r\n"
    ),
    # back to itself: aiohttp followed it ten times per request
    "307 to its own Location": lambda request: (
        b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://%s%s\r\n"
        % (request.headers["host"].encode(), request.target.encode())
    ),
}
_MODE: dict[str, str] = {"redirect": ""}
_SEEN: list[str] = []
_LOCK = threading.Lock()


class _Redirecting(ScriptedStore):
    def answer(self, request: StoreRequest) -> bool:
        if request.headers.get("expect", "").lower() == "100-continue":  # aiobotocore's PUTs
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.read_body(request)
        with _LOCK:
            _SEEN.append(f"{request.method} {request.target}")
        redirect = _MODE["redirect"]
        if not redirect:  # the buckets' creation: HeadBucket (404), CreateBucket
            single = len(request.segments) == 1 and not request.query
            status = b"404 Not Found" if request.method == "HEAD" and single else b"200 OK"
            self.sock.sendall(b"HTTP/1.1 %s\r\nContent-Length: 0\r\n\r\n" % status)
            return True
        body = (
            b""
            if request.method == "HEAD"
            else (b"<Error><Code>PermanentRedirect</Code><Message>moved</Message></Error>")
        )
        self.sock.sendall(
            REDIRECTS[redirect](request)
            + b"x-amz-request-id: R\r\nContent-Type: application/xml\r\n"
            + b"Content-Length: %d\r\n\r\n" % len(body)
            + body
        )
        return True


@pytest.fixture(scope="module", params=["lean", "aiobotocore"])
def redirected(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """The gateway in front of the store; ``aiobotocore``: every operation through it
    (addressing style `auto` keeps the lean client out)."""
    env = {"NFYIO_UPSTREAM_ADDRESSING_STYLE": "auto"} if request.param == "aiobotocore" else {}
    data = tmp_path_factory.mktemp("gw-redirects") / "data"
    with gateway_before(_Redirecting, data, extra_env=env) as (gateway, _):
        yield gateway


@pytest.mark.parametrize("redirect", list(REDIRECTS))
def test_an_upstream_redirect_loop_is_bounded(redirected: Gateway, redirect: str) -> None:
    s3 = redirected.client()
    bucket = f"moved-{uuid.uuid4().hex[:8]}"
    _MODE["redirect"] = ""
    s3.create_bucket(Bucket=bucket)
    calls: dict[str, Callable[[], Any]] = {
        "HeadBucket": lambda: s3.head_bucket(Bucket=bucket),
        "HeadObject": lambda: s3.head_object(Bucket=bucket, Key="k"),
        "GetObject": lambda: s3.get_object(Bucket=bucket, Key="k")["Body"].read(),
        "PutObject": lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"bytes"),
        "ListObjectsV2": lambda: s3.list_objects_v2(Bucket=bucket),
        "ListObjectVersions": lambda: s3.list_object_versions(Bucket=bucket),
        "GetObjectTagging": lambda: s3.get_object_tagging(Bucket=bucket, Key="k"),
        "DeleteObject": lambda: s3.delete_object(Bucket=bucket, Key="k"),
        "CreateMultipartUpload": lambda: s3.create_multipart_upload(Bucket=bucket, Key="k"),
    }
    seen = len(redirected.log())
    _MODE["redirect"] = redirect
    try:
        for name, call in calls.items():
            with _LOCK:
                before = len(_SEEN)
            with pytest.raises(ClientError) as refused:
                call()
            with _LOCK:
                sent = _SEEN[before:]
            assert 1 <= len(sent) <= PER_CLIENT_REQUEST, (name, sent)
            response = refused.value.response
            metadata = response["ResponseMetadata"]
            assert metadata["HTTPStatusCode"] == 503, (name, response)
            assert metadata["HTTPHeaders"].get("retry-after") == "5", name
            if "Error" in response and name not in ("HeadBucket", "HeadObject"):
                assert response["Error"]["Code"] == "ServiceUnavailable", name
    finally:
        _MODE["redirect"] = ""
    log = redirected.log()[seen:]
    assert "Traceback" not in log
    assert "RecursionError" not in log
