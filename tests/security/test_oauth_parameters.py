"""RFC 6749 3.1 and 3.2 on every OAuth endpoint: an unrecognised parameter is ignored,
a parameter sent empty counts as omitted, and a parameter the endpoint reads given
twice is ``invalid_request``.

The form reader used to refuse any repeated name and any NUL, whether or not the
endpoint reads the parameter: a client adding RFC 8707's ``resource`` (which may be
repeated) was refused by a server that has no use for it, and an empty copy of
``scope`` beside a real one was a "repetition". Over real HTTP to a real gateway.
"""

from __future__ import annotations

import urllib.parse

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import Reply, Setup, make_setup


@pytest.fixture(scope="module")
def gateway(unthrottled_gateway: Gateway) -> Gateway:
    """Its own gateway, whose failed client authentications never block."""
    return unthrottled_gateway


@pytest.fixture(scope="module")
def setup(gateway: Gateway) -> Setup:
    return make_setup(
        gateway,
        client_scopes=["read:objects", "write:objects"],
        grant_types=["client_credentials"],
    )


def _post(setup: Setup, endpoint: str, extra: str) -> Reply:
    return setup.post(endpoint, f"{urllib.parse.urlencode(setup.creds())}&{extra}")


def _invalid_request(reply: Reply, name: str) -> None:
    assert reply.status == 400, reply.body
    assert reply.json() == {
        "error": "invalid_request",
        "error_description": f"The '{name}' parameter is repeated",
    }
    assert reply.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "unknown",
    [
        "resource=https%3A%2F%2Fa.example&resource=https%3A%2F%2Fb.example",  # RFC 8707
        "audience=x&audience=y",
        "foo=%00",
        "%00=bar",
        "code_verifier=a&code_verifier=b",
    ],
)
def test_token_endpoint_ignores_unrecognised_parameters(setup: Setup, unknown: str) -> None:
    reply = _post(setup, "/oauth/token", f"grant_type=client_credentials&{unknown}")
    assert reply.status == 200, reply.body
    assert reply.json()["scope"] == "read:objects write:objects"


def test_an_empty_copy_of_a_parameter_is_no_repetition(setup: Setup) -> None:
    reply = _post(
        setup, "/oauth/token", "grant_type=client_credentials&scope=&scope=read%3Aobjects"
    )
    assert reply.status == 200, reply.body
    assert reply.json()["scope"] == "read:objects"
    reply = _post(setup, "/oauth/token", "grant_type=&grant_type=client_credentials")
    assert reply.status == 200, reply.body


@pytest.mark.parametrize("name", ["grant_type", "scope", "client_id", "client_secret"])
def test_a_parameter_the_token_endpoint_reads_given_twice_is_invalid_request(
    setup: Setup, name: str
) -> None:
    values = {
        "grant_type": "client_credentials",
        "scope": "read:objects",
        **setup.creds(),
    }
    body = (
        urllib.parse.urlencode({**values, name: values[name]})
        + "&"
        + (urllib.parse.urlencode({name: values[name]}))
    )
    _invalid_request(setup.post("/oauth/token", body), name)


@pytest.mark.parametrize("endpoint", ["/oauth/revoke", "/oauth/introspect"])
def test_revocation_and_introspection_apply_the_same_rules(setup: Setup, endpoint: str) -> None:
    issued = _post(setup, "/oauth/token", "grant_type=client_credentials")
    assert issued.status == 200, issued.body
    token = urllib.parse.quote(issued.json()["access_token"])
    # Parameters these endpoints do not read: ignored, even repeated.
    ignored = "grant_type=a&grant_type=b&resource=x&resource=y&scope=%00"
    if endpoint == "/oauth/introspect":
        reply = _post(setup, endpoint, f"token={token}&{ignored}")
        assert reply.status == 200, reply.body
        assert reply.json()["active"] is True
    _invalid_request(_post(setup, endpoint, f"token={token}&token={token}"), "token")
    hint = "token_type_hint=access_token"
    _invalid_request(_post(setup, endpoint, f"token={token}&{hint}&{hint}"), "token_type_hint")
    # An empty copy beside the real one is no repetition.
    reply = _post(setup, endpoint, f"token=&token={token}&{ignored}")
    assert reply.status == 200, reply.body
    if endpoint == "/oauth/revoke":
        # It revoked the token.
        after = _post(setup, "/oauth/introspect", f"token={token}")
        assert after.json() == {"active": False}
