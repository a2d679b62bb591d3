"""The one renderer: statuses and headers from the error table, bodies for results."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.connections import one_connection
from tests.gateway.s3.conftest import ROOT, error_code, make_bucket


async def test_invalid_range_carries_content_range(s3: TestClient[Any, Any]) -> None:
    bucket = await make_bucket(s3)
    await s3.put(f"/{bucket}/k", data=b"12345", headers=ROOT)
    response = await s3.get(f"/{bucket}/k", headers={**ROOT, "Range": "bytes=10-"})
    assert await error_code(response, 416) == "InvalidRange"
    assert response.headers["Content-Range"] == "bytes */5"


async def test_not_modified_has_validators_and_no_body(s3: TestClient[Any, Any]) -> None:
    bucket = await make_bucket(s3)
    put = await s3.put(f"/{bucket}/k", data=b"12345", headers=ROOT)
    etag = put.headers["ETag"]
    response = await s3.get(f"/{bucket}/k", headers={**ROOT, "If-None-Match": etag})
    assert response.status == 304
    assert await response.read() == b""
    assert response.headers["ETag"] == etag
    assert "Last-Modified" in response.headers


async def test_head_errors_have_no_body_but_name_the_code(s3: TestClient[Any, Any]) -> None:
    bucket = await make_bucket(s3)
    response = await s3.head(f"/{bucket}/missing", headers=ROOT)
    assert response.status == 404
    assert response.headers["x-amz-error-code"] == "NoSuchKey"
    assert await response.read() == b""
    # the length and type of the document a GET gets (RFC 9110 9.3.2)
    got = await s3.get(f"/{bucket}/missing", headers=ROOT)
    assert response.headers["Content-Length"] == str(len(await got.read()))
    assert response.headers["Content-Type"] == got.headers["Content-Type"] == "application/xml"


async def test_refused_heads_keep_an_aiohttp_clients_connection(s3: TestClient[Any, Any]) -> None:
    """aiohttp's parser (llhttp) is not told that a HEAD's answer has no body: one without
    a length was read as ending with the connection, which the client then closed, so
    aiobotocore and s3fs connected again after every HEAD of a missing key."""
    bucket = await make_bucket(s3)
    async with one_connection() as client:
        for path, headers, status in (
            (f"/{bucket}/missing", ROOT, 404),
            ("/nobucket/missing", ROOT, 404),
            (f"/{bucket}/missing", {}, 403),  # anonymous
            (f"/{bucket}/missing", ROOT, 404),
        ):
            async with client.session.head(s3.make_url(path), headers=headers) as response:
                assert response.status == status
    assert client.made == 1


async def test_results_and_errors_carry_request_ids(s3: TestClient[Any, Any]) -> None:
    bucket = await make_bucket(s3)
    ok = await s3.put(f"/{bucket}/k", data=b"x", headers=ROOT)
    missing = await s3.get(f"/{bucket}/nope", headers=ROOT)
    assert await error_code(missing, 404) == "NoSuchKey"
    for response in (ok, missing):
        assert len(response.headers["x-amz-request-id"]) == 16
        assert response.headers["x-amz-id-2"]


async def test_small_and_large_bodies_are_served_whole(s3: TestClient[Any, Any]) -> None:
    bucket = await make_bucket(s3)
    for size in (0, 10, 64 * 1024, 64 * 1024 + 1, 1024 * 1024):
        data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        await s3.put(f"/{bucket}/k{size}", data=data, headers=ROOT)
        got = await s3.get(f"/{bucket}/k{size}", headers=ROOT)
        assert got.status == 200
        assert int(got.headers["Content-Length"]) == size
        assert await got.read() == data
