"""Class: a name shown as identity cannot pass for another by compatibility characters.

``POST /v1/accounts {"name": "system"}``, in fullwidth letters (U+FF53 ...), made an
account that the console, ``accounts list`` and the audit log show beside ``system``, looking alike;
the uniqueness check (case-insensitive) compared code points, so it let it in. The same
held for an account's e-mail (fullwidth ``system@example.com`` beside ``system@...``, and ACL
grants name accounts by e-mail), for access-key and OAuth-client names, and for the
other compatibility forms (ligatures ``ﬁ``, superscripts, circled letters, a decomposed
``é``). Names must now equal their Unicode NFKC form: anything else is 400
``ValidationError`` naming the field (usernames and roles were ASCII already). Real
gateway process, REST over real sockets.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tests.e2e.gateway_process import Gateway

FULLWIDTH_SYSTEM = "\uff53\uff59\uff53\uff54\uff45\uff4d"
LOOKALIKES = [FULLWIDTH_SYSTEM, "\ufb01nance", "admin\u00b2", "\u24d0dmin", "cafe\u0301"]
"""Fullwidth, a ligature, a superscript, a circled letter, a decomposed accent."""


def _post(gateway: Gateway, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{gateway.api_url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {gateway.secret_key}"},
        timeout=30,
    )


def _bodies(text: str) -> list[tuple[str, str, dict[str, Any]]]:
    tag = uuid.uuid4().hex[:8]
    return [
        ("/v1/accounts", "name", {"name": text}),
        ("/v1/accounts", "email", {"name": f"a{tag}", "email": f"{text}@example.com"}),
        ("/v1/access-keys", "name", {"name": text, "scopes": ["read:buckets"]}),
        ("/v1/clients", "name", {"name": text, "scopes": ["read:buckets"]}),
    ]


@pytest.mark.parametrize("text", LOOKALIKES, ids=["fullwidth", "fi", "sup2", "circled", "nfd"])
def test_names_not_in_nfkc_form_are_refused(gateway: Gateway, text: str) -> None:
    for path, field, body in _bodies(text):
        reply = _post(gateway, path, body)
        assert reply.status_code == 400, (path, field, reply.text)
        error = reply.json()["error"]
        assert (error["code"], error["details"]["field"]) == ("ValidationError", field), path


def test_letters_beyond_ascii_in_nfkc_form_are_names(gateway: Gateway) -> None:
    """The rule refuses compatibility forms, not other scripts: ``Müller`` (composed
    ``ü``) and ``東京`` are accounts' names, and the fullwidth ``system`` stays refused
    while the plain one is the system account's (409)."""
    tag = uuid.uuid4().hex[:8]
    for name in (f"M\u00fcller {tag}", f"\u6771\u4eac {tag}"):
        reply = _post(gateway, "/v1/accounts", {"name": name})
        assert reply.status_code == 201, reply.text
        assert reply.json()["name"] == name
    assert _post(gateway, "/v1/accounts", {"name": "system"}).status_code == 409
