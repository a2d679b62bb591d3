"""A name the console puts in an API path never climbs to another route.

The console fills route templates (``/v1/buckets/{name}/objects``) with
``encodeURIComponent``, which leaves dots alone, and the browser's URL parser removes
``.`` and ``..`` segments: a link ``#/browse?bucket=..`` (anyone can send one) made the
signed-in page call ``/v1/objects`` with the user's token, and ``.`` called
``/v1/buckets/objects``. No route answers those today, but any later one would have been
reached by a link. ``.`` and ``..`` are now refused before a request leaves.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Request, expect

from tests.e2e.console_browser import launch_chromium, make_user, new_tab, sign_in_user
from tests.e2e.gateway_process import Gateway


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launch_chromium() as launched:
        yield launched


@pytest.mark.parametrize("name", ["..", "."])
def test_a_dot_segment_bucket_in_a_link_calls_no_other_route(
    gateway: Gateway, chromium: Browser, name: str
) -> None:
    tab = new_tab(chromium)
    try:
        page = tab.page
        sign_in_user(page, gateway, make_user(gateway, ["admin"]))
        paths: list[str] = []

        def sent(request: Request) -> None:
            paths.append(urllib.parse.urlsplit(request.url).path)

        page.on("request", sent)
        page.goto(f"{gateway.api_url}/console#/browse?bucket={urllib.parse.quote(name)}")
        expect(page.get_by_role("alert")).to_contain_text(f"“{name}” is not a valid name")
        stray = [p for p in paths if p.startswith("/v1/") and not p.startswith("/v1/me")]
        assert stray == [], stray
        assert tab.errors == []
    finally:
        tab.close()
