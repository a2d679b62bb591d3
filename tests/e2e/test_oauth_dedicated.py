"""OAuth on dedicated gateways: token expiry, throttling across workers, key rotation by CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.oauth_util import call, make_setup

ACCESS_TTL = 10


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """Access tokens live 10 s with no leeway; an 8 s first throttle block; two worker
    processes share the store."""
    yield from own_gateway(
        tmp_path_factory,
        "gw-oauth",
        extra_env={
            # Long enough that a token is still valid at its first use on a loaded host
            # (its "exp" is a whole second, so 2 s left as little as one for the request).
            "NFYIO_AUTH_ACCESS_TOKEN_TTL": str(ACCESS_TTL),
            "NFYIO_AUTH_JWT_LEEWAY": "0",
            # Long enough that the four blocked attempts below fit in it on a loaded host
            # (the block starts when the fifth attempt is reserved, before its hash check).
            "NFYIO_AUTH_THROTTLE_BASE_DELAY": "8",
        },
        extra_args=["--workers", "2"],
    )


def cli(gateway: Gateway, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args, "--data-dir", str(gateway.data_dir)],
        capture_output=True,
        check=True,
        env=gateway.env,
        cwd=gateway.data_dir.parent,
    )
    return out.stdout.decode()


def test_expired_access_token_is_refused_and_inactive(short_lived: Gateway) -> None:
    setup = make_setup(short_lived)
    tokens = setup.login()
    assert tokens["expires_in"] == ACCESS_TTL
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert call(f"{short_lived.api_url}/v1/me", headers=headers).status == 200
    expires = jwt.decode(tokens["access_token"], options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, expires - time.time()) + 1.1)
    reply = call(f"{short_lived.api_url}/v1/me", headers=headers)
    assert reply.status == 401 and "expired" in reply.json()["error"]["message"]
    introspected = call(
        f"{short_lived.api_url}/oauth/introspect",
        "POST",
        form={"token": tokens["access_token"], **setup.creds()},
    )
    assert introspected.json() == {"active": False}
    # The refresh token still works and yields a fresh access token.
    fresh = setup.token(
        grant_type="refresh_token", refresh_token=tokens["refresh_token"], **setup.creds()
    )
    assert fresh.status == 200


def test_password_grant_throttle_shared_by_workers(short_lived: Gateway) -> None:
    setup = make_setup(short_lived)
    wrong = {"grant_type": "password", "username": setup.username, "password": "wrong-guess"}
    for _ in range(5):
        reply = setup.token(**wrong, **setup.creds())
        assert reply.status == 400 and reply.json()["error"] == "invalid_grant"
    # New connections land on either worker: every one sees the block in the state store.
    for _ in range(4):
        blocked = setup.token(
            grant_type="password", username=setup.username, password=setup.password, **setup.creds()
        )
        assert blocked.status == 429, blocked.body
        assert blocked.json()["error"] == "slow_down"
        assert int(blocked.headers["Retry-After"]) >= 1
        assert blocked.headers["Cache-Control"] == "no-store"
    time.sleep(int(blocked.headers["Retry-After"]) + 0.2)
    # The per-address bucket is also at 5 failures: waiting out the block lets the right
    # password through, and success clears the username bucket.
    assert (
        setup.token(
            grant_type="password", username=setup.username, password=setup.password, **setup.creds()
        ).status
        == 200
    )


def test_key_rotation_overlap_and_removal(tmp_path: Path) -> None:
    gateway = start_gateway(tmp_path / "data")
    try:
        setup = make_setup(gateway)
        old = setup.login()["access_token"]
        old_kid = jwt.get_unverified_header(old)["kid"]
        rotated = json.loads(cli(gateway, "jwt", "rotate"))
        new = setup.login()["access_token"]
        assert jwt.get_unverified_header(new)["kid"] == rotated["active_kid"] != old_kid
        kids = {k["kid"] for k in call(f"{gateway.api_url}/.well-known/jwks.json").json()["keys"]}
        assert kids == {old_kid, rotated["active_kid"]}
        for token in (old, new):
            me = call(f"{gateway.api_url}/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status == 200
        cli(gateway, "jwt", "remove", old_kid)
        kids = {k["kid"] for k in call(f"{gateway.api_url}/.well-known/jwks.json").json()["keys"]}
        assert kids == {rotated["active_kid"]}
        refused = call(f"{gateway.api_url}/v1/me", headers={"Authorization": f"Bearer {old}"})
        assert refused.status == 401 and refused.json()["error"]["code"] == "InvalidToken"
        assert (
            call(f"{gateway.api_url}/v1/me", headers={"Authorization": f"Bearer {new}"}).status
            == 200
        )
        # Both changes are in the audit log: who (the operator), what, which key.
        exported = cli(gateway, "audit", "export", "--action", "signing_key.*")
        events = [json.loads(line) for line in exported.splitlines()]
        assert sorted((e["action"], e["target"]["id"]) for e in events) == [
            ("signing_key.remove", old_kid),
            ("signing_key.rotate", rotated["active_kid"]),
        ]
        assert all(e["actor"]["type"] == "operator" for e in events)
    finally:
        gateway.stop()


def test_cli_users_and_clients(tmp_path: Path) -> None:
    gateway = start_gateway(tmp_path / "data")
    try:
        created = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "users", "create", "dora",
             "--scope", "read:buckets", "--password-stdin", "--data-dir", str(gateway.data_dir)],
            input=b"dora-password\n", capture_output=True, check=True, env=gateway.env,
        )  # fmt: skip
        assert json.loads(created.stdout)["username"] == "dora"
        client = json.loads(
            cli(gateway, "clients", "create", "--name", "cli-app", "--scope", "read:buckets")
        )
        reply = call(
            f"{gateway.api_url}/oauth/token",
            "POST",
            form={
                "grant_type": "password",
                "username": "dora",
                "password": "dora-password",
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
            },
        )
        assert reply.status == 200 and reply.json()["scope"] == "read:buckets"
    finally:
        gateway.stop()


IDLE_TTL = 5


def test_a_refresh_token_left_unused_expires(tmp_path: Path) -> None:
    """``auth.refresh_token_idle_ttl`` (RFC 9700 4.14.2): a refresh token an inactive
    client left unused that long is expired (invalid_grant, inactive at introspection),
    though its family has 30 days left; used within it, the successor starts again."""
    gateway = start_gateway(
        tmp_path / "data", extra_env={"NFYIO_AUTH_REFRESH_TOKEN_IDLE_TTL": str(IDLE_TTL)}
    )
    try:
        setup = make_setup(gateway)
        refresh = setup.login()["refresh_token"]
        fresh = setup.token(grant_type="refresh_token", refresh_token=refresh, **setup.creds())
        assert fresh.status == 200, fresh.body
        refresh = fresh.json()["refresh_token"]
        url = f"{gateway.api_url}/oauth/introspect"
        info = call(url, "POST", form={"token": refresh, **setup.creds()}).json()
        assert info["active"] is True and info["exp"] - info["iat"] == IDLE_TTL
        time.sleep(max(0.0, info["exp"] - time.time()) + 1.1)
        assert call(url, "POST", form={"token": refresh, **setup.creds()}).json() == {
            "active": False
        }
        late = setup.token(grant_type="refresh_token", refresh_token=refresh, **setup.creds())
        assert late.status == 400, late.body
        assert late.json() == {
            "error": "invalid_grant",
            "error_description": "The refresh token has expired",
        }
    finally:
        gateway.stop()
