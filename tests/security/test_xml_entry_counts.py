"""Documents with a bounded number of entries are refused from the count, unread.

DeleteObjects names at most 1,000 keys (S3: ``MalformedXML``) in up to 8 MB (room for
1,000 escaped keys of 1,024 bytes), CompleteMultipartUpload at most 10,000 parts
(``TooManyParts``) in up to 5,000 KiB: room for 280,000 and 100,000 tiny entries. Each
entry was read (key, version, conditions; part number, ETag, checksums) before the count
refused the request: seconds of one worker's event loop per request, any caller's to
send. The count now comes first, so no entry of such a document is read.

Parsing such a document at all cost about 110 bytes of memory per element: 8 MB of
``<a/>`` made a tree of over 100 MB per request in flight. A document with more elements
than its schema allows is now refused from a count of its ``<`` bytes, before any tree
is built.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.s3.completion import MAX_PARTS
from gateway.s3.multipart import MAX_COMPLETION_DOCUMENT
from gateway.s3.objects import MAX_DELETE_DOCUMENT, MAX_DELETE_KEYS
from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import raw_request, sign


def _delete(gw: Gateway, bucket: str, document: bytes) -> tuple[int, str | None]:
    return _post(gw, f"/{bucket}?delete", document)


def _post(gw: Gateway, path: str, document: bytes) -> tuple[int, str | None]:
    md5 = {"Content-MD5": base64.b64encode(hashlib.md5(document).digest()).decode()}
    reply = raw_request(
        gw, "POST", path, body=document, headers=sign(gw, "POST", path, body=document, headers=md5)
    )
    return reply.status, reply.error_code()


def test_more_than_1000_keys_is_malformed_and_deletes_nothing(gateway: Gateway, s3: Any) -> None:
    bucket = f"sec-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k0", Body=b"kept")
    entries = b"".join(b"<Object><Key>k%d</Key></Object>" % i for i in range(MAX_DELETE_KEYS + 1))
    assert _delete(gateway, bucket, b"<Delete>" + entries + b"</Delete>") == (400, "MalformedXML")
    assert s3.get_object(Bucket=bucket, Key="k0")["Body"].read() == b"kept"


def test_the_count_is_decided_before_any_entry_is_read(gateway: Gateway, s3: Any) -> None:
    """A full document of tiny entries, the last of which carries a condition the gateway
    refuses (``<Size>``, ``NotImplemented``) when it reads that entry: the answer is the
    count's, so that entry, and every one before it, was never read."""
    bucket = f"sec-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=bucket)
    unit = b"<Object><Key>a</Key></Object>"
    last = b"<Object><Key>a</Key><Size>1</Size></Object>"
    count = (MAX_DELETE_DOCUMENT - 64) // len(unit)
    document = b"<Delete>" + unit * count + last + b"</Delete>"
    assert len(document) <= MAX_DELETE_DOCUMENT
    assert _delete(gateway, bucket, document) == (400, "MalformedXML")
    few = b"<Delete>" + unit + last + b"</Delete>"
    assert _delete(gateway, bucket, few) == (501, "NotImplemented")
    assert "Traceback" not in gateway.log()


def test_more_than_10000_parts_are_refused_before_any_part_is_read(
    gateway: Gateway, s3: Any
) -> None:
    """As above for a completion: its last part's number is not a number, which the
    reading of that part answers ``MalformedXML``; the count answers first."""
    bucket = f"sec-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=bucket)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    path = f"/{bucket}/k?uploadId={upload}"
    unit = b"<Part><PartNumber>1</PartNumber><ETag>e</ETag></Part>"
    last = b"<Part><PartNumber>x</PartNumber><ETag>e</ETag></Part>"
    count = (MAX_COMPLETION_DOCUMENT - 128) // len(unit)
    assert count > MAX_PARTS
    document = b"<CompleteMultipartUpload>" + unit * count + last + b"</CompleteMultipartUpload>"
    assert len(document) <= MAX_COMPLETION_DOCUMENT
    assert _post(gateway, path, document) == (400, "TooManyParts")
    few = b"<CompleteMultipartUpload>" + unit + last + b"</CompleteMultipartUpload>"
    assert _post(gateway, path, few) == (400, "MalformedXML")
    assert "Traceback" not in gateway.log()


@pytest.fixture(scope="module")
def lone_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway of its own, so its peak memory reflects only these documents."""
    yield from own_gateway(tmp_path_factory, "gw-xml-counts")


def _peak_rss(gw: Gateway) -> int:
    """The worker's resident high-water mark (``VmHWM``), in bytes."""
    for line in Path(f"/proc/{gw.pid()}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def test_documents_of_tiny_elements_never_become_a_tree(lone_gateway: Gateway) -> None:
    """Full-size documents made of the smallest elements there are: each is refused with
    the count's error, and the worker's peak memory grows by far less than one tree of
    them (over 100 MB for the DeleteObjects one; 8 MB for the body itself)."""
    s3 = lone_gateway.client()
    bucket = f"sec-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k0", Body=b"kept")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    delete = b"<Delete><Object/>" + b"<a/>" * ((MAX_DELETE_DOCUMENT - 32) // 4) + b"</Delete>"
    complete = (
        b"<CompleteMultipartUpload>"
        + b"<Part/>" * ((MAX_COMPLETION_DOCUMENT - 64) // 7)
        + b"</CompleteMultipartUpload>"
    )
    _delete(lone_gateway, bucket, b"<Delete><Object><Key>x</Key></Object></Delete>")  # warm
    before = _peak_rss(lone_gateway)
    for _ in range(2):
        assert _delete(lone_gateway, bucket, delete) == (400, "MalformedXML")
        assert _post(lone_gateway, f"/{bucket}/k?uploadId={upload}", complete) == (
            400,
            "TooManyParts",
        )
    grown = _peak_rss(lone_gateway) - before
    assert grown < 48 * 1024 * 1024, f"peak RSS grew by {grown / 2**20:.0f} MiB"
    assert s3.get_object(Bucket=bucket, Key="k0")["Body"].read() == b"kept"
    assert "Traceback" not in lone_gateway.log()
