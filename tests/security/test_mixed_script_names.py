"""Class: a name shown as identity cannot pass for another by mixing scripts.

NFKC refused a fullwidth ``system`` (``test_lookalike_names``), but ``system`` spelt with
Cyrillic dze, u and ie beside Latin ``t`` and ``m``, and ``admin`` with a Cyrillic a, are
NFKC already: ``POST /v1/accounts`` made them, and listings, the console and the audit
log showed them beside the real ``system`` account. Names (accounts, access keys, OAuth
clients) and an account e-mail's mailbox must now be Unicode TS #39 "Highly Restrictive":
one script, or Latin with Han and kana / Bopomofo / Hangul. Anything else is 400 ``ValidationError``
naming the field on ``/v1`` (which the console shows in its form) and one error line,
exit 2, from the command line. Real gateway process, REST over real sockets, the CLI as
a process on its data directory.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.console_browser import heading, launch_chromium, new_tab, sign_in_key
from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import ADMIN, call

SPOOFED_SYSTEM = "\u0455\u0443\u0455t\u0435m"
SPOOFED_ADMIN = "\u0430dmin"
MOSCOW = "\u041c\u043e\u0441\u043a\u0432\u0430"


def _post(gateway: Gateway, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    status, _, raw = call(gateway, "POST", path, headers=ADMIN, body=body)
    return status, json.loads(raw)


def _names(gateway: Gateway, path: str, field: str) -> set[str]:
    """Every name ``GET path`` lists (all pages), parsed: the JSON escapes non-ASCII."""
    names: set[str] = set()
    cursor = ""
    while True:
        _, _, raw = call(gateway, "GET", f"{path}?limit=1000{cursor}", headers=ADMIN)
        page = json.loads(raw)
        names.update(item["name"] for item in page[field])
        if not page["next_cursor"]:
            return names
        cursor = f"&cursor={urllib.parse.quote(page['next_cursor'])}"


def _digits() -> str:
    """A unique tag of digits only (Common: it joins any script)."""
    return str(uuid.uuid4().int)[:10]


@pytest.mark.parametrize("text", [SPOOFED_SYSTEM, SPOOFED_ADMIN], ids=["system", "admin"])
def test_mixed_script_names_are_refused_on_v1(gateway: Gateway, text: str) -> None:
    bodies: list[tuple[str, str, dict[str, Any]]] = [
        ("/v1/accounts", "name", {"name": text}),
        ("/v1/accounts", "email", {"name": f"a{_digits()}", "email": f"{text}@example.com"}),
        ("/v1/access-keys", "name", {"name": text, "scopes": ["read:buckets"]}),
        ("/v1/clients", "name", {"name": text, "scopes": ["read:buckets"]}),
    ]
    for path, field, body in bodies:
        status, reply = _post(gateway, path, body)
        assert status == 400, (path, field, reply)
        error = reply["error"]
        assert (error["code"], error["details"]["field"]) == ("ValidationError", field), path
        assert f"{field} mixes scripts" in error["message"], error
        assert "Cyrillic" in error["message"] and "Latin" in error["message"], error
    assert text not in _names(gateway, "/v1/accounts", "accounts"), "a refused account was made"
    assert text not in _names(gateway, "/v1/access-keys", "access_keys"), "a refused key"


def test_one_script_and_the_cjk_combinations_are_names(gateway: Gateway) -> None:
    """``Москва`` (its first key is ``admin``: ``Москва admin`` would mix scripts),
    ``東京タワー``, ``한국 Seoul`` and ``ΑΘΗΝΑ`` are accounts; an access key and a client
    named in Cyrillic are made too, and a Cyrillic mailbox at a Latin domain is an e-mail."""
    tag = _digits()
    status, made = _post(gateway, "/v1/accounts", {"name": f"{MOSCOW} {tag}"})
    assert status == 201, made
    assert (made["name"], made["admin_key"]["name"]) == (f"{MOSCOW} {tag}", "admin")
    for name in (
        "\u6771\u4eac\u30bf\u30ef\u30fc",
        "\ud55c\uad6d Seoul",
        "\u0391\u0398\u0397\u039d\u0391",
    ):
        status, made = _post(gateway, "/v1/accounts", {"name": f"{name} {tag}"})
        assert status == 201, made
        assert made["name"] == f"{name} {tag}"
    email = f"\u0438\u0432\u0430\u043d{tag}@example.com"
    status, made = _post(gateway, "/v1/accounts", {"name": f"mail {tag}", "email": email})
    assert (status, made.get("email")) == (201, email), made
    for path in ("/v1/access-keys", "/v1/clients"):
        status, made = _post(gateway, path, {"name": f"{MOSCOW} {tag}", "scopes": ["read:buckets"]})
        assert (status, made.get("name")) == (201, f"{MOSCOW} {tag}"), (path, made)


def _cli(gateway: Gateway, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args, "--data-dir", str(gateway.data_dir)],
        capture_output=True,
        text=True,
        env=gateway.env,
        cwd=gateway.data_dir.parent,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def test_the_command_line_refuses_mixed_script_names_in_one_line(gateway: Gateway) -> None:
    for args in (
        ("accounts", "create", "--name", SPOOFED_SYSTEM),
        ("accounts", "create", "--name", f"a{_digits()}", "--email", f"{SPOOFED_ADMIN}@x.io"),
        ("keys", "create", "--name", SPOOFED_ADMIN, "--scope", "read:buckets"),
        ("clients", "create", "--name", SPOOFED_SYSTEM, "--scope", "read:buckets"),
    ):
        done = _cli(gateway, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("nfyio-gateway"), done.stderr
        assert "mixes scripts" in lines[0], lines[0]
        assert done.stdout == ""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launch_chromium() as launched:
        yield launched


def test_the_console_shows_the_refusal_in_its_form(gateway: Gateway, chromium: Browser) -> None:
    """The console's new-key form shows the API's message (role=alert); no key is made."""
    tab = new_tab(chromium)
    try:
        page = tab.page
        sign_in_key(page, gateway, gateway.secret_key)
        page.get_by_role("link", name="Access keys").click()
        heading(page, "Access keys")
        page.get_by_label("Name", exact=True).fill(SPOOFED_ADMIN)
        page.get_by_role("checkbox", name=re.compile(r"^read:buckets ")).check()
        page.get_by_role("button", name="Create key").click()
        expect(page.get_by_role("alert")).to_contain_text("name mixes scripts")
        expect(page.get_by_role("region", name=re.compile("^New key"))).to_have_count(0)
        assert tab.errors == []
    finally:
        tab.close()
    assert SPOOFED_ADMIN not in _names(gateway, "/v1/access-keys", "access_keys")
