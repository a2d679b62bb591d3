"""Class: an answer to a credential on the API listener is never kept by a cache.

``POST /v1/access-keys`` and ``POST /v1/clients`` answer new secrets, every other
authenticated route the caller's own data; they went out with no ``Cache-Control`` at all,
so a cache between a browser and the gateway was free to keep them. Every authenticated
answer now says ``no-store`` (RFC 6749 5.1 asks it of a token answer; the OAuth endpoints
already did), and downloads keep their own ``private, no-store``.
"""

from __future__ import annotations

import json

from tests.e2e.gateway_process import ROOT_SECRET, Gateway
from tests.e2e.rest_util import ADMIN, call


def test_new_secrets_are_answered_no_store(gateway: Gateway) -> None:
    for path, body, secret in (
        ("/v1/access-keys", {"name": "uncached", "scopes": ["read:buckets"]}, "secret"),
        ("/v1/clients", {"name": "app", "scopes": ["read:buckets"]}, "client_secret"),
    ):
        status, headers, raw = call(gateway, "POST", path, headers=ADMIN, body=body)
        assert status == 201, (path, raw)
        assert secret in json.loads(raw), path
        assert headers["Cache-Control"] == "no-store", path


def test_every_authenticated_answer_is_no_store(gateway: Gateway, bucket: str) -> None:
    for path in ("/v1/buckets", f"/v1/buckets/{bucket}/objects", "/v1/access-keys", "/v1/me"):
        status, headers, body = call(gateway, "GET", path, headers=ADMIN)
        assert status == 200, (path, body)
        assert headers["Cache-Control"] == "no-store", path
    put = call(
        gateway,
        "PUT",
        f"/v1/buckets/{bucket}/objects/content?key=k",
        headers={**ADMIN, "Content-Type": "text/plain"},
    )
    assert put[0] in (200, 201), put
    status, headers, _ = call(
        gateway, "GET", f"/v1/buckets/{bucket}/objects/content?key=k", headers=ADMIN
    )
    assert status == 200
    assert headers["Cache-Control"] == "private, no-store"


def test_errors_to_an_authenticated_caller_are_no_store(gateway: Gateway) -> None:
    """A 404 is cacheable by default (RFC 9111 4.2.2), and a request with ``X-API-Key``
    (no ``Authorization``) is one a shared cache may store: an error answered to a
    credential is the caller's too. It went out without ``Cache-Control``."""
    for path, status in (
        ("/v1/buckets/no-such-bucket-here/objects", 404),
        ("/v1/access-keys/ak_nosuchkey", 404),
        ("/v1/buckets?stats=maybe", 400),
    ):
        for credential in (ADMIN, {"X-API-Key": ROOT_SECRET}):
            got, headers, body = call(gateway, "GET", path, headers=credential)
            assert got == status, (path, got, body)
            assert "error" in json.loads(body), body
            assert headers.get("Cache-Control") == "no-store", (path, headers)
