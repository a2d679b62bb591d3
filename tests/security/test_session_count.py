"""Sessions per user are bounded (``auth.max_sessions_per_user``).

Each password grant (and each console sign-in) starts a session, a refresh-token family
kept until its cap (30 days by default). A user who logged in without end kept one row
per login for that long: the state store grew with every login. A login beyond the
limit now ends the user's oldest session, whatever client it was started by, and deletes
its row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import ADMIN, Setup, call, make_setup
from tests.security.conftest import UNTHROTTLED

LIMIT = 3


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(
        tmp_path_factory,
        "gw-sessions",
        extra_env={**UNTHROTTLED, "NFYIO_AUTH_MAX_SESSIONS_PER_USER": str(LIMIT)},
    )


def _rows(gateway: Gateway, user_id: str) -> int:
    uri = f"file:{gateway.data_dir / 'identity.db'}?mode=ro"
    with sqlite3.connect(uri, uri=True, timeout=10) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM oauth_sessions WHERE user_id = ?", (user_id,)
        ).fetchone()
    return int(count)


def _login(setup: Setup, client: dict[str, str]) -> dict[str, str]:
    reply = setup.token(
        grant_type="password", username=setup.username, password=setup.password, **client
    )
    assert reply.status == 200, reply.body
    login: dict[str, str] = reply.json()
    return login


def _refresh(setup: Setup, client: dict[str, str], token: str) -> int:
    return setup.token(grant_type="refresh_token", refresh_token=token, **client).status


def test_a_login_beyond_the_limit_ends_the_oldest_session(gateway: Gateway) -> None:
    setup = make_setup(gateway)
    other = call(
        f"{gateway.api_url}/v1/clients",
        "POST",
        body={"name": "second app", "scopes": ["read:buckets"]},
        headers=ADMIN,
    )
    assert other.status == 201, other.body
    clients = [
        setup.creds(),
        {"client_id": other.json()["client_id"], "client_secret": other.json()["client_secret"]},
    ]
    logins = [(clients[i % 2], _login(setup, clients[i % 2])) for i in range(LIMIT + 2)]
    assert _rows(gateway, setup.user_id) == LIMIT

    ended, kept = logins[:2], logins[2:]
    for client, login in ended:
        assert _refresh(setup, client, login["refresh_token"]) == 400
        me = call(
            f"{gateway.api_url}/v1/me",
            headers={"Authorization": f"Bearer {login['access_token']}"},
        )
        assert me.status == 401, me.body
    for client, login in kept:
        assert _refresh(setup, client, login["refresh_token"]) == 200
    assert _rows(gateway, setup.user_id) == LIMIT
