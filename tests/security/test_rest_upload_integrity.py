"""Class: an integrity header on a REST upload is checked, never ignored.

``PUT /v1/buckets/{name}/objects/content`` ignored ``Content-MD5``, ``x-amz-checksum-*``
and ``x-amz-content-sha256``: a body damaged on its way (or a client's wrong file) was
stored, and replaced the good object, although the client had said what the bytes must
hash to. The S3 listener answers ``BadDigest`` there. The REST upload now checks the same
headers with the same code (``sigv4.PayloadPipeline``, the backend's ``content_md5``):
400 ``BadDigest`` naming the header, the previous object intact; a malformed header is
400 ``ValidationError``; a checksum that holds is stored with the object as S3 stores it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import upload

BODY = b"the bytes the client meant"
DAMAGED = b"the bytes the client meant!"


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _put(gateway: Gateway, bucket: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
    return upload(gateway, bucket, "k", headers, body)


def _stored(s3: Any, bucket: str) -> bytes:
    data: bytes = s3.get_object(Bucket=bucket, Key="k")["Body"].read()
    return data


@pytest.mark.parametrize(
    "header",
    [
        {"Content-MD5": _b64(hashlib.md5(BODY).digest())},
        {"x-amz-checksum-sha256": _b64(hashlib.sha256(BODY).digest())},
        {"x-amz-checksum-crc32": "AAAAAA=="},
        {"x-amz-content-sha256": hashlib.sha256(BODY).hexdigest()},
    ],
    ids=["content-md5", "sha256", "crc32", "content-sha256"],
)
def test_a_body_that_does_not_match_its_digest_stores_nothing(
    gateway: Gateway, s3: Any, bucket: str, header: dict[str, str]
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"previous")
    status, answer = _put(gateway, bucket, header, DAMAGED)
    assert (status, answer["error"]["code"]) == (400, "BadDigest"), answer
    assert answer["error"]["details"]["field"] == next(iter(header))
    assert _stored(s3, bucket) == b"previous"


@pytest.mark.parametrize(
    "header",
    [{"Content-MD5": "not base64"}, {"x-amz-checksum-sha256": "short"}],
    ids=["content-md5", "sha256"],
)
def test_a_malformed_digest_is_refused(
    gateway: Gateway, s3: Any, bucket: str, header: dict[str, str]
) -> None:
    status, answer = _put(gateway, bucket, header, BODY)
    assert (status, answer["error"]["code"]) == (400, "ValidationError"), answer
    assert answer["error"]["details"]["field"] == next(iter(header))
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_a_checksum_that_holds_is_stored_with_the_object(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    checksum = _b64(hashlib.sha256(BODY).digest())
    md5 = _b64(hashlib.md5(BODY).digest())
    status, answer = _put(
        gateway, bucket, {"x-amz-checksum-sha256": checksum, "Content-MD5": md5}, BODY
    )
    assert status == 201, answer
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == checksum
    assert _stored(s3, bucket) == BODY


PASTED = "sk_PASTED0123456789abcdefghijklmnop"
"""A secret pasted into the wrong header: the answer must not carry it back."""


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ({"x-amz-sdk-checksum-algorithm": PASTED}, "x-amz-sdk-checksum-algorithm"),
        (
            {"x-amz-sdk-checksum-algorithm": PASTED, "x-amz-checksum-crc32": "AAAAAA=="},
            "x-amz-sdk-checksum-algorithm",
        ),
        (
            {"x-amz-sdk-checksum-algorithm": " sha1 ", "x-amz-checksum-crc32": "AAAAAA=="},
            "x-amz-sdk-checksum-algorithm",
        ),
        ({"x-amz-checksum-sha256": PASTED}, "x-amz-checksum-sha256"),
        ({"x-amz-content-sha256": PASTED}, "x-amz-content-sha256"),
        ({"Content-MD5": PASTED}, "Content-MD5"),
        (
            {"x-amz-checksum-sha256": PASTED, "x-amz-checksum-crc32": PASTED},
            "x-amz-checksum-crc32,x-amz-checksum-sha256",
        ),
    ],
    ids=[
        "unsupported",
        "unsupported-with-checksum",
        "mismatch",
        "checksum",
        "sha256",
        "md5",
        "two",
    ],
)
def test_a_refused_integrity_header_is_named_never_echoed(
    gateway: Gateway, s3: Any, bucket: str, header: dict[str, str], field: str
) -> None:
    """docs/api.md: REST messages never echo a submitted value. The S3 listener's message
    for an unsupported ``x-amz-sdk-checksum-algorithm`` quotes it (as S3 does); the REST
    upload passed it on ("Checksum algorithm 'sk_PASTED...' is not supported")."""
    status, answer = _put(gateway, bucket, header, BODY)
    assert (status, answer["error"]["code"]) == (400, "ValidationError"), answer
    assert answer["error"]["details"] == {"field": field}
    text = json.dumps(answer)
    for value in header.values():
        assert value not in text and value.strip() not in answer["error"]["message"]
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
