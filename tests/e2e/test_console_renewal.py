"""The console's session renewal when the gateway cannot answer, in Chromium.

A renewal (``POST /console/session/refresh``) that fails because the network is down or
the gateway is busy (``503`` with ``Retry-After``: the state store is unavailable; ``429``:
rate limited) does not end the session: the refresh cookie is still good. The page keeps
the session, says that the gateway cannot be reached and when it tries again (after
``Retry-After`` when given), tries again, and the user's action completes once the
renewal works. An action that cannot wait that long (``Retry-After`` beyond its patience)
fails with an error saying so, and the session stays. Only the gateway refusing the
session (a real ``401 NoSession``) signs the user out. The failures are made with
Playwright's request routing on the real gateway's endpoint; the console's code runs
unchanged.

A tab still running the session script from before the gateway answered a refresh
without a cookie with ``204`` (``testdata/console_session_before_204.js``, served in
place of the current one) is answered the ``401`` it understands: when its cookie is
gone (signed out in another tab, or past its ``Max-Age``) it signs out, instead of
reading the 204 as no answer and retrying for ever.

A page whose browser refuses it storage keeps its session's name in memory: its renewals
go on working for the page's life.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request, Route, expect

from tests.e2e.console_browser import (
    Tab,
    heading,
    make_user,
    new_tab,
    sign_in_user,
)
from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import ADMIN, call

SHORT_TTL = 3  # seconds an access token lives: API calls soon need a renewal
FAILURES = 2  # renewals that fail once the user acts, before the gateway answers again
RETRY_AFTER = 2  # seconds, in the busy answers
REFRESH = "**/console/session/refresh"

# Every text the connection banner (#connection) shows, from the page's first script.
WATCH_BANNER = """
window.__banner = [];
document.addEventListener("DOMContentLoaded", () => {
  const banner = document.getElementById("connection");
  if (!banner) return;
  new MutationObserver(() => {
    if (banner.textContent) window.__banner.push(banner.textContent);
  }).observe(banner, {childList: true, subtree: true, characterData: true});
});
"""

BUSY = {
    "503": (
        "ServiceUnavailable",
        "The state store is unavailable; retry later",
        "The gateway is unavailable for the moment (503: The state store is unavailable",
    ),
    "429": (
        "RateLimitExceeded",
        f"Rate limit exceeded; retry in {RETRY_AFTER} s",
        "The gateway is busy (429: Rate limit exceeded",
    ),
}
SAID = {
    "network": "The console cannot reach the gateway",
    **{status: said for status, (_, _, said) in BUSY.items()},
}


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(
        tmp_path_factory,
        "gw-console-renewal",
        extra_env={
            "NFYIO_AUTH_ACCESS_TOKEN_TTL": str(SHORT_TTL),
            "NFYIO_AUTH_JWT_LEEWAY": "0",
        },
    )


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    opened = new_tab(browser)
    opened.context.add_init_script(WATCH_BANNER)
    yield opened
    assert opened.errors == [], opened.errors
    assert opened.violations() == []
    opened.close()


@dataclass
class Attempt:
    page: Page
    at: float  # time.monotonic() when the renewal reached the network
    failed: bool


def _fail(route: Route, kind: str) -> None:
    if kind == "network":
        route.abort("internetdisconnected")
        return
    code, message, _ = BUSY[kind]
    route.fulfill(
        status=int(kind),
        headers={"Retry-After": str(RETRY_AFTER), "Cache-Control": "no-store"},
        content_type="application/json",
        body=json.dumps({"error": {"code": code, "message": message, "details": {}}}),
    )


def _banner(page: Page) -> list[str]:
    shown: list[str] = page.evaluate("() => window.__banner")
    return shown


@pytest.mark.parametrize("kind", ["network", "503", "429"])
def test_a_renewal_the_gateway_cannot_answer_keeps_the_session(
    short_lived: Gateway, tab: Tab, kind: str
) -> None:
    page = tab.page
    sign_in_user(page, short_lived, make_user(short_lived))
    heading(page, "Buckets")
    # A second tab shares the cookie: both renew through the outage, one at a time.
    other = tab.context.new_page()
    other.goto(f"{short_lived.api_url}/console")
    heading(other, "Buckets")

    attempts: list[Attempt] = []
    acting = False

    def flaky(route: Route, request: Request) -> None:
        failing = acting and sum(a.failed for a in attempts) < FAILURES
        attempts.append(Attempt(request.frame.page, time.monotonic(), failing))
        if failing:
            _fail(route, kind)
        else:
            route.continue_()

    tab.context.route(REFRESH, flaky)
    time.sleep(SHORT_TTL + 1.5)  # both tabs' access tokens have expired
    # The user acts in both tabs: each call is answered 401 and waits for a renewal, and
    # the first renewals fail.
    acting = True
    bucket = f"renew-{uuid.uuid4().hex[:10]}"
    page.get_by_label("New bucket name").fill(bucket)
    page.get_by_role("button", name="Create bucket").click()
    other.get_by_role("link", name="Account").click()

    # Both actions complete once the gateway answers again, still signed in.
    expect(page.get_by_role("row").filter(has_text=bucket)).to_be_visible(timeout=90_000)
    expect(other.get_by_role("heading", level=1, name="Account")).to_be_visible(timeout=90_000)
    for tab_page in (page, other):
        expect(tab_page.get_by_role("button", name="Sign out")).to_be_visible()
        expect(tab_page.locator("#connection")).to_have_text("", timeout=60_000)
        expect(tab_page.get_by_text("Your session has ended")).to_have_count(0)
    listed = call(f"{short_lived.api_url}/v1/buckets", headers=ADMIN).json()
    assert bucket in {b["name"] for b in listed["buckets"]}

    # Meanwhile the page said what was wrong, that the session lives on, and that it
    # tries again.
    assert sum(a.failed for a in attempts) == FAILURES, attempts
    shown = _banner(page) + _banner(other)
    assert any(SAID[kind] in text for text in shown), shown
    assert all("You are still signed in; the console will try again in" in t for t in shown)
    if kind in BUSY:
        # Retry-After is honoured: a tab's next renewal leaves no sooner than that after
        # the busy answer (a lower bound, which a slow machine only lengthens).
        for tab_page in (page, other):
            mine = [a for a in attempts if a.page == tab_page]
            for before, after in itertools.pairwise(mine):
                if before.failed:
                    assert after.at - before.at >= RETRY_AFTER - 0.05, mine

    # No refresh token was presented twice: the family lives, a reload resumes it.
    tab.context.unroute(REFRESH)
    other.reload()
    heading(other, "Account")
    page.get_by_role("link", name="Account").click()
    heading(page, "Account")


def test_a_refused_renewal_still_ends_the_session(short_lived: Gateway, tab: Tab) -> None:
    page = tab.page
    sign_in_user(page, short_lived, make_user(short_lived))
    heading(page, "Buckets")
    statuses: list[int] = []
    page.on(
        "response",
        lambda r: statuses.append(r.status) if r.url.endswith("/console/session/refresh") else None,
    )
    # The session is revoked elsewhere (a sign-out with the same cookie): the page's next
    # renewal is refused by the gateway itself.
    cookie = {c["name"]: c["value"] for c in tab.context.cookies()}["nfyio_console_refresh"]
    reply = call(
        f"{short_lived.api_url}/console/session",
        "DELETE",
        headers={
            "Cookie": f"nfyio_console_refresh={cookie}",
            "Origin": short_lived.api_url,
            "X-Nfyio-Console": "1",
        },
    )
    assert reply.status == 204, reply.body
    expect(page.get_by_role("status").filter(has_text="Your session has ended")).to_be_visible(
        timeout=90_000
    )
    expect(page.get_by_label("User name", exact=True)).to_be_visible()
    assert statuses and statuses[-1] == 401, statuses
    assert _banner(page) == []


def test_an_action_that_cannot_wait_says_so_and_keeps_the_session(
    short_lived: Gateway, tab: Tab
) -> None:
    page = tab.page
    sign_in_user(page, short_lived, make_user(short_lived))
    heading(page, "Buckets")
    # Rate limited for two minutes: longer than an action waits for its renewal.
    limited = True

    def rate_limited(route: Route) -> None:
        if not limited:
            route.continue_()
            return
        route.fulfill(
            status=429,
            headers={"Retry-After": "120", "Cache-Control": "no-store"},
            content_type="application/json",
            body=json.dumps(
                {
                    "error": {
                        "code": "RateLimitExceeded",
                        "message": "Rate limit exceeded; retry in 120 s",
                        "details": {"retry_after": 120},
                    }
                }
            ),
        )

    tab.context.route(REFRESH, rate_limited)
    time.sleep(SHORT_TTL + 1.5)  # the access token has expired
    bucket = f"renew-{uuid.uuid4().hex[:10]}"
    page.get_by_label("New bucket name").fill(bucket)
    page.get_by_role("button", name="Create bucket").click()
    # The action reports at once that it could not be done, and why; the session stays.
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("could not be reached to renew your session", timeout=60_000)
    expect(alert).to_contain_text("You are still signed in")
    banner = page.locator("#connection")
    expect(banner).to_contain_text("The gateway is busy (429")
    expect(banner).to_contain_text("try again in 120 s")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    # The gateway answers again; the user does not wait out the two minutes.
    limited = False
    banner.get_by_role("button", name="Retry now").click()
    expect(banner).to_have_text("", timeout=60_000)
    page.get_by_role("button", name="Create bucket").click()
    expect(page.get_by_role("row").filter(has_text=bucket)).to_be_visible(timeout=60_000)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    tab.context.unroute(REFRESH)


OLD_SESSION_SCRIPT = Path(__file__).parent / "testdata" / "console_session_before_204.js"


def test_a_tab_from_before_the_204_ends_its_session_without_retrying(
    short_lived: Gateway, tab: Tab
) -> None:
    page = tab.page
    old_script = OLD_SESSION_SCRIPT.read_text()
    tab.context.route(
        "**/console/static/js/session.js",
        lambda route: route.fulfill(status=200, content_type="text/javascript", body=old_script),
    )
    sign_in_user(page, short_lived, make_user(short_lived))
    heading(page, "Buckets")
    statuses: list[int] = []
    page.on(
        "response",
        lambda r: statuses.append(r.status) if r.url.endswith("/console/session/refresh") else None,
    )
    # The cookie is gone: signed out in another (upgraded) tab, or past its Max-Age. The
    # old script's next renewal is sent without it.
    tab.context.clear_cookies()
    expect(page.get_by_role("status").filter(has_text="Your session has ended")).to_be_visible(
        timeout=90_000
    )
    expect(page.get_by_label("User name", exact=True)).to_be_visible()
    assert statuses == [401], statuses
    assert _banner(page) == []  # never "cannot reach the gateway"


# The browser refuses this origin's storage (as with site data blocked): every use throws.
NO_STORAGE = """
Object.defineProperty(window, "localStorage", {
  get() { throw new DOMException("The operation is insecure.", "SecurityError"); },
});
"""


def test_without_storage_the_session_lasts_as_long_as_the_page(
    short_lived: Gateway, tab: Tab
) -> None:
    """The page keeps its session's name in memory too: without storage its renewals
    still name the session (they were refused 401 and the session ended with the first
    access token), and its sign-out revokes it."""
    page = tab.page
    tab.context.add_init_script(NO_STORAGE)
    sign_in_user(page, short_lived, make_user(short_lived))
    heading(page, "Buckets")
    with page.expect_response(
        lambda r: r.url.endswith("/console/session/refresh"), timeout=60_000
    ) as renewal:
        pass
    assert renewal.value.status == 200, renewal.value.text()
    page.get_by_role("link", name="Account").click()
    heading(page, "Account")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    cookie = {c["name"]: c["value"] for c in tab.context.cookies()}["nfyio_console_refresh"]
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("User name", exact=True)).to_be_visible()
    reply = call(
        f"{short_lived.api_url}/console/session/refresh",
        "POST",
        headers={
            "Cookie": f"nfyio_console_refresh={cookie}",
            "Origin": short_lived.api_url,
            "X-Nfyio-Console": "1",
        },
    )
    assert reply.status == 401, reply.body
