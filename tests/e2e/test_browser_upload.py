"""Uploads from a web page in headless Chromium (Debian's ``chromium`` under Playwright),
served from another origin than the gateway: ``examples/browser-upload`` run as it is.

For both backends: (1) a presigned PUT through ``fetch``, preflighted, whose ``ETag`` and
``x-amz-version-id`` the page reads (the CORS rule exposes them), downloaded again and
compared; (2) a real HTML form POST with a file input, redirected back to the page's
origin with bucket, key and ETag; (3) the same form through ``fetch`` and ``FormData``;
(4) a page from an origin no rule allows: its ``fetch`` fails as a CORS failure and
nothing is stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import FilePayload, Page, expect

from tests.e2e.console_browser import Tab
from tests.e2e.gateway_process import Gateway, free_port
from tests.e2e.s3util import keys_of, unique

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "browser-upload" / "server.py"


@pytest.fixture(params=["filesystem", "upstream"])
def page_gateway(request: pytest.FixtureRequest) -> Gateway:
    """The gateway over the filesystem backend, and over the s3 backend (moto)."""
    gw: Gateway = request.getfixturevalue(
        "gateway" if request.param == "filesystem" else "upstream_gateway"
    )
    return gw


class App:
    """``examples/browser-upload/server.py`` running on its own port: another origin."""

    def __init__(self, gw: Gateway, bucket: str, tmp: Path, *, skip_cors: bool = False) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NFYIO_"))}
        env.update(
            {
                "AWS_ENDPOINT_URL": gw.s3_url,
                "NFYIO_BUCKET": bucket,
                "AWS_ACCESS_KEY_ID": gw.access_key,
                "AWS_SECRET_ACCESS_KEY": gw.secret_key,
                "AWS_CONFIG_FILE": str(tmp / "aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "aws-credentials"),
                "AWS_EC2_METADATA_DISABLED": "true",
            }
        )
        args = [sys.executable, str(EXAMPLE), "--host", "127.0.0.1", "--port", str(self.port)]
        if skip_cors:
            args.append("--skip-cors")
        self.log = tmp / f"app-{self.port}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"example server did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def bucket(page_gateway: Gateway) -> str:
    s3 = page_gateway.client()
    name = unique("browser")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
def app(page_gateway: Gateway, bucket: str, tmp_path: Path) -> Iterator[App]:
    running = App(page_gateway, bucket, tmp_path)
    yield running
    running.stop()


def preflights(gw: Gateway, status: int) -> int:
    """Preflights the gateway answered with ``status`` so far (its access log)."""
    return gw.log().count(f"op=PreflightObject principal=- status={status} ")


def result(page: Page, element: str) -> dict[str, Any]:
    locator = page.locator(element)
    expect(locator).not_to_be_empty(timeout=30_000)
    found: dict[str, Any] = json.loads(locator.text_content() or "{}")
    return found


def choose(page: Page, selector: str, name: str, data: bytes) -> None:
    page.set_input_files(
        selector,
        files=[FilePayload(name=name, mimeType="application/octet-stream", buffer=data)],
    )


def test_presigned_put_with_fetch(page_gateway: Gateway, app: App, bucket: str, tab: Tab) -> None:
    data = os.urandom(200_000)
    asked = preflights(page_gateway, 200)
    tab.page.goto(f"{app.origin}/")
    choose(tab.page, "#picker", "photo.bin", data)
    tab.page.click("#put")
    got = result(tab.page, "#put-result")
    s3 = page_gateway.client()
    head = s3.head_object(Bucket=bucket, Key="browser/photo.bin")
    assert got == {
        "status": 200,
        "etag": f'"{hashlib.md5(data).hexdigest()}"',
        "versionId": head["VersionId"],
        "requestId": got["requestId"],
        "key": "browser/photo.bin",
        "downloadStatus": 200,
        "sameBytes": True,
    }
    assert re.fullmatch(r"[0-9A-F]{16}", got["requestId"])
    assert s3.get_object(Bucket=bucket, Key="browser/photo.bin")["Body"].read() == data
    # the browser asked first: a PUT is not a simple request
    assert preflights(page_gateway, 200) > asked


def test_html_form_post_with_a_file_input(
    page_gateway: Gateway, app: App, bucket: str, tab: Tab
) -> None:
    data = os.urandom(70_000)
    page = tab.page
    page.goto(f"{app.origin}/")
    choose(page, "#form-file", "form upload.bin", data)
    page.click("#prepare")
    expect(page.locator("#form")).to_have_attribute("data-ready", "true")
    with page.expect_navigation(url=re.compile(r"/done\.html\?")):
        page.click("#submit")
    assert page.url.startswith(f"{app.origin}/done.html?")
    got = result(page, "#done")
    etag = f'"{hashlib.md5(data).hexdigest()}"'
    assert got == {"bucket": bucket, "key": "browser/form upload.bin", "etag": etag}
    stored = page_gateway.client().get_object(Bucket=bucket, Key="browser/form upload.bin")
    assert stored["Body"].read() == data
    assert stored["ETag"] == etag


def test_form_post_with_fetch_reads_the_answer(
    page_gateway: Gateway, app: App, bucket: str, tab: Tab
) -> None:
    data = b"posted through fetch\n" * 100
    tab.page.goto(f"{app.origin}/")
    choose(tab.page, "#picker", "notes.txt", data)
    tab.page.click("#post")
    got = result(tab.page, "#post-result")
    etag = f'"{hashlib.md5(data).hexdigest()}"'
    head = page_gateway.client().head_object(Bucket=bucket, Key="browser/notes.txt")
    assert (got["status"], got["etag"], got["versionId"]) == (201, etag, head["VersionId"])
    assert "<PostResponse>" in got["body"]
    assert "<Key>browser/notes.txt</Key>" in got["body"]


def test_a_page_from_another_origin_is_refused(
    page_gateway: Gateway, app: App, bucket: str, tab: Tab, tmp_path: Path
) -> None:
    stranger = App(page_gateway, bucket, tmp_path, skip_cors=True)
    refused = preflights(page_gateway, 403)
    try:
        tab.page.goto(f"{stranger.origin}/")
        choose(tab.page, "#picker", "nope.bin", b"must not be stored")
        tab.page.click("#put")
        put = result(tab.page, "#put-result")
    finally:
        stranger.stop()
    # fetch rejects with a TypeError (a CORS failure tells the page nothing more); the
    # preflight was refused, so the PUT itself was never sent
    assert put == {"error": "TypeError: Failed to fetch"}
    assert keys_of(page_gateway.client(), bucket) == []
    assert preflights(page_gateway, 403) > refused


def test_another_origin_cannot_read_a_form_answer(
    page_gateway: Gateway, app: App, bucket: str, tab: Tab, tmp_path: Path
) -> None:
    """A form POST is a CORS *simple* request: the browser sends it without asking, and
    only the answer is withheld from the page. What authorises the upload is the signed
    policy, as in S3 (docs/cors.md)."""
    stranger = App(page_gateway, bucket, tmp_path, skip_cors=True)
    try:
        tab.page.goto(f"{stranger.origin}/")
        choose(tab.page, "#picker", "signed.bin", b"the policy allowed this")
        tab.page.click("#post")
        post = result(tab.page, "#post-result")
    finally:
        stranger.stop()
    assert post == {"error": "TypeError: Failed to fetch"}
    stored = page_gateway.client().get_object(Bucket=bucket, Key="browser/signed.bin")
    assert stored["Body"].read() == b"the policy allowed this"
