"""Class: a REST upload never ignores a header the S3 PutObject would act on.

``PUT /v1/buckets/{name}/objects/content`` read ``Content-Type``, its integrity headers and
its ``If-*`` conditions, and answered 201 whatever else came with them: SSE-C headers
(the object stored in clear, readable by an S3 GetObject without the key, while the client
believed it encrypted with its key), ``x-amz-object-lock-*`` in an Object Lock bucket (the
object deletable at once), user metadata, tags, ACLs, storage class, the system headers S3
stores (``Content-Disposition``, ``Expires``, ...). Each is now 400
``ValidationError`` naming the header in ``details.field``, before anything is stored: the
object already there stays as it was and no version appears (docs/api.md, "Object
uploads take only the headers they read"). The last test keeps the class closed: every
header botocore's PutObject can send is read by the upload or refused by its rule.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from typing import Any

import botocore.session
import pytest

from gateway.api.upload_body import READ_AMZ_HEADERS, UNREAD_HEADERS
from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import upload

_SSE_C_KEY = os.urandom(32)
_SSE_C = {
    "x-amz-server-side-encryption-customer-algorithm": "AES256",
    "x-amz-server-side-encryption-customer-key": base64.b64encode(_SSE_C_KEY).decode(),
    "x-amz-server-side-encryption-customer-key-MD5": base64.b64encode(
        hashlib.md5(_SSE_C_KEY).digest()
    ).decode(),
}
_LOCK = {
    "x-amz-object-lock-mode": "COMPLIANCE",
    "x-amz-object-lock-retain-until-date": "2099-01-01T00:00:00Z",
}

REFUSED: list[tuple[str, dict[str, str], str]] = [
    # (id, headers sent, details.field)
    ("sse-c", _SSE_C, ",".join(sorted(name.lower() for name in _SSE_C))),
    (
        "sse-c-algorithm-alone",
        {"x-amz-server-side-encryption-customer-algorithm": "AES256"},
        "x-amz-server-side-encryption-customer-algorithm",
    ),
    ("sse-s3", {"x-amz-server-side-encryption": "AES256"}, "x-amz-server-side-encryption"),
    (
        "sse-kms",
        {
            "x-amz-server-side-encryption": "aws:kms",
            "x-amz-server-side-encryption-aws-kms-key-id": "k",
        },
        "x-amz-server-side-encryption,x-amz-server-side-encryption-aws-kms-key-id",
    ),
    ("lock-retention", _LOCK, ",".join(sorted(_LOCK))),
    ("legal-hold", {"x-amz-object-lock-legal-hold": "ON"}, "x-amz-object-lock-legal-hold"),
    ("user-metadata", {"X-Amz-Meta-Color": "blue"}, "x-amz-meta-color"),
    ("tagging", {"x-amz-tagging": "a=b"}, "x-amz-tagging"),
    ("canned-acl", {"x-amz-acl": "public-read"}, "x-amz-acl"),
    ("grant", {"x-amz-grant-read": 'uri="http://acs"'}, "x-amz-grant-read"),
    ("storage-class", {"x-amz-storage-class": "GLACIER"}, "x-amz-storage-class"),
    (
        "redirect",
        {"x-amz-website-redirect-location": "/elsewhere"},
        "x-amz-website-redirect-location",
    ),
    ("expected-owner", {"x-amz-expected-bucket-owner": "1"}, "x-amz-expected-bucket-owner"),
    ("append", {"x-amz-write-offset-bytes": "0"}, "x-amz-write-offset-bytes"),
    ("checksum-type", {"x-amz-checksum-type": "COMPOSITE"}, "x-amz-checksum-type"),
    (
        "decoded-length",
        {"x-amz-decoded-content-length": "3"},
        "x-amz-decoded-content-length",
    ),
    ("unknown-amz", {"x-amz-some-future-header": "on"}, "x-amz-some-future-header"),
    ("content-disposition", {"Content-Disposition": "inline"}, "Content-Disposition"),
    ("content-language", {"Content-Language": "fr"}, "Content-Language"),
    ("expires", {"Expires": "Wed, 21 Oct 2037 07:28:00 GMT"}, "Expires"),
    ("content-range", {"Content-Range": "bytes 0-2/10"}, "Content-Range"),
]


def _versions(s3: Any, bucket: str) -> list[tuple[str, str, str]]:
    listed = s3.list_object_versions(Bucket=bucket)
    assert not listed.get("DeleteMarkers")
    return [(v["Key"], v["VersionId"], v["ETag"]) for v in listed.get("Versions", [])]


@pytest.fixture(scope="module")
def lock_bucket(gateway: Gateway) -> str:
    """An Object Lock bucket (versioned) holding ``k``: ``old``, text/old, no retention."""
    s3 = gateway.client(signature_version="s3v4")
    name = f"sec-unread-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket=name, Key="k", Body=b"old", ContentType="text/old")
    return name


@pytest.mark.parametrize(
    ("headers", "field"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_a_header_the_upload_does_not_read_is_refused_and_nothing_is_stored(
    gateway: Gateway, s3: Any, lock_bucket: str, headers: dict[str, str], field: str
) -> None:
    before = _versions(s3, lock_bucket)
    for key in ("k", "new"):  # replacing an object, making one
        status, answer = upload(gateway, lock_bucket, key, headers, b"new")
        assert status == 400, answer
        assert answer["error"]["code"] == "ValidationError"
        assert answer["error"]["details"] == {"field": field}
        for value in headers.values():  # the refusal names headers, never their values
            assert len(value) < 6 or value not in json.dumps(answer)
    assert _versions(s3, lock_bucket) == before
    old = s3.get_object(Bucket=lock_bucket, Key="k")
    assert (old["Body"].read(), old["ContentType"]) == (b"old", "text/old")
    assert "ObjectLockMode" not in old and "ObjectLockLegalHoldStatus" not in old


def test_the_headers_the_upload_reads_are_still_taken(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    """Every header the rule lets through, sent at once (and ``X-Amz-Cf-Id``, which
    CloudFront adds to every request it forwards): stored, 201."""
    body = b"kept"
    headers = {
        "Content-Type": "text/plain",
        "Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode(),
        "x-amz-checksum-sha256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
        "x-amz-sdk-checksum-algorithm": "SHA256",
        "x-amz-content-sha256": hashlib.sha256(body).hexdigest(),
        "If-None-Match": "*",
        "X-Amz-Cf-Id": "aBcD1234==",
        "X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793",
        "Cache-Control": "no-cache",  # a browser's "disable cache" adds it
    }
    status, answer = upload(gateway, bucket, "k", headers, body)
    assert status == 201, answer
    stored = s3.get_object(Bucket=bucket, Key="k")
    assert (stored["Body"].read(), stored["ContentType"]) == (body, "text/plain")


READ_STANDARD = {"content-type", "content-md5", "content-length", "if-match", "if-none-match"}
"""The standard headers of a PutObject the upload reads (the If-* as conditions)."""
IGNORED_ON_PURPOSE = {"cache-control"}
"""In a request, ``Cache-Control`` is a caching directive for that request, which browsers
and proxies add on their own (gateway/api/upload_body.py, ``UNREAD_HEADERS``)."""


def test_every_header_of_a_put_object_is_read_or_refused() -> None:
    """botocore's PutObject input: each header is one the upload reads, or one its rule
    refuses (an ``x-amz-*`` outside ``READ_AMZ_HEADERS``, a standard header of
    ``UNREAD_HEADERS``, ``Content-Encoding``'s 415). A standard header AWS adds to the
    model fails here until it is read or refused."""
    model = botocore.session.get_session().get_service_model("s3")
    shape = model.operation_model("PutObject").input_shape
    unaccounted = []
    for member in shape.members.values():
        if member.serialization.get("location") not in ("header", "headers"):
            continue
        header = member.serialization["name"].lower()
        refused = header.startswith("x-amz-") and header not in READ_AMZ_HEADERS
        if not (
            refused
            or header in READ_STANDARD
            or header in READ_AMZ_HEADERS
            or header in UNREAD_HEADERS
            or header == "content-encoding"
            or header in IGNORED_ON_PURPOSE
        ):
            unaccounted.append(header)
    assert unaccounted == []
