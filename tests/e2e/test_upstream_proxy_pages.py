"""A proxy in front of the store answers 200 with its own HTML page: the gateway (s3 backend)
answers 503 ``ServiceUnavailable`` with ``Retry-After`` and logs a line, whichever client
(the lean one or aiobotocore) serves the operation; never an empty listing, nothing
deleted, no upload made, no 500, no page served as the object.

The store is scripted (threads on a socket): it creates buckets, then answers every other
request with the page of the test (a well-formed one, and nginx's, which is not XML).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway
from tests.e2e.scripted_store import ScriptedStore, StoreRequest, gateway_before

WELL_FORMED = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>"
    b"<body><p>Please sign in to the proxy</p></body></html>\n"
)
NGINX = (
    b"<!DOCTYPE html>\r\n<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
PAGE = {"body": WELL_FORMED, "status": b"200 OK"}


class _Proxy(ScriptedStore):
    def answer(self, request: StoreRequest) -> bool:
        if request.headers.get("expect", "").lower() == "100-continue":  # aiobotocore's PUTs
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.read_body(request)
        segments = request.segments
        if request.method == "HEAD" and len(segments) == 1:  # HeadBucket before CreateBucket
            self.sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        elif request.method == "PUT" and len(segments) == 1 and not request.query:
            self.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")  # CreateBucket
        else:
            page = PAGE["body"]
            status, ranged = PAGE["status"], b""
            if "range" in request.headers and status == b"200 OK":  # as a portal may
                status = b"206 Partial Content"
                ranged = b"Content-Range: bytes 0-%d/%d\r\n" % (len(page) - 1, len(page))
            self.sock.sendall(
                b"HTTP/1.1 %s\r\nServer: captive-portal\r\nContent-Type: text/html\r\n"
                b"%sContent-Length: %d\r\n\r\n"
                % (status, ranged, len(page))
                + (b"" if request.method == "HEAD" else page)
            )
        return True


@pytest.fixture(scope="module", params=["lean", "aiobotocore"])
def proxied(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """The gateway in front of the proxy; ``aiobotocore``: every operation through it (the
    lean client is not used with addressing style `auto`: botocore's per-bucket rules)."""
    env = {"NFYIO_UPSTREAM_ADDRESSING_STYLE": "auto"} if request.param == "aiobotocore" else {}
    data = tmp_path_factory.mktemp("gw-proxy-pages") / "data"
    with gateway_before(_Proxy, data, extra_env=env) as (gateway, _):
        yield gateway


@pytest.mark.parametrize("page", [WELL_FORMED, NGINX], ids=["well-formed", "nginx"])
def test_a_proxys_html_page_is_no_answer_of_the_store(proxied: Gateway, page: bytes) -> None:
    PAGE.update(body=page, status=b"200 OK")
    s3 = proxied.client()
    bucket = f"proxied-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    etag = '"0123456789abcdef0123456789abcdef"'
    calls: dict[str, Callable[[], Any]] = {
        "ListBuckets": s3.list_buckets,
        "ListObjectsV2": lambda: s3.list_objects_v2(Bucket=bucket, Delimiter="/"),
        "ListObjectVersions": lambda: s3.list_object_versions(Bucket=bucket),
        "ListMultipartUploads": lambda: s3.list_multipart_uploads(Bucket=bucket),
        "CreateMultipartUpload": lambda: s3.create_multipart_upload(Bucket=bucket, Key="k"),
        "UploadPart": lambda: s3.upload_part(
            Bucket=bucket, Key="k", UploadId="u", PartNumber=1, Body=b"part"
        ),
        "ListParts": lambda: s3.list_parts(Bucket=bucket, Key="k", UploadId="u"),
        "CompleteMultipartUpload": lambda: s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId="u",
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
        ),
        "PutObject": lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"bytes"),
        "DeleteObjects": lambda: s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": "k"}]}
        ),
        "GetObjectTagging": lambda: s3.get_object_tagging(Bucket=bucket, Key="k"),
    }
    seen = len(proxied.log())
    answers: dict[str, tuple[int, str, bool]] = {}
    for name, call in calls.items():
        try:
            result = call()
        except ClientError as refused:
            response = refused.response
            answers[name] = (
                response["ResponseMetadata"]["HTTPStatusCode"],
                response["Error"]["Code"],
                response["ResponseMetadata"]["HTTPHeaders"].get("retry-after", "").isdigit(),
            )
        else:
            answers[name] = (200, repr(result)[:200], False)
    assert answers == {name: (503, "ServiceUnavailable", True) for name in calls}
    assert "Traceback" not in proxied.log()[seen:]
    log = proxied.log()  # a line per operation at most once a minute: maybe an earlier case's
    for name in calls:
        assert f"upstream {name} answered 200 with" in log, name


def test_an_object_answer_without_etag_is_no_answer_of_the_store(proxied: Gateway) -> None:
    """Before: a GetObject or HeadObject that the proxy answered 200 (or 206) with its page
    was served to the client as the object, the page as its bytes. Every S3 store's object
    answer carries the object's ETag, the page's none: 503 with ``Retry-After`` instead,
    and one warning line per operation and status however often it comes."""
    PAGE.update(body=WELL_FORMED, status=b"200 OK")
    s3 = proxied.client()
    bucket = f"proxied-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    calls: dict[str, Callable[[], Any]] = {
        "GetObject": lambda: s3.get_object(Bucket=bucket, Key="k")["Body"].read(),
        "GetObject 206": lambda: s3.get_object(Bucket=bucket, Key="k", Range="bytes=0-")[
            "Body"
        ].read(),
        "HeadObject": lambda: s3.head_object(Bucket=bucket, Key="k"),
    }
    for _ in range(3):
        for name, call in calls.items():
            with pytest.raises(ClientError) as refused:
                call()
            metadata = refused.value.response["ResponseMetadata"]
            assert metadata["HTTPStatusCode"] == 503, name
            assert metadata["HTTPHeaders"].get("retry-after", "").isdigit(), name
            if name != "HeadObject":  # a HEAD's error has no body to name its code
                assert refused.value.response["Error"]["Code"] == "ServiceUnavailable"
    log = proxied.log()
    assert "Traceback" not in log
    assert log.count("upstream GetObject answered 200 with no ETag") == 1
    assert log.count("upstream GetObject answered 206 with no ETag") == 1
    assert log.count("upstream HeadObject answered 200 with no ETag") == 1


def test_a_proxys_5xx_page_is_logged_once_without_its_body(proxied: Gateway) -> None:
    """Before: a 5xx answer that is a proxy's HTML page (nginx's 502) became 503 for the
    client but logged nothing, unlike the same page sent with 200. Now one warning line
    names the operation and the status (not the page's text), at most once a minute per
    operation and status however often the store answers so (retries included)."""
    PAGE.update(body=NGINX, status=b"502 Bad Gateway")
    s3 = proxied.client()
    bucket = f"proxied-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    calls: dict[str, Callable[[], Any]] = {
        "ListObjectsV2": lambda: s3.list_objects_v2(Bucket=bucket),
        "GetObject": lambda: s3.get_object(Bucket=bucket, Key="k"),
        "ListParts": lambda: s3.list_parts(Bucket=bucket, Key="k", UploadId="u"),
        "HeadObject": lambda: s3.head_object(Bucket=bucket, Key="k"),
    }
    seen = len(proxied.log())
    try:
        for _ in range(3):
            for name, call in calls.items():
                with pytest.raises(ClientError) as refused:
                    call()
                response = refused.value.response
                status = response["ResponseMetadata"]["HTTPStatusCode"]
                code = "ServiceUnavailable" if name != "HeadObject" else "503"  # no body
                assert (status, response["Error"]["Code"]) == (503, code), name
    finally:
        PAGE.update(body=WELL_FORMED, status=b"200 OK")
    log = proxied.log()[seen:]
    assert "Traceback" not in log
    for name in calls:
        if name != "HeadObject":
            assert log.count(f"upstream {name} answered 502 with an HTML page") == 1, name
    assert "nginx" not in log
    # Before: a HEAD's 502 has no body, so the page was neither seen nor logged. Without
    # S3's request id it is a proxy's: one line naming the status and what answered.
    head = "upstream HeadObject answered 502 without S3's request id (Server: 'captive-portal'"
    assert log.count(head) == 1
