"""Plain-urllib calls to the gateway's REST API and S3 listener (what curl would send)."""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.error
import urllib.request
from typing import Any

from tests.e2e.gateway_process import ROOT_SECRET, Gateway

ADMIN = {"Authorization": f"Bearer {ROOT_SECRET}"}


def call(
    gateway: Gateway,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: Any = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request; ``url`` is absolute or an API path. Returns status, headers, body."""
    if url.startswith("/"):
        url = gateway.api_url + url
    data = None
    all_headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    context = ssl.create_default_context(cafile=gateway.tls_ca) if gateway.tls_ca else None
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def api_json(
    gateway: Gateway,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: Any = None,
    expect: int = 200,
) -> Any:
    status, _, raw = call(gateway, method, path, headers=headers or ADMIN, body=body)
    assert status == expect, raw.decode(errors="replace")
    return json.loads(raw) if raw else None


def make_key(gateway: Gateway, headers: dict[str, str] | None = None, **body: Any) -> Any:
    body.setdefault("name", "e2e")
    return api_json(gateway, "POST", "/v1/access-keys", headers=headers, body=body, expect=201)


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def upload(
    gateway: Gateway, bucket: str, key: str, headers: dict[str, str], body: bytes
) -> tuple[int, Any]:
    """A REST upload (``PUT /v1/buckets/{bucket}/objects/content``) as the admin, with
    exactly these extra headers (http.client adds none of its own but Host and
    Content-Length): its status and JSON answer."""
    conn = http.client.HTTPConnection("127.0.0.1", gateway.api_port, timeout=30)
    try:
        path = f"/v1/buckets/{bucket}/objects/content?key={key}"
        conn.request("PUT", path, body=body, headers={**ADMIN, **headers})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()
