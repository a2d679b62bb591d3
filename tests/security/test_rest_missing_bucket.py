"""Class: a ``/v1`` route naming a bucket that does not exist answers as if it did.

docs/api.md: "A bucket that does not exist is 404 ``NotFound`` for every caller". The
check of the bucket's owner (``buckets.path_bucket``) looks a bucket up only for a caller
outside the system account; a system-account caller relied on the backend answering
``NoSuchBucket``, which ``POST .../objects/presign`` never asks: the root key got 200 and
a signed URL for a bucket nobody has, a tenant's admin key 404. Every row of the route
table with a ``{name}`` in its path (HEAD of the GET rows included) is driven here with
the root key, another system-account key and a tenant's admin key: 404 ``NotFound``, and
no bucket appears. A new such row fails here until it has a sample request below.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest

from gateway.api.routes import ROUTES
from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import ADMIN, bearer, make_key
from tests.e2e.tenants import new_tenant

SAMPLES: dict[str, tuple[str, bytes | None, dict[str, str]]] = {
    # path of the row -> (query, body, headers of the body)
    "/v1/buckets/{name}": ("", None, {}),
    "/v1/buckets/{name}/objects": ("", None, {}),
    "/v1/buckets/{name}/objects/content": ("?key=k", b"bytes", {}),
    "/v1/buckets/{name}/objects/presign": (
        "",
        json.dumps({"key": "k"}).encode(),
        {"Content-Type": "application/json"},
    ),
}
BUCKET_ROWS = sorted(
    (method, row.path) for row in ROUTES if "{name}" in row.path for method in row.methods
)
SCOPES = ["read:buckets", "write:buckets", "read:objects", "write:objects", "delete:objects"]


def test_every_bucket_row_has_a_sample() -> None:
    assert {path for _, path in BUCKET_ROWS} == set(SAMPLES)
    assert len(BUCKET_ROWS) == 8  # DELETE bucket; GET, HEAD listing; PUT, GET, HEAD,
    # DELETE content; POST presign


def _send(gateway: Gateway, method: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    query, body, body_headers = SAMPLES[path]
    missing = f"no-such-{uuid.uuid4().hex[:12]}"
    url = gateway.api_url + path.replace("{name}", missing) + query
    sent = body if method in ("PUT", "POST") else None
    request = urllib.request.Request(
        url, data=sent, method=method, headers={**headers, **(body_headers if sent else {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture(scope="module")
def callers(gateway: Gateway) -> dict[str, dict[str, str]]:
    system_key = make_key(gateway, scopes=SCOPES)
    tenant = new_tenant(gateway, "missing")
    return {
        "root key": ADMIN,
        "system-account key": bearer(system_key["secret"]),
        "tenant admin key": tenant.headers,
    }


@pytest.mark.parametrize(("method", "path"), BUCKET_ROWS, ids=[f"{m} {p}" for m, p in BUCKET_ROWS])
def test_a_missing_bucket_is_not_found_for_every_caller(
    gateway: Gateway, s3: Any, callers: dict[str, dict[str, str]], method: str, path: str
) -> None:
    for caller, headers in callers.items():
        status, raw = _send(gateway, method, path, headers)
        assert status == 404, (caller, raw)
        if method != "HEAD":
            error = json.loads(raw)["error"]
            assert error["code"] == "NotFound", (caller, error)
            assert "url" not in json.loads(raw)
    assert not [b for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("no-such-")]
