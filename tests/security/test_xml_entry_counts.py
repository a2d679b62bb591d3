"""Documents with a bounded number of entries are refused from the count, unread.

DeleteObjects names at most 1,000 keys (S3: ``MalformedXML``) in up to 8 MB (room for
1,000 escaped keys of 1,024 bytes), CompleteMultipartUpload at most 10,000 parts
(``TooManyParts``) in up to 5,000 KiB: room for 280,000 and 100,000 tiny entries. Each
entry was read (key, version, conditions; part number, ETag, checksums) before the count
refused the request: seconds of one worker's event loop per request, any caller's to
send. The count now comes first, so no entry of such a document is read.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

from gateway.s3.completion import MAX_PARTS
from gateway.s3.multipart import MAX_COMPLETION_DOCUMENT
from gateway.s3.objects import MAX_DELETE_DOCUMENT, MAX_DELETE_KEYS
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
