"""Class: a refresh-token family keeps a bounded number of rows, and reuse detection
holds however long ago the reused token was spent.

Each refresh kept the spent token's row until the family's 30-day cap (reuse detection
read it): one session refreshed without end grew the state store by a row per refresh.
A token now carries its family's tag (an HMAC of the session id under the master key),
so the spent token's row goes with the rotation and a spent token is still known as its
family's: presenting it revokes the session (RFC 9700 4.14.2), even after many
rotations by whoever holds the family now. Real gateway process, ``/oauth/token``.
"""

from __future__ import annotations

import sqlite3

from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import call, make_setup

REFRESHES = 25


def _rows(gateway: Gateway, user_id: str) -> int:
    uri = f"file:{gateway.data_dir / 'identity.db'}?mode=ro"
    with sqlite3.connect(uri, uri=True, timeout=10) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM refresh_tokens AS t JOIN oauth_sessions AS s"
            " ON s.id = t.session_id WHERE s.user_id = ?",
            (user_id,),
        ).fetchone()
    return int(count)


def test_refreshes_keep_one_row_and_an_old_spent_token_revokes_the_family(
    gateway: Gateway,
) -> None:
    setup = make_setup(gateway)
    login = setup.login()
    stolen = login["refresh_token"]
    current, access = stolen, login["access_token"]
    for _ in range(REFRESHES):  # the thief's refreshes, say
        reply = setup.token(grant_type="refresh_token", refresh_token=current, **setup.creds())
        assert reply.status == 200, reply.body
        current, access = reply.json()["refresh_token"], reply.json()["access_token"]
    assert _rows(gateway, setup.user_id) == 1

    # The victim's token, spent 25 rotations ago: reuse, and the whole family ends.
    reply = setup.token(grant_type="refresh_token", refresh_token=stolen, **setup.creds())
    assert (reply.status, reply.json()["error"]) == (400, "invalid_grant"), reply.body
    assert "already used" in reply.json()["error_description"]
    reply = setup.token(grant_type="refresh_token", refresh_token=current, **setup.creds())
    assert (reply.status, reply.json()["error"]) == (400, "invalid_grant"), reply.body
    me = call(f"{gateway.api_url}/v1/me", headers={"Authorization": f"Bearer {access}"})
    assert me.status == 401, me.body
