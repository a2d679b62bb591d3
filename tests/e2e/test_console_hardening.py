"""The web console under an adversarial audit, in Chromium against the real gateway.

- Two console tabs opening at once share one refresh cookie: without coordination both
  present the same refresh token, the second is refresh-token reuse and the whole family
  is revoked, signing every tab out. The page serialises its session calls (Web Locks).
- Object keys with hidden characters (a right-to-left override, a zero-width space) are
  shown with the characters marked, so "evil<RLO>gpj.exe" cannot read as "evilexe.jpg".
- A 1,024-character key does not squeeze the other columns until buttons break mid-word.
- A sign-out that never reached the gateway says so, visibly, and offers to try again.
- An upload with an access token that expired (a sleeping tab: the renewal timer did not
  run) renews the token and sends the file again, as every other call does.
- The OAuth client form without a scope says so before sending (the gateway's 400: a
  client's tokens carry at most its scopes, so one without any could do nothing).
- A downloaded HTML object cannot run on the console's origin: the page saves it from a
  blob: URL, which is the console's origin and escapes the download's CSP sandbox;
  typed text/html, that URL opened as a page ran the object's scripts there.
"""

from __future__ import annotations

import time
import urllib.parse
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Request, Route, expect

from tests.e2e.console_browser import (
    Tab,
    heading,
    make_user,
    sign_in_user,
)
from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import ADMIN, call

ADMIN_SCOPES = ["admin"]
SHORT_TTL = 3  # seconds an access token lives on the short-lived gateway


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(
        tmp_path_factory,
        "gw-console-short",
        extra_env={
            "NFYIO_AUTH_ACCESS_TOKEN_TTL": str(SHORT_TTL),
            "NFYIO_AUTH_JWT_LEEWAY": "0",
        },
    )


def _bucket_with(gateway: Gateway, keys: list[str]) -> str:
    bucket = f"hard-{uuid.uuid4().hex[:10]}"
    assert (
        call(f"{gateway.api_url}/v1/buckets", "POST", body={"name": bucket}, headers=ADMIN).status
        == 201
    )
    for key in keys:
        quoted = urllib.parse.quote(key, safe="")
        url = f"{gateway.api_url}/v1/buckets/{bucket}/objects/content?key={quoted}"
        reply = call(url, "PUT", headers={**ADMIN, "Content-Type": "text/plain"}, raw_form="x")
        assert reply.status == 201, reply.body
    return bucket


def _pending_lock(page: Page) -> bool:
    """Whether the page waits for the console's session lock (a refresh queued behind
    another tab's)."""
    waiting: bool = page.evaluate(
        "async () => navigator.locks ? (await navigator.locks.query()).pending.length > 0 : false"
    )
    return waiting


def test_tabs_opened_together_keep_the_session(console_gateway: Gateway, tab: Tab) -> None:
    page = tab.page
    sign_in_user(page, console_gateway, make_user(console_gateway, ADMIN_SCOPES))
    # A browser restoring two more console tabs: both load and renew their token at once.
    # The first renewal is held at the network until the other tab is committed to its
    # own: its request arrives too (both carry the same refresh token: reuse, and the
    # family is revoked), or it waits for the first one's answer (the session lock).
    held: list[Route] = []
    passing = False

    def hold_first(route: Route) -> None:
        if passing:
            route.continue_()
        else:
            held.append(route)

    tab.context.route("**/console/session/refresh", hold_first)
    others = [tab.context.new_page(), tab.context.new_page()]
    for other in others:
        other.goto(f"{console_gateway.api_url}/console", wait_until="commit")
    deadline = time.monotonic() + 120
    while len(held) < 2 and not (held and any(_pending_lock(o) for o in others)):
        assert time.monotonic() < deadline, f"{len(held)} renewal(s) seen, none queued"
        page.wait_for_timeout(100)
    passing = True
    for route in held:
        route.continue_()
    for other in others:
        expect(other.get_by_role("button", name="Sign out")).to_be_visible(timeout=60_000)
        heading(other, "Buckets")
    # The first tab's session is alive too: its next page loads with its token.
    page.get_by_role("link", name="Users").click()
    heading(page, "Users")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    # And the cookie the tabs share still renews.
    others[0].reload()
    heading(others[0], "Buckets")
    tab.context.unroute("**/console/session/refresh")


def test_hidden_characters_in_keys_are_shown(console_gateway: Gateway, tab: Tab) -> None:
    page = tab.page
    spoof, twin = "evil\u202egpj.exe", "report\u200b.pdf"
    bucket = _bucket_with(console_gateway, [spoof, twin, "report.pdf"])
    sign_in_user(page, console_gateway, make_user(console_gateway, ADMIN_SCOPES))
    page.goto(f"{console_gateway.api_url}/console#/browse?bucket={bucket}")
    heading(page, f"Bucket {bucket}")
    names = page.locator("table.data td[data-label='Name']")
    expect(names).to_have_count(3)
    shown = names.evaluate_all("(cells) => cells.map((cell) => cell.textContent)")
    # The override and the zero-width space appear as marked code points, and the look-
    # alike "report.pdf" is told apart from its twin.
    assert sorted(shown) == ["evilU+202Egpj.exe", "report.pdf", "reportU+200B.pdf"]
    marks = page.locator(".hidden-char")
    expect(marks).to_have_count(2)
    # Labels and the confirmation spell them out too; the delete acts on the real key.
    page.get_by_role("button", name="Delete evil[U+202E]gpj.exe").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Delete “evilU+202Egpj.exe”?")
    dialog.get_by_role("button", name="Delete object").click()
    expect(names).to_have_count(2)
    listed = call(f"{console_gateway.api_url}/v1/buckets/{bucket}/objects", headers=ADMIN).json()
    assert sorted(o["key"] for o in listed["objects"]) == ["report.pdf", twin]


def _lines(page: Page, name: str) -> int:
    """How many lines the button's text takes."""
    count: int = page.get_by_role("button", name=name).evaluate(
        "(el) => { const r = document.createRange(); r.selectNodeContents(el);"
        " return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size; }"
    )
    return count


def test_a_long_key_leaves_the_buttons_whole(console_gateway: Gateway, tab: Tab) -> None:
    page = tab.page
    long_key = "x" * 1024
    bucket = _bucket_with(console_gateway, [long_key, "dir/short.txt"])
    sign_in_user(page, console_gateway, make_user(console_gateway, ADMIN_SCOPES))
    page.goto(f"{console_gateway.api_url}/console#/browse?bucket={bucket}")
    heading(page, f"Bucket {bucket}")
    assert _lines(page, f"Download {long_key}") == 1
    assert _lines(page, f"Delete {long_key}") == 1
    folder_cell = page.get_by_role("row").filter(has_text="dir/").locator("td").nth(1)
    assert folder_cell.evaluate("(el) => el.getClientRects()[0].width >= el.scrollWidth")
    words: int = folder_cell.evaluate(
        "(el) => { const r = document.createRange(); r.selectNodeContents(el);"
        " return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size; }"
    )
    assert words == 1, "“folder” broke mid-word"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280


def test_a_failed_sign_out_says_the_session_is_still_active(
    console_gateway: Gateway, tab: Tab
) -> None:
    page = tab.page
    sign_in_user(page, console_gateway, make_user(console_gateway))

    # The gateway is unreachable for the sign-out (a network failure, not its answer).
    def drop_sign_out(route: Route, request: Request) -> None:
        if request.method == "DELETE":
            route.abort("connectionrefused")
        else:
            route.continue_()

    page.route("**/console/session", drop_sign_out)
    page.get_by_role("button", name="Sign out").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Sign-out did not reach the gateway")
    expect(alert).to_contain_text("still active")
    retry = alert.get_by_role("button", name="Sign out again")
    expect(retry).to_be_focused()
    # It is true: the browser still holds the session's cookie, until the sign-out
    # reaches the gateway and revokes it.
    cookie = {c["name"]: c["value"] for c in tab.context.cookies()}["nfyio_console_refresh"]
    page.unroute("**/console/session")
    retry.click()
    expect(page.get_by_role("status").filter(has_text="You are signed out.")).to_be_visible()
    reply = call(
        f"{console_gateway.api_url}/console/session/refresh",
        "POST",
        headers={
            "Cookie": f"nfyio_console_refresh={cookie}",
            "Origin": console_gateway.api_url,
            "X-Nfyio-Console": "1",
        },
    )
    assert reply.status == 401, reply.body


def test_upload_renews_an_expired_token(short_lived: Gateway, tab: Tab, tmp_path: Path) -> None:
    page = tab.page
    bucket = _bucket_with(short_lived, [])
    # The page's timers stand still (a sleeping laptop, a throttled background tab): the
    # renewal scheduled before the token expires never runs.
    page.clock.install()
    sign_in_user(page, short_lived, make_user(short_lived))
    page.goto(f"{short_lived.api_url}/console#/browse?bucket={bucket}")
    heading(page, f"Bucket {bucket}")
    with page.expect_response(lambda r: r.url.endswith("/console/session/refresh")):
        page.clock.pause_at(datetime.now() + timedelta(hours=1))  # fires the renewal once
    time.sleep(SHORT_TTL + 1.5)  # the renewed token has expired; the page has no timer left
    statuses: list[int] = []
    page.on(
        "response",
        lambda r: statuses.append(r.status) if r.request.method == "PUT" else None,
    )
    upload = tmp_path / "after sleep ü.txt"
    upload.write_text("still signed in")
    page.locator("input[type=file]").set_input_files(str(upload))
    row = page.get_by_role("row").filter(has_text="after sleep ü.txt")
    expect(row.get_by_role("button", name="Download after sleep ü.txt")).to_be_visible()
    assert statuses[0] == 401 and statuses[-1] == 201, statuses
    body = call(
        f"{short_lived.api_url}/v1/buckets/{bucket}/objects/content?key="
        + urllib.parse.quote("after sleep ü.txt"),
        headers=ADMIN,
    ).body
    assert body == b"still signed in"


def test_a_client_without_a_scope_is_refused_before_sending(
    console_gateway: Gateway, tab: Tab
) -> None:
    gw, page = console_gateway, tab.page
    refused = call(
        f"{gw.api_url}/v1/clients", "POST", body={"name": "no scope", "scopes": []}, headers=ADMIN
    )
    assert refused.status == 400, refused.body
    assert refused.json()["error"] == {
        "code": "ValidationError",
        "message": "A client needs at least one scope",
        "details": {"field": "scopes"},
    }
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
    sign_in_user(page, gw, make_user(gw, ADMIN_SCOPES))
    page.get_by_role("link", name="OAuth clients", exact=True).click()
    heading(page, "OAuth clients")
    page.get_by_label("Name", exact=True).fill("no scope")
    sent.clear()
    page.get_by_role("button", name="Register client").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose at least one scope")
    expect(page.get_by_role("group", name="Scopes").get_by_role("checkbox").first).to_be_focused()
    assert not [url for url in sent if url.endswith("/v1/clients")], sent


def test_a_client_without_a_grant_type_is_refused_before_sending(
    console_gateway: Gateway, tab: Tab
) -> None:
    """An empty ``grant_types`` asks for no grant: 400, not the defaults (the client was
    registered with the password grant in silence). Omitted, the defaults still apply."""
    gw, page = console_gateway, tab.page
    body = {"name": "no grant", "scopes": ["read:buckets"], "grant_types": []}
    refused = call(f"{gw.api_url}/v1/clients", "POST", body=body, headers=ADMIN)
    assert refused.status == 400, refused.body
    error = refused.json()["error"]
    assert (error["code"], error["details"]) == ("ValidationError", {"field": "grant_types"})
    assert "at least one grant type" in error["message"]
    del body["grant_types"]
    made = call(f"{gw.api_url}/v1/clients", "POST", body=body, headers=ADMIN)
    assert made.status == 201, made.body
    assert made.json()["grant_types"] == ["password", "refresh_token"]
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
    sign_in_user(page, gw, make_user(gw, ADMIN_SCOPES))
    page.get_by_role("link", name="OAuth clients", exact=True).click()
    heading(page, "OAuth clients")
    page.get_by_label("Name", exact=True).fill("no grant")
    grants = page.get_by_role("group", name="Grant types").get_by_role("checkbox")
    for index in range(grants.count()):
        grants.nth(index).uncheck()
    page.get_by_role("group", name="Scopes").get_by_role("checkbox").first.check()
    sent.clear()
    page.get_by_role("button", name="Register client").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose at least one grant type")
    expect(grants.first).to_be_focused()
    assert not [url for url in sent if url.endswith("/v1/clients")], sent


HOSTILE_PAGE = (
    "<!doctype html><title>hostile</title><h1>rendered</h1>"
    "<script>localStorage.setItem('hostile-ran', location.origin)</script>"
)


def test_a_downloaded_html_object_cannot_run_on_the_console_origin(
    console_gateway: Gateway, tab: Tab
) -> None:
    page = tab.page
    bucket = _bucket_with(console_gateway, [])
    url = f"{console_gateway.api_url}/v1/buckets/{bucket}/objects/content?key=page.html"
    reply = call(url, "PUT", headers={**ADMIN, "Content-Type": "text/html"}, raw_form=HOSTILE_PAGE)
    assert reply.status == 201, reply.body
    sign_in_user(page, console_gateway, make_user(console_gateway, ADMIN_SCOPES))
    page.goto(f"{console_gateway.api_url}/console#/browse?bucket={bucket}")
    heading(page, f"Bucket {bucket}")
    with page.expect_download() as saved:
        page.get_by_role("button", name="Download page.html").click()
    download = saved.value
    assert download.suggested_filename == "page.html"
    assert Path(download.path()).read_text() == HOSTILE_PAGE
    # The blob: URL the page saved from is the console's origin. Opened as a page (a
    # link's "open in new tab", a script that learnt it), it is one more download of
    # the bytes, never a document rendered beside the session.
    assert download.url.startswith(f"blob:{console_gateway.api_url}/")
    opened = tab.context.new_page()
    with opened.expect_download() as again, pytest.raises(PlaywrightError, match="Download"):
        opened.goto(download.url)
    assert Path(again.value.path()).read_text() == HOSTILE_PAGE
    opened.close()
    assert page.evaluate("() => localStorage.getItem('hostile-ran')") is None
