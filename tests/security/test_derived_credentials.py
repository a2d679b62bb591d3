"""Issue 10 item 10: derived credentials must not outlive their parent.

Before: a key minted with another key survived the parent's revocation; keys minted with
a user's OAuth token survived the user's password change, the client's deletion and
sign-out; and a one-hour token could mint a key that never expires. Now a minted key
records its parent credential, is revoked with it (transitively), and expires no later
than it. Real gateway process (SQLite and PostgreSQL state), REST over real sockets,
boto3 for the S3 side.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.oauth_util import ADMIN, Setup, call, make_setup
from tests.services.postgres import PostgresServer

REFRESH_TTL = 7 * 24 * 3600
ACCESS_TTL = 3600


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    env = {
        "NFYIO_AUTH_REFRESH_TOKEN_TTL": str(REFRESH_TTL),
        "NFYIO_AUTH_ACCESS_TOKEN_TTL": str(ACCESS_TTL),
    }
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        env["NFYIO_IDENTITY_URL"] = asyncio.run(server.fresh_url())
        env["NFYIO_MASTER_KEY"] = base64.b64encode(os.urandom(32)).decode()
    running = start_gateway(Path(tmp_path_factory.mktemp("gw-derived")) / "data", extra_env=env)
    yield running
    running.stop()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def mint(gateway: Gateway, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    body.setdefault("name", "derived")
    body.setdefault("scopes", ["read:buckets", "read:objects"])
    reply = call(f"{gateway.api_url}/v1/access-keys", "POST", body=body, headers=headers)
    assert reply.status == 201, reply.body
    result: dict[str, Any] = reply.json()
    return result


def s3_works(gateway: Gateway, key: dict[str, Any]) -> bool:
    """Whether boto3 (SigV4) gets in with the key: True, or refused as AWS refuses an
    unknown / revoked key id."""
    try:
        gateway.client(key["id"], key["secret"]).list_buckets()
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "InvalidAccessKeyId", exc.response
        return False
    return True


def parse(text: str | None) -> datetime:
    assert text is not None, "the minted key never expires"
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- a key minted with a key ----------------------------------------------------------


def test_key_minted_with_a_key_is_refused_right_after_the_parent_is_revoked(
    gateway: Gateway,
) -> None:
    parent = mint(gateway, ADMIN, name="parent")
    child = mint(gateway, bearer(parent["secret"]), name="child")
    grandchild = mint(gateway, bearer(child["secret"]), name="grandchild")
    bystander = mint(gateway, ADMIN, name="bystander")
    assert child["owner"] == parent["id"]
    assert s3_works(gateway, child) and s3_works(gateway, grandchild)

    revoked = call(f"{gateway.api_url}/v1/access-keys/{parent['id']}", "DELETE", headers=ADMIN)
    assert revoked.status == 204

    assert not s3_works(gateway, child)
    assert not s3_works(gateway, grandchild)
    assert s3_works(gateway, bystander)
    me = call(f"{gateway.api_url}/v1/me", headers=bearer(grandchild["secret"]))
    assert me.status == 401 and me.json()["error"]["code"] == "InvalidApiKey"
    shown = call(f"{gateway.api_url}/v1/access-keys/{child['id']}", headers=ADMIN)
    assert shown.status == 200 and shown.json()["status"] == "revoked"


def test_rotating_the_parent_keeps_its_children(gateway: Gateway) -> None:
    parent = mint(gateway, ADMIN, name="parent")
    child = mint(gateway, bearer(parent["secret"]), name="child")
    rotated = call(f"{gateway.api_url}/v1/access-keys/{parent['id']}/rotate", "POST", headers=ADMIN)
    assert rotated.status == 200
    assert s3_works(gateway, child)


# --- keys minted with a user's token ----------------------------------------------------


def _sign_out(setup: Setup, login: dict[str, Any]) -> None:
    reply = call(
        f"{setup.gateway.api_url}/oauth/revoke",
        "POST",
        form={"token": login["refresh_token"], **setup.creds()},
    )
    assert reply.status == 200


def _revoke_access_token(setup: Setup, login: dict[str, Any]) -> None:
    reply = call(
        f"{setup.gateway.api_url}/oauth/revoke",
        "POST",
        form={"token": login["access_token"], **setup.creds()},
    )
    assert reply.status == 200


def _reuse_refresh_token(setup: Setup, login: dict[str, Any]) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": login["refresh_token"]}
    assert setup.token(**form, **setup.creds()).status == 200
    again = setup.token(**form, **setup.creds())
    assert again.status == 400 and again.json()["error"] == "invalid_grant"


def _change_password(setup: Setup, login: dict[str, Any]) -> None:
    reply = call(
        f"{setup.gateway.api_url}/v1/users/{setup.user_id}",
        "PATCH",
        body={"password": "a brand new password"},
        headers=ADMIN,
    )
    assert reply.status == 200, reply.body


def _disable_user(setup: Setup, login: dict[str, Any]) -> None:
    reply = call(
        f"{setup.gateway.api_url}/v1/users/{setup.user_id}",
        "PATCH",
        body={"disabled": True},
        headers=ADMIN,
    )
    assert reply.status == 200, reply.body


def _delete_client(setup: Setup, login: dict[str, Any]) -> None:
    reply = call(f"{setup.gateway.api_url}/v1/clients/{setup.client_id}", "DELETE", headers=ADMIN)
    assert reply.status == 204, reply.body


EVENTS = {
    "password_change": _change_password,
    "client_deleted": _delete_client,
    "sign_out": _sign_out,
    "refresh_token_reuse": _reuse_refresh_token,
    "access_token_revoked": _revoke_access_token,
    "user_disabled": _disable_user,
}


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_key_minted_with_a_user_token_is_refused_after(gateway: Gateway, event: str) -> None:
    setup = make_setup(gateway)
    login = setup.login()
    key = mint(gateway, bearer(login["access_token"]), name=f"by token, then {event}")
    nested = mint(gateway, bearer(key["secret"]), name="by that key")
    bystander = mint(gateway, ADMIN, name="bystander")
    assert key["owner"] == setup.user_id
    assert s3_works(gateway, key) and s3_works(gateway, nested)

    EVENTS[event](setup, login)

    assert not s3_works(gateway, key)
    assert not s3_works(gateway, nested)
    assert s3_works(gateway, bystander)


# --- expiry: never beyond the parent's --------------------------------------------------


def test_a_one_hour_token_cannot_mint_a_key_that_never_expires(gateway: Gateway) -> None:
    """A client without the refresh grant: the login's family is the one-hour token."""
    setup = make_setup(gateway, grant_types=["password"])
    login = setup.login()
    assert "refresh_token" not in login and login["expires_in"] <= ACCESS_TTL
    before = datetime.now(UTC)

    key = mint(gateway, bearer(login["access_token"]))  # no expires_at: inherits the bound
    assert key["expires_at"] is not None
    expires = parse(key["expires_at"])
    assert before < expires <= before + timedelta(seconds=ACCESS_TTL + 5)

    too_late = (before + timedelta(days=1)).isoformat()
    refused = call(
        f"{gateway.api_url}/v1/access-keys",
        "POST",
        body={"name": "forever", "scopes": ["read:objects"], "expires_at": too_late},
        headers=bearer(login["access_token"]),
    )
    assert refused.status == 403
    error = refused.json()["error"]
    assert error["code"] == "AccessDenied" and error["details"]["field"] == "expires_at"


def test_a_user_token_key_expires_with_its_refresh_family(gateway: Gateway) -> None:
    setup = make_setup(gateway)
    before = datetime.now(UTC)
    login = setup.login()
    after = datetime.now(UTC)  # the family began in between, however long the login took
    key = mint(gateway, bearer(login["access_token"]))
    expires = parse(key["expires_at"])
    family = timedelta(seconds=REFRESH_TTL)
    slack = timedelta(seconds=5)
    assert before + family - slack <= expires <= after + family + slack
    # Longer than the token itself (the family is the parent), never longer than the family.
    beyond = (expires + timedelta(seconds=1)).isoformat()
    refused = call(
        f"{gateway.api_url}/v1/access-keys",
        "POST",
        body={"name": "n", "scopes": ["read:objects"], "expires_at": beyond},
        headers=bearer(login["access_token"]),
    )
    assert refused.status == 403 and refused.json()["error"]["details"]["field"] == "expires_at"


def test_a_client_credentials_token_mints_keys_no_longer_than_itself(gateway: Gateway) -> None:
    setup = make_setup(gateway, grant_types=["client_credentials"])
    issued = setup.token(grant_type="client_credentials", **setup.creds())
    assert issued.status == 200, issued.body
    token = issued.json()["access_token"]
    before = datetime.now(UTC)
    key = mint(gateway, bearer(token))
    expires = parse(key["expires_at"])
    assert expires <= before + timedelta(seconds=ACCESS_TTL + 5)
    assert key["owner"] == setup.client_id
    assert s3_works(gateway, key)
    _delete_client(setup, {})
    assert not s3_works(gateway, key)


def test_a_token_cannot_rotate_a_key_that_outlives_it(gateway: Gateway) -> None:
    """Rotation hands out the key's new secret: an admin's one-hour token must not turn
    into a never-expiring credential that way."""
    setup = make_setup(gateway, user_scopes=["admin"], client_scopes=["admin"])
    login = setup.login()
    forever = mint(gateway, ADMIN, name="service key")
    assert forever["expires_at"] is None
    reply = call(
        f"{gateway.api_url}/v1/access-keys/{forever['id']}/rotate",
        "POST",
        headers=bearer(login["access_token"]),
    )
    assert reply.status == 403, reply.body
    assert reply.json()["error"]["details"]["field"] == "expires_at"
    assert s3_works(gateway, forever)
