"""The seed's whole flow in the web console, in headless Chromium against the real gateway.

A user signs in with a name and password, creates a bucket and an access key, reads the
secret once, uses that key with boto3 to upload, sees the object in the browser, uploads
and downloads through the page, revokes the key (boto3 is refused at once) and signs out
(the refresh cookie is revoked: a refresh with it fails). A second test signs in with an
access key secret and copies a presigned link that works without credentials.
"""

from __future__ import annotations

import re
import urllib.request
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from playwright.sync_api import Page, expect

from tests.e2e.console_browser import (
    Tab,
    heading,
    make_user,
    sign_in_key,
    sign_in_user,
)
from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import ADMIN, call

MiB = 1024 * 1024


def _session_refresh(gateway: Gateway, cookie: str) -> int:
    """What the console's page would send to renew its token, with a given cookie."""
    reply = call(
        f"{gateway.api_url}/console/session/refresh",
        "POST",
        headers={
            "Cookie": f"nfyio_console_refresh={cookie}",
            "Origin": gateway.api_url,
            "X-Nfyio-Console": "1",
        },
    )
    return reply.status


def _refresh_cookie(tab: Tab) -> str:
    cookies = {c["name"]: c for c in tab.context.cookies()}
    cookie = cookies["nfyio_console_refresh"]
    # Stored by Chromium over plain http://127.0.0.1 (a potentially trustworthy origin).
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/console/session"
    return str(cookie["value"])


def _no_secret_in_storage(page: Page, secret: str) -> None:
    stored = page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage),"
        " document.cookie, location.href])"
    )
    assert secret not in stored
    assert "rt_" not in page.evaluate("() => document.cookie")


def _create_key(page: Page, name: str, scopes: list[str]) -> tuple[str, str]:
    page.get_by_role("link", name="Access keys").click()
    heading(page, "Access keys")
    page.get_by_label("Name", exact=True).fill(name)
    for scope in scopes:
        page.get_by_role("checkbox", name=re.compile(f"^{re.escape(scope)} ")).check()
    page.get_by_role("button", name="Create key").click()
    panel = page.get_by_role("region", name=f"New key “{name}”")
    expect(panel).to_be_visible()
    key_id = panel.get_by_label("Access key ID").input_value()
    secret = panel.get_by_label("Secret", exact=True).input_value()
    expect(panel.get_by_text(f'aws_access_key_id="{key_id}"')).to_be_visible()
    expect(panel.get_by_role("button", name="Copy secret")).to_be_visible()
    return key_id, secret


def test_seed_flow_in_the_browser(
    console_gateway: Gateway, tab: Tab, tmp_path: Path, screenshot_dir: Path
) -> None:
    gw, page = console_gateway, tab.page
    username = make_user(gw)
    bucket = f"console-{uuid.uuid4().hex[:10]}"

    # The API listener's root lands on the console; sign in with name and password.
    page.goto(f"{gw.api_url}/")
    expect(page).to_have_url(re.compile(r"/console"))
    heading(page, "Sign in to the nfyio-gateway console")
    page.screenshot(path=str(screenshot_dir / "console-signin.png"))
    sign_in_user(page, gw, username)
    heading(page, "Buckets")

    # Create a bucket through the page.
    page.get_by_label("New bucket name").fill(bucket)
    page.get_by_role("button", name="Create bucket").click()
    expect(page.get_by_role("link", name=bucket, exact=True)).to_be_visible()

    # A key, its secret shown once with the SDK snippet.
    key_id, secret = _create_key(page, "boto3 upload", ["read:objects", "write:objects"])
    assert secret.startswith("sk_")
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshot_dir / "console-new-key.png"))
    page.get_by_role("button", name="Done: I have stored it").click()
    expect(page.get_by_role("region", name="New key “boto3 upload”")).to_have_count(0)
    assert secret not in page.content()
    _no_secret_in_storage(page, secret)
    row = page.get_by_role("row").filter(has_text=key_id)
    expect(row).to_contain_text("active")

    # The key works with boto3 against the S3 listener.
    s3 = gw.client(key_id, secret)
    s3.put_object(Bucket=bucket, Key="reports/hello.txt", Body=b"hello from boto3")

    # ...and the object shows up in the browser.
    page.get_by_role("link", name="Buckets").click()
    page.get_by_role("link", name=bucket, exact=True).click()
    heading(page, f"Bucket {bucket}")
    page.get_by_role("link", name="reports/").click()
    expect(page.get_by_text("hello.txt", exact=True)).to_be_visible()

    # Upload through the page (XHR with a progress bar), then download it back.
    upload = tmp_path / "data.bin"
    upload.write_bytes(uuid.uuid4().bytes * (3 * MiB // 16))
    page.locator("input[type=file]").set_input_files(str(upload))
    progress = page.get_by_role("progressbar", name=re.compile("data.bin"))
    expect(progress).to_have_attribute("value", str(3 * MiB))
    expect(page.get_by_text("data.bin", exact=True)).to_be_visible()
    stored = s3.get_object(Bucket=bucket, Key="reports/data.bin")
    assert stored["Body"].read() == upload.read_bytes()
    assert stored["ContentType"] == "application/octet-stream"
    page.screenshot(path=str(screenshot_dir / "console-bucket.png"))
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download reports/data.bin").click()
    download = download_info.value
    assert download.suggested_filename == "data.bin"
    assert Path(download.path()).read_bytes() == upload.read_bytes()

    # Revoke the key in the page: boto3 is refused at once.
    page.get_by_role("link", name="Access keys").click()
    page.get_by_role("button", name="Revoke key boto3 upload").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke key").click()
    expect(page.get_by_role("row").filter(has_text=key_id)).to_contain_text("revoked")
    with pytest.raises(ClientError) as refused:
        s3.list_objects_v2(Bucket=bucket)
    assert refused.value.response["Error"]["Code"] == "InvalidAccessKeyId"

    # A reload keeps the session (the cookie refreshes it); sign-out revokes it.
    page.reload()
    heading(page, "Access keys")
    cookie = _refresh_cookie(tab)
    page.get_by_role("button", name="Sign out").click()
    heading(page, "Sign in to the nfyio-gateway console")
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    assert "nfyio_console_refresh" not in {c["name"] for c in tab.context.cookies()}
    assert _session_refresh(gw, cookie) == 401
    page.reload()
    heading(page, "Sign in to the nfyio-gateway console")


def test_access_key_sign_in_and_presigned_link(console_gateway: Gateway, tab: Tab) -> None:
    gw, page = console_gateway, tab.page
    bucket = f"console-{uuid.uuid4().hex[:10]}"
    gw.client().create_bucket(Bucket=bucket)
    gw.client().put_object(Bucket=bucket, Key="shared/report.csv", Body=b"a,b\n1,2\n")
    reply = call(
        f"{gw.api_url}/v1/access-keys",
        "POST",
        body={"name": "reader", "scopes": ["read:buckets", "read:objects"], "buckets": [bucket]},
        headers=ADMIN,
    )
    assert reply.status == 201, reply.body
    secret = reply.json()["secret"]

    sign_in_key(page, gw, secret)
    heading(page, "Buckets")
    # Only what the key may do is offered: no bucket creation, no upload, no delete.
    expect(page.get_by_role("button", name="Create bucket")).to_have_count(0)
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    page.get_by_role("link", name=bucket, exact=True).click()
    page.get_by_role("link", name="shared/").click()
    expect(page.get_by_text("Upload files")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete shared/report.csv")).to_have_count(0)
    page.get_by_role("button", name="Copy a presigned link to shared/report.csv").click()
    url = page.get_by_role("textbox", name=re.compile("^Presigned link")).input_value()
    assert url.startswith(gw.s3_url + f"/{bucket}/shared/report.csv?X-Amz-Algorithm=")
    assert secret not in url
    with urllib.request.urlopen(url, timeout=10) as response:  # no credentials at all
        assert response.read() == b"a,b\n1,2\n"
    _no_secret_in_storage(page, secret)

    # The key is revoked elsewhere: the next call ends the console session cleanly.
    key_id = reply.json()["id"]
    revoked = call(f"{gw.api_url}/v1/access-keys/{key_id}", "DELETE", headers=ADMIN)
    assert revoked.status == 204
    page.get_by_role("link", name="Account").click()
    heading(page, "Sign in to the nfyio-gateway console")
    expect(page.get_by_text(re.compile("Your session has ended"))).to_be_visible()
    # Nothing was kept: a reload still shows the sign-in page.
    page.reload()
    heading(page, "Sign in to the nfyio-gateway console")
