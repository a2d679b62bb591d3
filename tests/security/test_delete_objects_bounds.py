"""DeleteObjects names at most 1,000 keys (S3: ``MalformedXML``), decided from the count.

The document may be up to 8 MB (room for 1,000 keys of 1,024 bytes, escaped), which holds
280,000 tiny ``<Object>`` entries. Each entry was read (key, version, conditions) before
the count refused the request: seconds of one worker's event loop per request, any
caller's to send. The count now comes first, so no entry of such a document is read.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

from gateway.s3.objects import MAX_DELETE_DOCUMENT, MAX_DELETE_KEYS
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import raw_request, sign


def _delete(gw: Gateway, bucket: str, document: bytes) -> tuple[int, str | None]:
    path = f"/{bucket}?delete"
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
