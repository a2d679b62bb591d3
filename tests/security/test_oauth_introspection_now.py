"""Introspection answers what a token can do now, by the server's own clock and grants.

RFC 7662 4: "If the token can expire, the authorization server MUST determine whether or
not the token has expired"; 2.2: ``active`` means the token is within its window of
validity, ``scope`` the scopes associated with it. Two ways an answer once said more than
the token could do: an access token within the verifier's leeway after its ``exp`` (a
resource server's allowance for clocks behind the issuer's) was ``active`` with an
``exp`` in the past; a refresh token reported the scopes of its original grant after the
user lost some, though a refresh with it grants only what the user still holds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import ADMIN, Setup, call, make_setup

ACCESS_TTL = 3


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """Short access tokens; the leeway at its default (30 s), far longer than the wait."""
    yield from own_gateway(
        tmp_path_factory,
        "gw-introspect-now",
        extra_env={"NFYIO_AUTH_ACCESS_TOKEN_TTL": str(ACCESS_TTL)},
    )


def _introspect(gateway: Gateway, setup: Setup, token: str) -> dict[str, Any]:
    reply = call(
        f"{gateway.api_url}/oauth/introspect", "POST", form={"token": token, **setup.creds()}
    )
    assert reply.status == 200, reply.body
    answer: dict[str, Any] = reply.json()
    return answer


def test_an_access_token_past_its_exp_is_inactive_within_the_leeway(gateway: Gateway) -> None:
    setup = make_setup(gateway)
    tokens = setup.login()
    token = tokens["access_token"]
    assert _introspect(gateway, setup, token)["active"] is True
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, expires - time.time()) + 1.1)
    assert _introspect(gateway, setup, token) == {"active": False}
    # A resource server still honours it for the leeway (docs/oauth.md): the two differ
    # on purpose, the introspection endpoint being the issuer's own clock.
    me = call(f"{gateway.api_url}/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status == 200


def test_a_refresh_tokens_scope_is_what_a_refresh_would_grant_now(gateway: Gateway) -> None:
    setup = make_setup(gateway)
    tokens = setup.login()
    before = _introspect(gateway, setup, tokens["refresh_token"])
    assert before["active"] is True and len(before["scope"].split()) > 1
    kept = sorted(before["scope"].split())[0]
    narrowed = call(
        f"{gateway.api_url}/v1/users/{setup.user_id}",
        "PATCH",
        body={"scopes": [kept]},
        headers=ADMIN,
    )
    assert narrowed.status == 200, narrowed.body
    assert _introspect(gateway, setup, tokens["refresh_token"])["scope"] == kept
    refreshed = setup.token(
        grant_type="refresh_token", refresh_token=tokens["refresh_token"], **setup.creds()
    )
    assert refreshed.status == 200 and refreshed.json()["scope"] == kept
    assert _introspect(gateway, setup, refreshed.json()["refresh_token"])["scope"] == kept
