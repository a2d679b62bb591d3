#!/usr/bin/env python3
"""Uploads straight from the browser to nfyio-gateway: the web app's backend signs, the
browser sends the bytes to the S3 endpoint itself (they never pass through this server).

    make run                                                  # the gateway, in one terminal
    export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...    # an nfyio access key pair
    python examples/browser-upload/server.py                  # then open http://localhost:8000

This stands in for your application's backend. It holds the access key, gives the page
presigned PUT/GET URLs and POST forms (``/sign``), and on start sets the bucket's CORS
configuration so that pages from its own origin may call the S3 endpoint and read
``ETag`` and ``x-amz-version-id``. The page (``index.html``, ``app.js``) then uploads a
file three ways: ``fetch`` with a presigned PUT, an HTML form POST (the browser navigates
to the gateway and is redirected back to ``done.html``), and ``fetch`` with the same form
as ``FormData``.

Settings: AWS_ENDPOINT_URL (default http://localhost:7007), NFYIO_BUCKET (default
``browser-upload-demo``), ``--port`` (8000), ``--host`` (localhost), ``--skip-cors``
(leave the bucket's CORS configuration alone).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import mimetypes
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
from botocore.config import Config

HERE = Path(__file__).resolve().parent
PAGES = {
    "/": "index.html",
    "/index.html": "index.html",
    "/app.js": "app.js",
    "/done.html": "done.html",
}
MAX_UPLOAD = 100 * 1024 * 1024


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )


def allow_origins(s3: Any, bucket: str, origins: list[str]) -> None:
    """The bucket's CORS rule for this app: uploads and downloads from its pages, with the
    headers a page must be able to read."""
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "ID": "browser-upload-example",
                    "AllowedOrigins": origins,
                    "AllowedMethods": ["GET", "HEAD", "PUT", "POST"],
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": ["ETag", "x-amz-version-id", "x-amz-request-id"],
                    "MaxAgeSeconds": 600,
                }
            ]
        },
    )


def make_handler(s3: Any, bucket: str, endpoint: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(f"browser-upload: {format % args}\n")

        def origin(self) -> str:
            return f"http://{self.headers.get('Host', 'localhost')}"

        def send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            # No inline code; scripts from here, requests and form posts to the gateway.
            self.send_header(
                "Content-Security-Policy",
                f"default-src 'none'; script-src 'self'; style-src 'self'; "
                f"connect-src 'self' {endpoint}; form-action 'self' {endpoint}; base-uri 'none'",
            )
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path in PAGES:
                name = PAGES[url.path]
                kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
                self.send(200, (HERE / name).read_bytes(), f"{kind}; charset=utf-8")
            elif url.path == "/sign":
                self.sign(parse_qs(url.query))
            else:
                self.send(404, b"not found", "text/plain")

        def sign(self, query: dict[str, list[str]]) -> None:
            """Presigned URLs and a POST form for one upload; the key is the app's choice
            (a prefix per user, say), never the browser's alone."""
            name = (query.get("name") or ["file.bin"])[0][:200]
            key = f"browser/{name}"
            post = s3.generate_presigned_post(
                Bucket=bucket,
                Key="browser/${filename}",
                Fields={"success_action_redirect": f"{self.origin()}/done.html"},
                Conditions=[
                    ["starts-with", "$success_action_redirect", f"{self.origin()}/"],
                    ["content-length-range", 0, MAX_UPLOAD],
                ],
                ExpiresIn=600,
            )
            fetch_post = s3.generate_presigned_post(
                Bucket=bucket,
                Key="browser/${filename}",
                Fields={"success_action_status": "201"},
                Conditions=[
                    {"success_action_status": "201"},
                    ["content-length-range", 0, MAX_UPLOAD],
                ],
                ExpiresIn=600,
            )
            answer = {
                "bucket": bucket,
                "key": key,
                "put_url": s3.generate_presigned_url(
                    "put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=600
                ),
                "get_url": s3.generate_presigned_url(
                    "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=600
                ),
                "form": post,
                "fetch_form": fetch_post,
            }
            self.send(200, json.dumps(answer).encode(), "application/json")

    return Handler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--skip-cors", action="store_true")
    args = parser.parse_args()
    if not (os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY")):
        print("Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to an nfyio access key pair.")
        return 2
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "http://localhost:7007").rstrip("/")
    bucket = os.environ.get("NFYIO_BUCKET", "browser-upload-demo")
    s3 = s3_client(endpoint)
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        s3.create_bucket(Bucket=bucket)
    if not args.skip_cors:
        allow_origins(
            s3, bucket, [f"http://localhost:{args.port}", f"http://127.0.0.1:{args.port}"]
        )
    server = ThreadingHTTPServer((args.host, args.port), make_handler(s3, bucket, endpoint))
    print(f"open http://{args.host}:{args.port}/  (bucket {bucket} on {endpoint})", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
