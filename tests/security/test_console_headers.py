"""Every answer on a console path carries the console's security headers, errors included.

The console's own files and settings always had them; the JSON answers of the session
endpoint (a 403 to a cross-site caller, a 401 with no session, the 200 carrying an access
token) and the listener's 404/405 for a mistyped console address did not: no CSP, no
``frame-ancestors``, no ``nosniff``, and the token answer's caching left to its own
header. ``/console/`` (a trailing slash, as people type it) was a raw JSON 404; it now
leads to the console.
"""

from __future__ import annotations

import pytest

from gateway.console.assets import SECURITY_HEADERS
from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import call

SAME_ORIGIN_HEADERS = {"X-Nfyio-Console": "1"}

PROBES = [
    ("GET", "/console", None),
    ("GET", "/console/static/js/app.js", None),
    ("GET", "/console/settings.json", None),
    ("GET", "/console/static/no-such-file.js", None),
    ("GET", "/console/no-such-page", None),
    ("PUT", "/console", None),
    ("GET", "/console/session", None),
    ("POST", "/console/session", {"username": "nobody", "password": "x"}),
    ("POST", "/console/session/refresh", None),
    ("DELETE", "/console/session", None),
]


@pytest.mark.parametrize(("method", "path", "body"), PROBES)
def test_every_console_answer_has_the_security_headers(
    gateway: Gateway, method: str, path: str, body: dict[str, str] | None
) -> None:
    reply = call(f"{gateway.api_url}{path}", method, body=body)
    headers = {name.lower(): value for name, value in reply.headers.items()}
    missing = {
        name: value
        for name, value in SECURITY_HEADERS.items()
        if headers.get(name.lower()) != value
    }
    assert missing == {}, f"{method} {path} -> {reply.status} lacks {sorted(missing)}"
    assert headers.get("cache-control") in ("no-store", "no-cache"), reply.headers


def test_no_session_answer_has_the_headers(gateway: Gateway) -> None:
    """The console's own call on a fresh visit (same origin, no cookie yet): a 204."""
    origin = gateway.api_url
    reply = call(
        f"{gateway.api_url}/console/session/refresh",
        "POST",
        headers={**SAME_ORIGIN_HEADERS, "Origin": origin, "X-Nfyio-Console": "2"},
    )
    assert reply.status == 204, reply.body
    assert reply.headers.get("Cache-Control") == "no-store"
    assert (
        reply.headers.get("Content-Security-Policy") == SECURITY_HEADERS["Content-Security-Policy"]
    )


def test_trailing_slash_leads_to_the_console(gateway: Gateway) -> None:
    reply = call(f"{gateway.api_url}/console/")
    # urllib follows the redirect: the answer is the console's page, not a JSON 404.
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"].startswith("text/html")
    assert b'<script type="module" src="/console/static/js/app.js">' in reply.body


def test_api_answers_elsewhere_are_left_alone(gateway: Gateway) -> None:
    """The headers are the console's: /v1 JSON keeps its own (CORS may open it)."""
    reply = call(f"{gateway.api_url}/health")
    assert reply.status == 200
    assert "Content-Security-Policy" not in reply.headers
