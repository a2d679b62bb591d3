"""The web console at a phone's width, with the keyboard alone, and under its CSP.

- The Access keys page at 390 px: nothing wider than the screen, a key can be created and
  its secret copied from a visible panel.
- Keyboard only: sign in with Tab and Enter; each page's heading takes the focus; the
  navigation is reachable and works with Enter.
- Every page, as an admin: no CSP violation reported and no script error; an injected
  inline script is blocked (the policy has teeth); the headers are the strict ones.
- A fresh visit (no session cookie) goes to the sign-in form without a failed request.
- Every page and its actions, as another account's admin user and plain user: no request
  of the page fails.
"""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.e2e.console_browser import (
    PASSWORD,
    Tab,
    heading,
    make_user,
    new_tab,
    sign_in_key,
    sign_in_user,
)
from tests.e2e.gateway_process import ROOT_SECRET, Gateway
from tests.e2e.rest_util import api_json
from tests.e2e.tenants import new_tenant

PHONE = {"width": 390, "height": 844}


def _fits_the_screen(page: Page, width: int) -> None:
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page is {scroll_width} px wide on a {width} px screen"


def test_access_keys_page_at_phone_width(
    console_gateway: Gateway, browser: Browser, screenshot_dir: Path
) -> None:
    tab = new_tab(browser, **PHONE)
    page = tab.page
    sign_in_user(page, console_gateway, make_user(console_gateway))
    _fits_the_screen(page, PHONE["width"])
    page.get_by_role("link", name="Access keys").click()
    heading(page, "Access keys")
    _fits_the_screen(page, PHONE["width"])
    page.get_by_label("Name", exact=True).fill("phone key")
    page.get_by_role("checkbox", name=re.compile("^read:objects ")).check()
    create = page.get_by_role("button", name="Create key")
    create.scroll_into_view_if_needed()
    create.click()
    panel = page.get_by_role("region", name="New key “phone key”")
    expect(panel).to_be_in_viewport()
    expect(panel.get_by_role("button", name="Copy secret")).to_be_visible()
    assert panel.get_by_label("Secret", exact=True).input_value().startswith("sk_")
    _fits_the_screen(page, PHONE["width"])
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshot_dir / "console-phone-keys.png"))
    page.get_by_role("button", name="Done: I have stored it").click()
    # The key list reads as labelled cards at this width.
    row = page.get_by_role("row").filter(has_text="phone key")
    expect(row.get_by_role("button", name="Revoke key phone key")).to_be_visible()
    _fits_the_screen(page, PHONE["width"])
    assert tab.errors == [] and tab.violations() == []
    tab.close()


def _focused(page: Page) -> str:
    description: str = page.evaluate(
        "() => { const el = document.activeElement;"
        " return `${el.tagName} ${el.getAttribute('aria-label') || el.textContent.trim()}`; }"
    )
    return description


def test_keyboard_only_sign_in_and_navigation(console_gateway: Gateway, browser: Browser) -> None:
    tab = new_tab(browser)
    page = tab.page
    username = make_user(console_gateway)
    page.goto(f"{console_gateway.api_url}/console")
    heading(page, "Sign in to the nfyio-gateway console")
    # The first field has the focus; type, Tab, type, Enter: no mouse anywhere.
    expect(page.get_by_label("User name", exact=True)).to_be_focused()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    page.keyboard.type("correct horse battery staple")
    page.keyboard.press("Enter")
    # The new page's heading takes the focus.
    expect(page.get_by_role("heading", level=1, name="Buckets")).to_be_focused()
    # The navigation sits before the page: Shift+Tab walks back through it.
    page.keyboard.press("Shift+Tab")
    assert _focused(page) == "A Account"
    page.keyboard.press("Shift+Tab")
    assert _focused(page) == "A Access keys"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Access keys")).to_be_focused()
    for expected in ("A Account", "A Access keys", "A Buckets", "BUTTON Sign out"):
        page.keyboard.press("Shift+Tab")
        assert _focused(page) == expected
    # First in the page: the skip link, which moves the focus to the page's heading.
    page.keyboard.press("Shift+Tab")
    assert _focused(page) == "A Skip to content"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Access keys")).to_be_focused()
    # A wrong password: the error is announced and the focus returns to the form.
    page.get_by_role("button", name="Sign out").press("Enter")
    heading(page, "Sign in to the nfyio-gateway console")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type("wrong password")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_have_text("Invalid username or password")
    expect(page.get_by_label("User name", exact=True)).to_be_focused()
    assert tab.errors == [] and tab.violations() == []
    tab.close()


PAGES = [
    ("Buckets", "#/buckets"),
    ("Access keys", "#/keys"),
    ("Users", "#/users"),
    ("OAuth clients", "#/clients"),
    ("Account", "#/account"),
    ("Activity", "#/activity"),
]


def test_every_page_keeps_its_csp(
    console_gateway: Gateway, browser: Browser, screenshot_dir: Path
) -> None:
    gw = console_gateway
    gw.client().create_bucket(Bucket="csp-check")
    gw.client().put_object(
        Bucket="csp-check", Key="dir/<img src=x onerror=alert(1)>.txt", Body=b"x"
    )
    tab: Tab = new_tab(browser)
    page = tab.page
    sign_in_key(page, gw, ROOT_SECRET)  # the root key: admin, every page is offered
    for title, fragment in PAGES:
        page.get_by_role("link", name=title, exact=True).click()
        heading(page, title)
        expect(page).to_have_url(re.compile(re.escape(fragment) + "$"))
    # The audit log lists at least this gateway's own start (the sign-in's key use).
    expect(page.get_by_role("table", name="Audit events")).to_be_visible()
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_text("admin", exact=True).first).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "console-account.png"))
    # A key name that looks like HTML is shown as text, never parsed.
    page.get_by_role("link", name="Buckets").click()
    page.get_by_role("link", name="csp-check", exact=True).click()
    page.get_by_role("link", name="dir/").click()
    expect(page.get_by_text("<img src=x onerror=alert(1)>.txt", exact=True)).to_be_visible()
    assert page.locator("main img").count() == 0
    assert tab.errors == [] and tab.violations() == []

    # The policy has teeth: an inline script injected into the page does not run.
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__inline_ran = true'; document.body.append(s); }"
    )
    page.wait_for_function("() => window.__violations.length > 0")
    assert page.evaluate("() => window.__inline_ran") is None
    assert tab.violations()[0]["directive"].startswith("script-src")
    tab.close()


def test_console_headers_are_strict(console_gateway: Gateway) -> None:
    base = console_gateway.api_url
    for url in (f"{base}/console", f"{base}/console/static/js/app.js"):
        with urllib.request.urlopen(url, timeout=10) as response:
            headers = response.headers
            csp = headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
            assert headers["X-Content-Type-Options"] == "nosniff"
            assert headers["Referrer-Policy"] == "no-referrer"
            assert headers["Cache-Control"] == "no-cache" and headers["ETag"]
    with urllib.request.urlopen(f"{base}/console", timeout=10) as response:
        page = response.read().decode()
    # No inline script or style in the page the CSP protects.
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    assert "style=" not in page and "<style" not in page


def _watch_failures(tab: Tab) -> list[str]:
    """Every request the page saw fail (4xx/5xx) and every error it logged."""
    failures: list[str] = []
    tab.page.on(
        "response",
        lambda r: (
            failures.append(f"{r.status} {r.request.method} {r.url}") if r.status >= 400 else None
        ),
    )
    tab.page.on("console", lambda msg: failures.append(msg.text) if msg.type == "error" else None)
    return failures


def test_a_fresh_visit_goes_to_sign_in_without_a_failed_request(
    console_gateway: Gateway, tab: Tab
) -> None:
    """The page asks for a session on every load; without one that is no error."""
    gw, page = console_gateway, tab.page
    failures = _watch_failures(tab)
    with page.expect_response(lambda r: r.url.endswith("/console/session/refresh")) as asked:
        page.goto(f"{gw.api_url}/console")
    assert asked.value.status == 204
    heading(page, "Sign in to the nfyio-gateway console")
    expect(page.get_by_label("User name", exact=True)).to_be_focused()
    assert failures == []
    # After a sign-out the cookie is gone: a reload is a fresh visit again.
    sign_in_user(page, gw, make_user(gw))
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    with page.expect_response(lambda r: r.url.endswith("/console/session/refresh")) as asked:
        page.reload()
    assert asked.value.status == 204
    heading(page, "Sign in to the nfyio-gateway console")
    assert failures == []


TENANT_PAGES = ["Buckets", "Access keys", "Users", "OAuth clients", "Account", "Activity"]


def _click_through(tab: Tab, offered: list[str]) -> None:
    """Every page in the navigation: offered exactly these, each renders without an error."""
    page = tab.page
    navigation = page.get_by_role("navigation", name="Console sections").get_by_role("link")
    expect(navigation).to_have_text(offered)
    for title in offered:
        page.get_by_role("link", name=title, exact=True).click()
        heading(page, title)
        expect(page.get_by_text("Loading…")).to_have_count(0)
        expect(page.locator("main [role=alert]")).to_have_count(0)


def test_every_page_as_a_tenant_admin_and_a_tenant_user(
    console_gateway: Gateway, browser: Browser, tmp_path: Path
) -> None:
    """The REST API's later rules (sealed cursors, the S3 access decision on /v1, unknown
    or repeated query parameters refused) leave every page and action working for another
    account's admin user and its plain user: no request of the page fails."""
    gw = console_gateway
    tenant = new_tenant(gw, "console-pages")
    bucket = f"pages-{tenant.id[-8:].lower()}"
    s3 = tenant.client()
    s3.create_bucket(Bucket=bucket)
    for n in range(101):  # one more than the browser's page: Next follows a cursor
        s3.put_object(Bucket=bucket, Key=f"o{n:03d}", Body=b"x")
    for _ in range(51):  # one more than the Activity page's page of events
        tenant.key(scopes=["read:objects"])
    admin, user = f"ca-{tenant.id[-6:].lower()}", f"cu-{tenant.id[-6:].lower()}"
    for name, scopes in (
        (admin, ["admin"]),
        (user, ["read:buckets", "read:objects", "write:objects", "delete:objects"]),
    ):
        body = {"username": name, "password": PASSWORD, "scopes": scopes}
        api_json(gw, "POST", "/v1/users", headers=tenant.headers, body=body, expect=201)

    tab = new_tab(browser)
    failures = _watch_failures(tab)
    page = tab.page
    sign_in_user(page, gw, admin)
    _click_through(tab, TENANT_PAGES)
    page.get_by_role("button", name="Load more events").click()
    expect(page.get_by_role("button", name="Load more events")).to_have_count(0)
    page.get_by_label("Action").select_option("access_key.create")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("table", name="Audit events")).to_contain_text("access_key.create")
    assert failures == [] and tab.errors == [] and tab.violations() == []
    tab.close()

    tab = new_tab(browser)
    failures = _watch_failures(tab)
    page = tab.page
    sign_in_user(page, gw, user)
    _click_through(tab, ["Buckets", "Access keys", "Account"])
    page.get_by_role("link", name="Buckets", exact=True).click()
    page.get_by_role("link", name=bucket, exact=True).click()
    heading(page, f"Bucket {bucket}")
    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_text("o100", exact=True)).to_be_visible()
    page.get_by_role("button", name="Previous page").click()
    expect(page.get_by_text("o000", exact=True)).to_be_visible()
    upload = tmp_path / "a-upload.txt"
    upload.write_bytes(b"from the console")
    page.locator("input[type=file]").set_input_files(str(upload))
    expect(page.get_by_role("progressbar", name=re.compile("a-upload.txt"))).to_have_attribute(
        "value", "16"
    )
    with page.expect_download() as download:
        page.get_by_role("button", name="Download a-upload.txt").click()
    assert Path(download.value.path()).read_bytes() == b"from the console"
    page.get_by_role("button", name="Delete a-upload.txt").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete object").click()
    expect(page.get_by_text("a-upload.txt", exact=True)).to_have_count(0)
    assert failures == [] and tab.errors == [] and tab.violations() == []
    tab.close()
