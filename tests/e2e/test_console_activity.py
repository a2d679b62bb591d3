"""The console's Activity page in headless Chromium: the audit log with its filters, a
key's history from the Access keys page, a failed sign-in, under the console's CSP."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.console_browser import (
    PASSWORD,
    Tab,
    heading,
    make_user,
    screenshot_folder,
    sign_in_key,
)
from tests.e2e.gateway_process import ROOT_SECRET, Gateway
from tests.e2e.rest_util import make_key


def test_activity_page_filters_and_a_keys_history(
    console_gateway: Gateway, tab: Tab, tmp_path_factory: pytest.TempPathFactory
) -> None:
    gw = console_gateway
    key = make_key(gw, name="reporting", scopes=["read:buckets"])
    gw.client(key["id"], key["secret"]).list_buckets()  # its first use is an event
    username = make_user(gw)
    page = tab.page
    # A failed sign-in through the console's own form.
    page.goto(f"{gw.api_url}/console")
    page.get_by_label("User name", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD + "-wrong")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_be_visible()

    sign_in_key(page, gw, ROOT_SECRET)
    page.get_by_role("link", name="Activity", exact=True).click()
    heading(page, "Activity")
    events = page.get_by_role("table", name="Audit events")
    expect(events.get_by_role("row").filter(has_text="access_key.create").first).to_be_visible()

    # Filter by action: the failed sign-in, and nothing else.
    page.get_by_label("Action").select_option("auth.password.failure")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"#/activity\?action=auth\.password\.failure$"))
    rows = page.get_by_role("table", name="Audit events").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("failure")
    expect(rows.first).to_contain_text("reason: invalid_credentials")
    expect(rows.first).to_contain_text("127.0.0.1")

    # A key's history from the Access keys page: created by the root key, used over S3.
    page.get_by_role("link", name="Access keys", exact=True).click()
    heading(page, "Access keys")
    page.get_by_role("link", name="History of key reporting").click()
    heading(page, "Activity")
    expect(page.get_by_label("Target ID")).to_have_value(key["id"])
    rows = page.get_by_role("table", name="Audit events").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("access_key.use")
    expect(rows.nth(0)).to_contain_text("listener: s3")
    expect(rows.nth(1)).to_contain_text("access_key.create")
    expect(rows.nth(1)).to_contain_text(f"key {gw.access_key}")
    page.screenshot(path=str(screenshot_folder(tmp_path_factory) / "console-activity.png"))

    page.get_by_role("button", name="Clear").click()
    expect(page).to_have_url(re.compile(r"#/activity$"))
    expect(page.get_by_label("Target ID")).to_have_value("")

    # Everything that happened to one bucket (lifecycle deletions are listed here too).
    s3 = gw.client()
    watched, other = f"act-{uuid.uuid4().hex[:12]}", f"act-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=watched)
    s3.create_bucket(Bucket=other)
    s3.put_bucket_versioning(Bucket=watched, VersioningConfiguration={"Status": "Enabled"})
    page.get_by_label("Bucket", exact=True).fill(watched)
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(rf"#/activity\?bucket={watched}$"))
    rows = page.get_by_role("table", name="Audit events").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("bucket.versioning.put")
    expect(rows.nth(1)).to_contain_text("bucket.create")
    expect(page.get_by_role("table", name="Audit events")).not_to_contain_text(other)
