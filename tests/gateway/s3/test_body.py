"""Request bodies: Content-MD5 parsed once, checked once (documents here, object bodies by
the backend), size limits, nothing stored on failure."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from aiohttp.test_utils import TestClient

from gateway.s3.objects import MAX_DELETE_DOCUMENT
from tests.gateway.s3.conftest import ROOT, error_code, make_bucket


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


async def test_object_body_content_md5(s3: TestClient[Any, Any]) -> None:
    bucket = await make_bucket(s3)
    good = await s3.put(
        f"/{bucket}/k", data=b"body", headers={**ROOT, "Content-MD5": _md5(b"body")}
    )
    assert good.status == 200
    wrong = await s3.put(
        f"/{bucket}/k", data=b"other", headers={**ROOT, "Content-MD5": _md5(b"body")}
    )
    assert await error_code(wrong, 400) == "BadDigest"
    malformed = await s3.put(f"/{bucket}/k", data=b"x", headers={**ROOT, "Content-MD5": "nope"})
    assert await error_code(malformed, 400) == "InvalidDigest"
    kept = await s3.get(f"/{bucket}/k", headers=ROOT)
    assert await kept.read() == b"body"


async def test_document_content_md5(s3: TestClient[Any, Any]) -> None:
    bucket = await make_bucket(s3)
    await s3.put(f"/{bucket}/k", data=b"x", headers=ROOT)
    document = b"<Delete><Object><Key>k</Key></Object></Delete>"
    wrong = await s3.post(
        f"/{bucket}?delete", data=document, headers={**ROOT, "Content-MD5": _md5(b"else")}
    )
    assert await error_code(wrong, 400) == "BadDigest"
    assert (await s3.head(f"/{bucket}/k", headers=ROOT)).status == 200
    good = await s3.post(
        f"/{bucket}?delete", data=document, headers={**ROOT, "Content-MD5": _md5(document)}
    )
    assert good.status == 200
    assert (await s3.head(f"/{bucket}/k", headers=ROOT)).status == 404


async def test_document_size_limit(s3: TestClient[Any, Any]) -> None:
    bucket = await make_bucket(s3)
    huge = b"<Delete>" + b" " * MAX_DELETE_DOCUMENT + b"</Delete>"
    digest = {"Content-MD5": _md5(huge)}
    response = await s3.post(f"/{bucket}?delete", data=huge, headers={**ROOT, **digest})
    assert await error_code(response, 400) == "MaxMessageLengthExceeded"


async def test_wrong_sha256_stores_nothing(s3: TestClient[Any, Any]) -> None:
    bucket = await make_bucket(s3)
    await s3.put(f"/{bucket}/k", data=b"old", headers=ROOT)
    response = await s3.put(
        f"/{bucket}/k",
        data=b"new",
        headers={**ROOT, "x-amz-content-sha256": hashlib.sha256(b"other").hexdigest()},
    )
    assert await error_code(response, 400) == "XAmzContentSHA256Mismatch"
    assert await (await s3.get(f"/{bucket}/k", headers=ROOT)).read() == b"old"
