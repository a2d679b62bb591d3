"""Operations S3 accepts only with a digest of their body (``Operation.digest``).

S3 refuses DeleteObjects, PutBucketCors, PutBucketLifecycleConfiguration,
PutBucketTagging and the Object Lock documents without ``Content-MD5`` or an
``x-amz-checksum-*`` header (400 ``InvalidRequest``). The gateway accepted them, so a
body nothing authenticates (an ``UNSIGNED-PAYLOAD`` signature, a Bearer or
``X-API-Key`` credential) deleted keys or set a retention nobody checked; a script that
worked here then failed against S3. Every such row is refused without a digest, before
its body is read, and a wrong digest is ``BadDigest``, with nothing changed.

botocore's model marks more operations ``requestChecksumRequired`` than S3 refuses
without a digest; each one the gateway has a row for is decided below (``NOT_REQUIRED``
with the evidence), so a botocore upgrade that marks another fails here until someone
decides.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
import pytest

from gateway.s3.operations import OPERATIONS
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import RawResponse, raw_request, sign

UNTIL = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z")

# operation -> (method, target, document, the read that shows what it changed)
DOCUMENTS: dict[str, tuple[str, str, bytes, str]] = {
    "DeleteObjects": (
        "POST",
        "?delete",
        b"<Delete><Object><Key>k</Key></Object></Delete>",
        "/k",
    ),
    "PutBucketCors": (
        "PUT",
        "?cors",
        b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
        b"<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
        "?cors",
    ),
    "PutBucketLifecycleConfiguration": (
        "PUT",
        "?lifecycle",
        b"<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix>a/</Prefix></Filter>"
        b"<Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"
        b"</LifecycleConfiguration>",
        "?lifecycle",
    ),
    "PutBucketTagging": (
        "PUT",
        "?tagging",
        b"<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>",
        "?tagging",
    ),
    "PutObjectLockConfiguration": (
        "PUT",
        "?object-lock",
        b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>"
        b"<DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention>"
        b"</Rule></ObjectLockConfiguration>",
        "?object-lock",
    ),
    "PutObjectRetention": (
        "PUT",
        "/k?retention",
        b"<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>"
        + UNTIL.encode()
        + b"</RetainUntilDate></Retention>",
        "/k?retention",
    ),
    "PutObjectLegalHold": (
        "PUT",
        "/k?legal-hold",
        b"<LegalHold><Status>ON</Status></LegalHold>",
        "/k?legal-hold",
    ),
}


_NO_RECORD = "no record that S3 refuses it without a digest: not refused on the model's word"
_NOT_HELD = "no bucket here holds it (NotImplemented; an empty PUT turning it off is accepted)"
NOT_REQUIRED: dict[str, str] = {
    "PutBucketAcl": _NO_RECORD,
    "PutBucketEncryption": _NO_RECORD,
    "PutBucketOwnershipControls": _NO_RECORD,
    "PutBucketPolicy": _NO_RECORD,
    "PutBucketRequestPayment": _NO_RECORD,
    "PutObjectAcl": _NO_RECORD,
    "PutBucketVersioning": "S3 accepts it without one (minio/minio#9852)",
    "PutObjectTagging": "S3 accepts it without one (versity/versitygw#1662)",
    "PutPublicAccessBlock": "S3 accepts it without one (aws/aws-sdk-js#2818)",
    "PutBucketLogging": _NOT_HELD,
    "PutBucketReplication": _NOT_HELD,
    "PutBucketWebsite": _NOT_HELD,
}
"""Operations botocore marks ``requestChecksumRequired`` that the gateway accepts without
a digest (a digest given is still verified), and why (docs/architecture.md)."""


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _send(
    gw: Gateway, method: str, path: str, body: bytes, headers: dict[str, str], payload: str
) -> RawResponse:
    signed = sign(gw, method, path, body=body, headers={**headers, "x-amz-content-sha256": payload})
    return raw_request(gw, method, path, body=body, headers=signed)


def _read(gw: Gateway, path: str) -> tuple[int, bytes]:
    answer = _send(gw, "GET", path, b"", {}, hashlib.sha256(b"").hexdigest())
    body = answer.body if answer.status == 200 else (answer.error_code() or "").encode()
    return answer.status, body


def test_every_row_that_requires_a_digest_is_in_the_table() -> None:
    assert {row.name for row in OPERATIONS if row.digest} == set(DOCUMENTS)


def test_every_operation_botocore_marks_is_decided() -> None:
    """Each operation botocore's model says needs a checksum, and the gateway has a row
    for, either requires a digest here or is listed with why it does not."""
    model = botocore.session.get_session().get_service_model("s3")
    marked = set()
    for name in model.operation_names:
        operation = model.operation_model(name)
        checksum = operation.http_checksum or {}
        if checksum.get("requestChecksumRequired") or operation.http_checksum_required:
            marked.add(name)
    rows = {row.name: row for row in OPERATIONS}
    undecided = {
        name for name in marked & set(rows) if not rows[name].digest and name not in NOT_REQUIRED
    }
    assert not undecided, f"decide whether S3 requires a digest for: {sorted(undecided)}"
    assert not {name for name in NOT_REQUIRED if rows[name].digest}
    assert set(NOT_REQUIRED) <= marked


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
@pytest.mark.parametrize("payload", ["signed", "UNSIGNED-PAYLOAD"])
def test_digest_required_and_verified(gateway: Gateway, s3: Any, name: str, payload: str) -> None:
    method, target, document, read = DOCUMENTS[name]
    bucket = f"sec-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    path, read_path = f"/{bucket}{target}", f"/{bucket}{read}"
    content_sha = hashlib.sha256(document).hexdigest() if payload == "signed" else payload
    before = _read(gateway, read_path)

    for headers, code in (
        ({}, "InvalidRequest"),
        ({"Content-Type": "application/xml"}, "InvalidRequest"),
        ({"x-amz-trailer": ""}, "InvalidRequest"),  # announces no checksum
        ({"x-amz-trailer": ","}, "InvalidRequest"),
        ({"Content-MD5": _md5(b"another body")}, "BadDigest"),
        ({"x-amz-checksum-crc32": _crc32(b"another body")}, "BadDigest"),
        (
            {"x-amz-sdk-checksum-algorithm": "CRC32", "x-amz-checksum-crc32": _crc32(b"x")},
            "BadDigest",
        ),
    ):
        refused = _send(gateway, method, path, document, headers, content_sha)
        assert (refused.status, refused.error_code()) == (400, code), (name, headers, refused)
        if code == "InvalidRequest":
            assert b"Missing required header for this request" in refused.body
        assert _read(gateway, read_path) == before, (name, headers)

    for headers in ({"Content-MD5": _md5(document)}, {"x-amz-checksum-crc32": _crc32(document)}):
        accepted = _send(gateway, method, path, document, headers, content_sha)
        assert accepted.status in (200, 204), (name, headers, accepted)
    assert _read(gateway, read_path) != before


@pytest.mark.parametrize("headers", [{}, {"x-amz-trailer": ""}])
def test_a_put_with_lock_settings_needs_a_digest(
    gateway: Gateway, s3: Any, headers: dict[str, str]
) -> None:
    """The same rule for a PutObject carrying Object Lock settings: an empty
    ``x-amz-trailer`` announces no checksum and is no digest."""
    bucket = f"sec-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    lock = {"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": UNTIL}
    body = b"locked for a month"
    path = f"/{bucket}/k"
    refused = _send(gateway, "PUT", path, body, {**lock, **headers}, "UNSIGNED-PAYLOAD")
    assert (refused.status, refused.error_code()) == (400, "InvalidRequest"), refused
    assert _read(gateway, path) == (404, b"NoSuchKey")
    digest = {"x-amz-checksum-crc32": _crc32(body)}
    accepted = _send(gateway, "PUT", path, body, {**lock, **digest}, "UNSIGNED-PAYLOAD")
    assert accepted.status == 200, accepted
    assert _read(gateway, path) == (200, body)
