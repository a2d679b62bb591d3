"""A hostile upstream store, end to end: boto3 through the gateway (s3 backend) gets S3's
``503 ServiceUnavailable``, never a 500 or a hung request, and the gateway keeps serving.

The store here answers what the gateway needs to make a bucket, then sends a HeadObject
answer whose head never ends and a listing page over the lean client's limit
(``test_upstream_answer_bounds.py`` has the limits themselves).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from backends.s3.lean import LIST_BODY_MAX
from tests.e2e.gateway_process import Gateway
from tests.e2e.scripted_store import ScriptedStore, StoreRequest, gateway_before

_NO_BUCKETS = (
    b'<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult>'
    b"<Owner><ID>owner</ID></Owner><Buckets></Buckets></ListAllMyBucketsResult>"
)
_LISTING_HEAD = b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult>'


class _HostileStore(ScriptedStore):
    """Each request answered by ``answer``."""

    def answer(self, request: StoreRequest) -> bool:
        self.read_body(request)
        method, segments, sock = request.method, request.segments, self.sock
        if method == "HEAD" and len(segments) == 2:
            sock.sendall(b"HTTP/1.1 200 OK\r\n")
            line = b"x-amz-meta-filler: " + b"f" * 1000 + b"\r\n"
            while True:  # until the gateway closes the connection
                sock.sendall(line * 16)
        if method == "GET" and "list-type=2" in request.query:
            body = _LISTING_HEAD + b" " * (LIST_BODY_MAX + 1)
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
            sock.sendall(body)
            return True
        if method == "GET" and not segments:  # ListBuckets: none (an empty body is no answer)
            sock.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(_NO_BUCKETS), _NO_BUCKETS)
            )
            return True
        if method == "HEAD" and len(segments) == 1:  # HeadBucket: none yet, create it
            sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            return True
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        return True


@pytest.fixture(scope="module")
def hostile_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    data = Path(tmp_path_factory.mktemp("hostile-store")) / "data"
    with gateway_before(_HostileStore, data) as (running, _):
        yield running


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
