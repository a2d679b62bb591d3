"""The S3 request path leaves no reference cycle of ours behind (``tests/cycles.py``) on
the requests a workload repeats: SigV4-signed PUT, HEAD, GET and ListObjectsV2 on the
filesystem backend, in-process. With ``gateway/garbage.py``'s raised threshold such
garbage would also wait longer to be freed; before it, every collection the default
threshold set off cost the requests in flight (docs/performance.md, thirty-seventh
sitting)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from sigv4.outgoing import sign_headers
from tests.cycles import cycles_of_ours, describe
from tests.gateway.s3.conftest import ROOT_KEY, ROOT_SECRET, make_bucket

ROUNDS = 5
DATA = b"x" * 4096


def _signed(
    s3: TestClient[Any, Any], method: str, path: str, query: str, body: bytes
) -> dict[str, str]:
    host = f"{s3.host}:{s3.port}"
    headers = {"host": host}
    headers.update(
        sign_headers(
            method,
            path,
            query,
            headers,
            hashlib.sha256(body).hexdigest(),
            access_key_id=ROOT_KEY,
            secret_access_key=ROOT_SECRET,
            region="us-east-1",
            now=datetime.now(UTC),
        )
    )
    return headers


async def _call(
    s3: TestClient[Any, Any], method: str, path: str, query: str = "", body: bytes = b""
) -> bytes:
    target = f"{path}?{query}" if query else path
    response = await s3.request(
        method, target, data=body or None, headers=_signed(s3, method, path, query, body)
    )
    data = await response.read()
    assert response.status == 200, data
    return data


async def _round(s3: TestClient[Any, Any], key: str) -> None:
    await _call(s3, "PUT", f"/bucket/{key}", body=DATA)
    await _call(s3, "HEAD", f"/bucket/{key}")
    assert await _call(s3, "GET", f"/bucket/{key}") == DATA
    assert b"<KeyCount>" in await _call(s3, "GET", "/bucket", "list-type=2&prefix=k")


async def test_successful_requests_leave_no_cycles(s3: TestClient[Any, Any]) -> None:
    await make_bucket(s3)
    await _round(s3, "warm")  # imports, memos and caches settle first
    with cycles_of_ours() as found:
        for i in range(ROUNDS):
            await _round(s3, f"k{i}")
    assert not found, f"left to the cyclic collector: {describe(found)}"
