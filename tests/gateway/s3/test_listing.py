"""ListObjectsV2 paging as real clients drive it."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from aiohttp.test_utils import TestClient

from tests.gateway.s3.conftest import ROOT, make_bucket

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


async def _page(s3: TestClient[Any, Any], url: str) -> tuple[list[str], str | None]:
    response = await s3.get(url, headers=ROOT)
    root = ElementTree.fromstring(await response.read())
    keys = [e.findtext(f"{NS}Key") or "" for e in root.iter(f"{NS}Contents")]
    return keys, root.findtext(f"{NS}NextContinuationToken")


async def test_continuation_token_wins_over_start_after(s3: TestClient[Any, Any]) -> None:
    """minio-py sends start-after=<token text> with every continuation token. AWS ignores
    start-after once a token is present; keys sorting below the token's base64 text (digits,
    upper case) must not be skipped, nor keys above it (lower case) repeated."""
    bucket = await make_bucket(s3)
    keys = sorted(["0", "1", "A", "B", "Z", "a", "b", "z", "zz"])
    for key in keys:
        await s3.put(f"/{bucket}/{key}", data=b"x", headers=ROOT)
    seen, token = await _page(s3, f"/{bucket}?list-type=2&max-keys=1")
    while token is not None:
        page, token = await _page(
            s3, f"/{bucket}?list-type=2&max-keys=1&continuation-token={token}&start-after={token}"
        )
        seen += page
    assert seen == keys
