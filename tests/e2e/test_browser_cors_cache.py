"""A browser's HTTP cache and CORS, in headless Chromium (Debian's ``chromium`` under
Playwright): a page shows an object with ``<img>`` (no ``Origin``: not a CORS request),
then reads the same URL with ``fetch`` (a CORS request). A cacheable answer to the first
must not be handed to the second: it carries no ``Access-Control-Allow-Origin``, and
Chromium would fail the ``fetch`` until the cached copy expires. The gateway sends
``Vary`` on every answer from a bucket with CORS rules, ``Origin`` or not (docs/cors.md).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.e2e.console_browser import Tab
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import unique

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
"""A 1x1 PNG."""


class _Page(BaseHTTPRequestHandler):
    html = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.html)))
        self.end_headers()
        self.wfile.write(self.html)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def page_server() -> Iterator[tuple[str, type[_Page]]]:
    """A page on another origin than the gateway (another port): (origin, handler)."""
    handler = type("Page", (_Page,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_an_image_shown_first_does_not_break_a_fetch_of_it(
    gateway: Gateway, tab: Tab, page_server: tuple[str, type[_Page]]
) -> None:
    origin, handler = page_server
    s3 = gateway.client(signature_version="s3v4")
    bucket = unique()
    s3.create_bucket(Bucket=bucket)
    rule = {"AllowedOrigins": [origin], "AllowedMethods": ["GET"]}
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [rule]})
    # an asset a browser keeps: an hour in its cache
    s3.put_object(
        Bucket=bucket, Key="a.png", Body=PNG, ContentType="image/png", CacheControl="max-age=3600"
    )
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a.png"})
    handler.html = f'<html><body><img id="shown" src="{url}"></body></html>'.encode()
    page = tab.page
    page.goto(f"{origin}/")
    page.wait_for_function("document.getElementById('shown').complete")
    assert page.evaluate("document.getElementById('shown').naturalWidth") == 1
    got = page.evaluate(
        """async (url) => {
          try {
            const response = await fetch(url);
            const body = new Uint8Array(await response.arrayBuffer());
            return {status: response.status, size: body.length};
          } catch (error) {
            return {error: String(error)};
          }
        }""",
        url,
    )
    assert got == {"status": 200, "size": len(PNG)}
