"""``/v1/buckets/{name}/objects...``: listing by prefix and page, upload (streamed, limited,
Content-Type kept), download (an attachment that never renders), delete; scopes and
bucket limits. The app runs in-process on the real filesystem backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient

from gateway.app import Shared, make_api_app
from gateway.bootstrap import ensure_admin
from gateway.config import Config, load_config
from tests.gateway.api.conftest import ADMIN, ROOT_KEY, ROOT_SECRET, bearer, error_of, mint

Client = TestClient[Any, Any]


def content(bucket: str, key: str) -> str:
    return f"/v1/buckets/{bucket}/objects/content?key={quote(key, safe='')}"


async def put(api: Client, bucket: str, key: str, data: bytes, **headers: str) -> Any:
    return await api.put(content(bucket, key), data=data, headers={**ADMIN, **headers})


@pytest.fixture
async def bucket(api: Client) -> str:
    response = await api.post("/v1/buckets", json={"name": "photos"}, headers=ADMIN)
    assert response.status == 201
    return "photos"


async def test_upload_download_delete_round_trip(api: Client, bucket: str) -> None:
    response = await put(api, bucket, "a/b c.txt", b"hello", **{"Content-Type": "text/plain"})
    assert response.status == 201
    stored = await response.json()
    assert stored["key"] == "a/b c.txt" and stored["size"] == 5
    assert stored["etag"] == "5d41402abc4b2a76b9719d911017c592"
    assert stored["content_type"] == "text/plain"

    got = await api.get(content(bucket, "a/b c.txt"), headers=ADMIN)
    assert got.status == 200
    assert await got.read() == b"hello"
    assert got.headers["Content-Type"].startswith("text/plain")
    assert got.headers["ETag"] == '"5d41402abc4b2a76b9719d911017c592"'
    # An object must never render on the console's origin.
    assert got.headers["Content-Disposition"] == (
        "attachment; filename=\"b c.txt\"; filename*=UTF-8''b%20c.txt"
    )
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Security-Policy"].startswith("sandbox")

    assert (await api.delete(content(bucket, "a/b c.txt"), headers=ADMIN)).status == 204
    assert (await api.delete(content(bucket, "a/b c.txt"), headers=ADMIN)).status == 204
    missing = await api.get(content(bucket, "a/b c.txt"), headers=ADMIN)
    assert (await error_of(missing, 404))["code"] == "NotFound"


async def test_without_content_type_the_object_gets_s3s_default(api: Client, bucket: str) -> None:
    response = await api.put(content(bucket, "raw"), data=b"x", headers=ADMIN)
    assert (await response.json())["content_type"] in {
        "binary/octet-stream",
        "application/octet-stream",  # aiohttp's client adds one for bytes bodies
    }


@pytest.mark.parametrize("key", ["..", ".", "a//b", "../x", "dir/", "é/ü?#&=+%2F", "sp ace"])
async def test_keys_urls_would_normalise_survive(api: Client, bucket: str, key: str) -> None:
    assert (await put(api, bucket, key, key.encode())).status == 201
    got = await api.get(content(bucket, key), headers=ADMIN)
    assert await got.read() == key.encode()
    listing = await (await api.get(f"/v1/buckets/{bucket}/objects", headers=ADMIN)).json()
    assert [o["key"] for o in listing["objects"]] == [key]
    assert (await api.delete(content(bucket, key), headers=ADMIN)).status == 204


async def test_listing_by_prefix_and_delimiter_in_pages(api: Client, bucket: str) -> None:
    for key in ["a/1", "a/2", "b/1", "c", "d", "e"]:
        assert (await put(api, bucket, key, b"x")).status == 201
    url = f"/v1/buckets/{bucket}/objects"
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"delimiter": "/", "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await (await api.get(url, params=query, headers=ADMIN)).json()
        pages += 1
        seen += page["prefixes"] + [o["key"] for o in page["objects"]]
        assert len(page["prefixes"]) + len(page["objects"]) <= 2
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == ["a/", "b/", "c", "d", "e"] and pages == 3
    inside = await (await api.get(url, params={"prefix": "a/"}, headers=ADMIN)).json()
    assert [o["key"] for o in inside["objects"]] == ["a/1", "a/2"]
    assert inside["objects"][0]["size"] == 1 and inside["objects"][0]["last_modified"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("cursor=%25%25%25", "cursor"),
        ("cursor=_w", "cursor"),  # base64 of one byte that is not UTF-8
        ("delimiter=" + "x" * 17, "delimiter"),
        ("prefix=" + "p" * 1025, "prefix"),
    ],
)
async def test_listing_refuses_bad_parameters(
    api: Client, bucket: str, query: str, field: str
) -> None:
    response = await api.get(f"/v1/buckets/{bucket}/objects?{query}", headers=ADMIN)
    error = await error_of(response, 400)
    assert error["code"] == "ValidationError" and error["details"] == {"field": field}


FOUR_BYTE = quote("\U0001f600", safe="")  # 12 characters on the wire


@pytest.mark.parametrize(
    "query",
    ["", "key=", "key=" + "k" * 1025, "key=" + FOUR_BYTE * 1024, "key=%FF%FE"],
    ids=["none", "empty", "long", "long-on-the-wire", "utf8"],
)
async def test_object_routes_refuse_bad_keys(api: Client, bucket: str, query: str) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = await api.request(
            method, f"/v1/buckets/{bucket}/objects/content?{query}", data=b"", headers=ADMIN
        )
        error = await error_of(response, 400)
        assert error["details"] == {"field": "key"}, method


async def test_unknown_or_invalid_bucket_is_not_found(api: Client) -> None:
    for name in ("nosuchbucket", "Not_A_Bucket"):
        for response in (
            await api.get(f"/v1/buckets/{name}/objects", headers=ADMIN),
            await api.put(content(name, "k"), data=b"x", headers=ADMIN),
            await api.get(content(name, "k"), headers=ADMIN),
        ):
            assert (await error_of(response, 404))["code"] == "NotFound"


async def test_scopes_are_the_route_tables(api: Client, bucket: str) -> None:
    assert (await put(api, bucket, "k", b"data")).status == 201
    reader = bearer((await mint(api, scopes=["read:objects"]))["secret"])
    deleter = bearer((await mint(api, scopes=["delete:objects"]))["secret"])
    assert (await api.get(content(bucket, "k"), headers=reader)).status == 200
    refused = await api.put(content(bucket, "k"), data=b"x", headers=reader)
    assert (await error_of(refused, 403))["details"] == {"required_scope": "write:objects"}
    refused = await api.delete(content(bucket, "k"), headers=reader)
    assert (await error_of(refused, 403))["details"] == {"required_scope": "delete:objects"}
    refused = await api.get(content(bucket, "k"), headers=deleter)
    assert (await error_of(refused, 403))["details"] == {"required_scope": "read:objects"}
    assert (await api.delete(content(bucket, "k"), headers=deleter)).status == 204


async def test_bucket_limits_hold(api: Client, bucket: str) -> None:
    other = await api.post("/v1/buckets", json={"name": "other"}, headers=ADMIN)
    assert other.status == 201
    limited = bearer(
        (await mint(api, scopes=["read:objects", "write:objects"], buckets=["photos"]))["secret"]
    )
    assert (await api.put(content("photos", "k"), data=b"x", headers=limited)).status == 201
    for response in (
        await api.put(content("other", "k"), data=b"x", headers=limited),
        await api.get(content("other", "k"), headers=limited),
        await api.get("/v1/buckets/other/objects", headers=limited),
        await api.delete(content("other", "k"), headers=limited),
    ):
        error = await error_of(response, 403)
        assert error["code"] == "AccessDenied" and error["details"] == {"bucket": "other"}


@pytest.fixture
def small_config(tmp_path: Path) -> Config:
    return load_config(
        env={
            "NFYIO_DATA_DIR": str(tmp_path / "data"),
            "NFYIO_ROOT_ACCESS_KEY": ROOT_KEY,
            "NFYIO_ROOT_SECRET_KEY": ROOT_SECRET,
            "NFYIO_FSYNC": "false",
            "NFYIO_S3_MAX_OBJECT_SIZE": "1000",
        }
    )


async def test_uploads_over_the_limit_are_refused_and_leave_nothing(
    small_config: Config, aiohttp_client: Any
) -> None:
    await ensure_admin(small_config)
    api: Client = await aiohttp_client(make_api_app(Shared(small_config)))
    assert (await api.post("/v1/buckets", json={"name": "small"}, headers=ADMIN)).status == 201
    assert (await put(api, "small", "fits", b"x" * 1000)).status == 201
    declared = await put(api, "small", "big", b"x" * 1001)
    error = await error_of(declared, 413)
    assert error["code"] == "PayloadTooLarge" and error["details"] == {"limit": 1000}

    async def chunks() -> Any:  # no Content-Length: the limit is counted while streaming
        for _ in range(11):
            yield b"x" * 100

    streamed = await api.put(content("small", "big"), data=chunks(), headers=ADMIN)
    assert (await error_of(streamed, 413))["code"] == "PayloadTooLarge"
    listing = await (await api.get("/v1/buckets/small/objects", headers=ADMIN)).json()
    assert [o["key"] for o in listing["objects"]] == ["fits"]
