"""The console's Users, OAuth clients and Buckets pages list every entry, a page at a time.

They read one page of ``GET /v1/users`` / ``GET /v1/clients`` (100 entries) and follow
``next_cursor`` with a "Load more" button, as the Access keys page does; before, they asked
for one page of 1,000 and an installation with more never saw the rest. An action on an
entry from a later page reloads as many entries as were shown, so the row stays in view.
The Buckets page does the same since ``GET /v1/buckets`` pages (it read one answer, which
now holds the first 50 buckets only).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.console_browser import PASSWORD, Tab, heading, sign_in_key
from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import api_json
from tests.e2e.tenants import Tenant, new_tenant

PAGE = 100  # entries the console asks for at a time (static/js/paging.js)
COUNT = PAGE + 1


def _make_many(tenant: Tenant, path: str, body: Callable[[int], dict[str, Any]]) -> None:
    """COUNT users or clients in the tenant's account (``body(n)`` is the n-th's)."""

    def one(n: int) -> None:
        api_json(tenant.gateway, "POST", path, headers=tenant.headers, body=body(n), expect=201)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(COUNT)))


def _rows(page: Page, caption: str) -> int:
    return page.get_by_role("table", name=caption).locator("tbody tr").count()


def _all_entries_after_load_more(page: Page, caption: str, more: str) -> None:
    table = page.get_by_role("table", name=caption)
    expect(table.locator("tbody tr")).to_have_count(PAGE)
    page.get_by_role("button", name=more).click()
    expect(table.locator("tbody tr")).to_have_count(COUNT)
    expect(page.get_by_role("button", name=more)).to_have_count(0)


def test_users_page_shows_every_user(console_gateway: Gateway, tab: Tab) -> None:
    tenant = new_tenant(console_gateway, "users-paging")
    _make_many(
        tenant,
        "/v1/users",
        lambda n: {"username": f"pu-{n:04d}", "password": PASSWORD, "scopes": ["read:buckets"]},
    )
    page = tab.page
    sign_in_key(page, console_gateway, tenant.secret)
    page.get_by_role("link", name="Users", exact=True).click()
    heading(page, "Users")
    _all_entries_after_load_more(page, "Users", "Load more users")
    listed = page.get_by_role("table", name="Users").locator("tbody tr td:first-child")
    names = sorted(listed.all_inner_texts())
    assert names == [f"pu-{n:04d}" for n in range(COUNT)]
    # An action on a row of the second page keeps it (and the whole list) in view.
    last = page.get_by_role("table", name="Users").locator("tbody tr").last
    name = last.locator("td").first.inner_text()
    last.get_by_role("button", name=f"Disable {name}").click()
    row = page.get_by_role("row").filter(has=page.get_by_text(name, exact=True))
    expect(row).to_contain_text("disabled")
    assert _rows(page, "Users") == COUNT


def test_clients_page_shows_every_client(console_gateway: Gateway, tab: Tab) -> None:
    tenant = new_tenant(console_gateway, "clients-paging")
    _make_many(tenant, "/v1/clients", lambda n: {"name": f"pc-{n:04d}", "scopes": ["read:buckets"]})
    page = tab.page
    sign_in_key(page, console_gateway, tenant.secret)
    page.get_by_role("link", name="OAuth clients", exact=True).click()
    heading(page, "OAuth clients")
    _all_entries_after_load_more(page, "OAuth clients", "Load more clients")
    listed = page.get_by_role("table", name="OAuth clients").locator("tbody tr td:first-child")
    names = sorted(listed.all_inner_texts())
    assert names == [f"pc-{n:04d}" for n in range(COUNT)]
    # Deleting a client from the second page: the others stay listed.
    last = page.get_by_role("table", name="OAuth clients").locator("tbody tr").last
    name = last.locator("td").first.inner_text()
    last.get_by_role("button", name=f"Delete client {name}").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete client").click()
    expect(page.get_by_text(name, exact=True)).to_have_count(0)
    expect(page.get_by_role("table", name="OAuth clients").locator("tbody tr")).to_have_count(PAGE)
    assert re.fullmatch(r"pc-\d{4}", name)


def test_account_page_asks_only_for_the_callers_own_keys(
    console_gateway: Gateway, tab: Tab
) -> None:
    """The Account page lists the admin's own keys with ``?mine=true`` (the API filters),
    not by reading every key of the account and keeping its own."""
    tenant = new_tenant(console_gateway, "own-keys")
    other = tenant.key(name="another admin", scopes=["admin"])
    for n in range(3):  # the account's keys that are not the signed-in key's
        api_json(
            console_gateway,
            "POST",
            "/v1/access-keys",
            headers={"Authorization": f"Bearer {other['secret']}"},
            body={"name": f"theirs {n}", "scopes": ["read:buckets"]},
            expect=201,
        )
    page = tab.page
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/v1/access-keys" in r.url else None)
    sign_in_key(page, console_gateway, tenant.secret)
    page.get_by_role("link", name="Account", exact=True).click()
    heading(page, "Account")
    table = page.get_by_role("table", name="Your keys")
    expect(table.locator("tbody tr")).to_have_count(2)
    ids = sorted(table.locator("tbody tr td:nth-child(2)").all_inner_texts())
    assert ids == sorted([tenant.key_id, other["id"]])
    assert asked and all("mine=true" in url for url in asked), asked


def test_buckets_page_shows_every_bucket(console_gateway: Gateway, tab: Tab) -> None:
    tenant = new_tenant(console_gateway, "buckets-paging")
    prefix = f"pb-{tenant.id[-6:].lower()}"
    _make_many(tenant, "/v1/buckets", lambda n: {"name": f"{prefix}-{n:04d}"})
    page = tab.page
    sign_in_key(page, console_gateway, tenant.secret)
    heading(page, "Buckets")
    _all_entries_after_load_more(page, "Buckets", "Load more buckets")
    listed = page.get_by_role("table", name="Buckets").locator("tbody tr td:first-child")
    assert listed.all_inner_texts() == [f"{prefix}-{n:04d}" for n in range(COUNT)]
    # Deleting a bucket from the second page: the others stay listed.
    name = f"{prefix}-{COUNT - 1:04d}"
    page.get_by_role("button", name=f"Delete bucket {name}").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete bucket").click()
    expect(page.get_by_text(name, exact=True)).to_have_count(0)
    expect(page.get_by_role("table", name="Buckets").locator("tbody tr")).to_have_count(PAGE)
