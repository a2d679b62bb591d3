"""An OAuth form's bytes are text in its charset, or the request is refused (RFC 6749
Appendix B: UTF-8 unless the form says otherwise).

The form reader used to decode every percent-escape that was not UTF-8 as U+FFFD, so
any invalid sequence matched a password made of U+FFFD, and two different byte
strings were one password; a declared charset was ignored (an ISO-8859-1 form's ``é``
became U+FFFD too, so its password never matched), and so was a charset the gateway
cannot read. Over real HTTP to a real gateway.
"""

from __future__ import annotations

import base64
import urllib.parse

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import ADMIN, Reply, Setup, call, make_setup

FORM = "application/x-www-form-urlencoded"
REPLACEMENT_PASSWORD = "\ufffd" * 12
LATIN_PASSWORD = "d\u00e9j\u00e0-vu-\u00e9t\u00e9-caf\u00e9"


@pytest.fixture(scope="module")
def gateway(unthrottled_gateway: Gateway) -> Gateway:
    """Wrong passwords on purpose: a throttle that never blocks."""
    return unthrottled_gateway


@pytest.fixture(scope="module")
def setup(gateway: Gateway) -> Setup:
    return make_setup(gateway)


def _user(setup: Setup, password: str) -> str:
    name = f"{setup.username}-{len(password)}-{ord(password[0])}"
    reply = call(
        f"{setup.gateway.api_url}/v1/users",
        "POST",
        body={"username": name, "password": password, "scopes": ["read:objects"]},
        headers=ADMIN,
    )
    assert reply.status == 201, reply.body
    return name


def _login(setup: Setup, username: str, encoded_password: str, content_type: str) -> Reply:
    body = (
        f"grant_type=password&username={urllib.parse.quote(username)}"
        f"&password={encoded_password}"
        f"&client_id={setup.client_id}&client_secret={setup.client_secret}"
    )
    return setup.post("/oauth/token", body, content_type=content_type)


def _refused(reply: Reply, status: int, error: str) -> None:
    assert reply.status == status, reply.body
    assert reply.json()["error"] == error, reply.body
    assert reply.headers["Cache-Control"] == "no-store"


def test_percent_escapes_that_are_not_utf8_are_refused_not_replaced(setup: Setup) -> None:
    """Both invalid sequences logged in as the user whose password is U+FFFD x 12."""
    username = _user(setup, REPLACEMENT_PASSWORD)
    for invalid in ("%E9" * 12, "%FF%FE" * 6):
        _refused(_login(setup, username, invalid, FORM), 400, "invalid_request")
    # The password itself, sent as UTF-8, still logs in.
    proper = urllib.parse.quote(REPLACEMENT_PASSWORD)
    assert _login(setup, username, proper, FORM).status == 200


def test_a_declared_iso_8859_1_form_is_read_as_iso_8859_1(setup: Setup) -> None:
    """Apache HttpClient's ``UrlEncodedFormEntity`` encodes and declares ISO-8859-1 by
    default: its ``%E9`` is an ``é``, not an invalid UTF-8 byte."""
    username = _user(setup, LATIN_PASSWORD)
    latin = urllib.parse.quote(LATIN_PASSWORD, encoding="latin-1")
    for content_type in (f"{FORM}; charset=ISO-8859-1", f"{FORM}; charset=latin1"):
        assert _login(setup, username, latin, content_type).status == 200
    utf8 = urllib.parse.quote(LATIN_PASSWORD)
    for content_type in (FORM, f"{FORM}; charset=UTF-8", f'{FORM}; charset="utf-8"'):
        assert _login(setup, username, utf8, content_type).status == 200
    # Undeclared, the Latin-1 bytes are not UTF-8: refused, never a wrong password.
    _refused(_login(setup, username, latin, FORM), 400, "invalid_request")
    # US-ASCII declared: a byte above 0x7F is not US-ASCII.
    _refused(_login(setup, username, latin, f"{FORM}; charset=us-ascii"), 400, "invalid_request")


@pytest.mark.parametrize("charset", ["utf-16", "windows-1252", "x-no-such-charset", "rot13"])
def test_a_charset_the_gateway_does_not_read_is_invalid_request(setup: Setup, charset: str) -> None:
    """It used to be read as UTF-8 whatever it said."""
    body = urllib.parse.urlencode({"grant_type": "client_credentials", **setup.creds()})
    reply = setup.post("/oauth/token", body, content_type=f"{FORM}; charset={charset}")
    _refused(reply, 400, "invalid_request")


def test_basic_credentials_with_an_escape_that_is_not_utf8_are_malformed(setup: Setup) -> None:
    """RFC 6749 2.3.1 form-encodes the id and secret (UTF-8): an invalid escape is a
    malformed credential, not a secret ending in U+FFFD."""
    raw = f"{setup.client_id}:{setup.client_secret}%FF".encode()
    reply = call(
        f"{setup.gateway.api_url}/oauth/token",
        "POST",
        form={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(raw).decode()},
    )
    _refused(reply, 401, "invalid_client")
    assert reply.headers["WWW-Authenticate"].startswith("Basic ")
    assert reply.json()["error_description"] == "Malformed Basic credentials"
