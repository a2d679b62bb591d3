"""Class: text the console, the command line and the audit log show is printable.

Names (of keys, clients, accounts), usernames and roles refused control and format
characters already; an account's e-mail address took any of them in its local part:
``"a\\u202e@example.com"`` (a bidirectional override, which turns the rest of a line
around in a terminal or a page), ``"\\x9b..."`` (U+009B, a terminal's CSI), a zero-width
or no-break space. Each such field is now 400 ``ValidationError`` naming it. Real
gateway process, REST over real sockets.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tests.e2e.gateway_process import Gateway

HOSTILE = ["\u202e", "\x9b", "\u200b", "\u00a0"]
"""Right-to-left override, C1 CSI, zero-width space, no-break space."""


def _bodies(text: str) -> list[tuple[str, str, dict[str, Any]]]:
    tag = uuid.uuid4().hex[:8]
    return [
        ("/v1/access-keys", "name", {"name": f"k{text}{tag}", "scopes": ["read:buckets"]}),
        ("/v1/clients", "name", {"name": f"c{text}{tag}", "scopes": ["read:buckets"]}),
        ("/v1/accounts", "name", {"name": f"a{text}{tag}"}),
        ("/v1/accounts", "email", {"name": f"a{tag}", "email": f"a{text}{tag}@example.com"}),
        (
            "/v1/users",
            "username",
            {"username": f"u{text}{tag}", "password": "p" * 16, "scopes": ["read:buckets"]},
        ),
        (
            "/v1/users",
            "roles",
            {
                "username": f"u{tag}",
                "password": "p" * 16,
                "scopes": ["read:buckets"],
                "roles": [f"r{text}"],
            },
        ),
    ]


@pytest.mark.parametrize("text", HOSTILE, ids=["rlo", "csi", "zwsp", "nbsp"])
def test_shown_identity_text_is_printable(gateway: Gateway, text: str) -> None:
    for path, field, body in _bodies(text):
        reply = requests.post(
            f"{gateway.api_url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {gateway.secret_key}"},
            timeout=30,
        )
        assert reply.status_code == 400, (path, field, reply.text)
        error = reply.json()["error"]
        assert (error["code"], error["details"]["field"]) == ("ValidationError", field), path
