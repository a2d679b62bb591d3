"""``GET /v1/buckets`` pages as the other ``/v1`` listings do (``limit``, ``cursor``,
``next_cursor``; default 50, at most 1,000), in name order.

It answered every bucket of the caller at once, each through the access decision (and,
upstream, a versioning read each): up to ``s3.max_buckets_per_account`` (10,000) in one
answer. A request without ``limit`` now gets the first 50 and a ``next_cursor``, as a
key or user listing does. Real gateway process, REST over real sockets.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.rest_util import ADMIN, api_json, call

NAMES = [f"page-{index:03d}" for index in range(53)]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    running = start_gateway(Path(tmp_path_factory.mktemp("gw-bucket-pages")) / "data")
    for name in reversed(NAMES):  # made out of order: the pages are in name order
        api_json(running, "POST", "/v1/buckets", body={"name": name}, expect=201)
    yield running
    running.stop()


def _page(gateway: Gateway, **query: Any) -> dict[str, Any]:
    page: dict[str, Any] = api_json(gateway, "GET", f"/v1/buckets?{urlencode(query)}")
    return page


def _refused(gateway: Gateway, field: str, **query: Any) -> None:
    status, _, raw = call(gateway, "GET", f"/v1/buckets?{urlencode(query)}", headers=ADMIN)
    assert status == 400, raw
    error = json.loads(raw)["error"]
    assert (error["code"], error["details"]["field"]) == ("ValidationError", field)


def test_without_paging_parameters_the_first_page_and_a_cursor(gateway: Gateway) -> None:
    first = _page(gateway)
    assert [b["name"] for b in first["buckets"]] == NAMES[:50]
    assert isinstance(first["next_cursor"], str)
    rest = _page(gateway, cursor=first["next_cursor"])
    assert [b["name"] for b in rest["buckets"]] == NAMES[50:]
    assert rest["next_cursor"] is None


def test_pages_of_any_limit_cover_every_bucket_once(gateway: Gateway) -> None:
    everything = _page(gateway, limit=1000)
    assert [b["name"] for b in everything["buckets"]] == NAMES
    assert everything["next_cursor"] is None
    seen: list[str] = []
    query: dict[str, Any] = {"limit": 7}
    while True:
        page = _page(gateway, **query)
        assert len(page["buckets"]) <= 7
        seen.extend(b["name"] for b in page["buckets"])
        if page["next_cursor"] is None:
            break
        query = {"limit": 7, "cursor": page["next_cursor"]}
    assert seen == NAMES


def test_a_page_with_statistics_counts_its_own_buckets(gateway: Gateway) -> None:
    page = _page(gateway, stats="true", limit=2)
    assert [(b["name"], b["object_count"]) for b in page["buckets"]] == [
        (NAMES[0], 0),
        (NAMES[1], 0),
    ]
    following = _page(gateway, stats="true", limit=2, cursor=page["next_cursor"])
    assert [b["name"] for b in following["buckets"]] == NAMES[2:4]
    # The cursor is bound to the listing's filters, as every /v1 listing's.
    _refused(gateway, "cursor", cursor=page["next_cursor"])


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten", "1.5", ""])
def test_a_limit_out_of_range_is_refused(gateway: Gateway, limit: str) -> None:
    _refused(gateway, "limit", limit=limit)


def test_a_cursor_written_by_the_client_is_refused(gateway: Gateway) -> None:
    _refused(gateway, "cursor", cursor=NAMES[10])
    status, _, _ = call(gateway, "HEAD", f"/v1/buckets?cursor={NAMES[10]}", headers=ADMIN)
    assert status == 400
