"""Headless Chromium for the web console's tests: Debian's ``chromium`` driven by Playwright.

No browser is downloaded (``playwright install`` is never run): Playwright launches the
system binary (``make test`` installs it with apt, ``make chromium``). Screenshots go to a
temporary folder, or to ``$NFYIO_SCREENSHOT_DIR`` (``docs/images`` to refresh the ones
in docs/console.md).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.oauth_util import ADMIN, call

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple"
USER_SCOPES = ["read:buckets", "write:buckets", "read:objects", "write:objects"]

# Collects CSP violations and uncaught errors from the first script that runs on a page.
WATCH_PAGE = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push({directive: e.violatedDirective, blocked: e.blockedURI});
});
"""


def require_chromium() -> str:
    """Chromium is part of the test machine (``make chromium``): fail loudly, never skip."""
    assert CHROMIUM is not None, "chromium is needed: `make chromium` (apt-get install chromium)"
    return CHROMIUM


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    """Debian's chromium under Playwright, for one test module."""
    executable = require_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def screenshot_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``$NFYIO_SCREENSHOT_DIR`` (``docs/images`` refreshes the documentation's), else a
    temporary folder."""
    configured = os.environ.get("NFYIO_SCREENSHOT_DIR")
    folder = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Tab:
    """A fresh browser context (its own cookies) with one page, and what went wrong in it."""

    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)

    def violations(self) -> list[dict[str, Any]]:
        """CSP violations the page reported (``securitypolicyviolation`` events)."""
        found: list[dict[str, Any]] = self.page.evaluate("() => window.__violations")
        return found

    def close(self) -> None:
        self.context.close()


def new_tab(browser: Browser, *, width: int = 1280, height: int = 800) -> Tab:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB")
    context.add_init_script(WATCH_PAGE)
    tab = Tab(context, context.new_page())
    tab.page.on("pageerror", lambda exc: tab.errors.append(f"page error: {exc}"))
    tab.page.on(
        "console",
        lambda msg: tab.errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return tab


def make_user(gateway: Gateway, scopes: list[str] | None = None) -> str:
    username = f"user-{uuid.uuid4().hex[:8]}"
    reply = call(
        f"{gateway.api_url}/v1/users",
        "POST",
        body={"username": username, "password": PASSWORD, "scopes": scopes or USER_SCOPES},
        headers=ADMIN,
    )
    assert reply.status == 201, reply.body
    return username


def sign_in_user(page: Page, gateway: Gateway, username: str) -> None:
    page.goto(f"{gateway.api_url}/console")
    page.get_by_label("User name", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def sign_in_key(page: Page, gateway: Gateway, secret: str) -> None:
    page.goto(f"{gateway.api_url}/console")
    page.get_by_label("Access key secret").fill(secret)
    page.get_by_role("button", name="Sign in with key").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def heading(page: Page, text: str) -> None:
    expect(page.get_by_role("heading", level=1, name=text)).to_be_visible()


# -- fixtures: tests/e2e/conftest.py makes them every e2e module's (one may define its own) --


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test module."""
    with launch_chromium() as launched:
        yield launched


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    """A fresh browser context and page; the test fails if the page threw an error or
    broke its Content-Security-Policy."""
    opened = new_tab(browser)
    yield opened
    assert opened.errors == [], opened.errors
    assert opened.violations() == []
    opened.close()


@pytest.fixture(scope="module")
def console_gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """A gateway with default settings for one console test module."""
    module = request.module.__name__.rpartition(".")[2]
    running = start_gateway(Path(tmp_path_factory.mktemp(f"gw-{module}")) / "data")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return screenshot_folder(tmp_path_factory)
