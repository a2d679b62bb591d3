"""Issue 10 item 11: timestamps that overflow.

Before: ``expires_at: "9999-12-31T23:59:59-14:00"`` (the year 10000 in UTC) was stored,
after which listing keys, revoking that key and ``nfyio-gateway keys list`` answered 500
or crashed, for every admin, for good. Now every accepted instant is bounded after UTC
normalisation (REST, CLI, configuration), and a stored out-of-range value, written
straight into the database (SQLite file or PostgreSQL), is read clamped: listing,
showing, revoking and the CLI keep working. Real gateway process, real sockets.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from gateway.identity.store import IdentityStore
from tests.e2e.gateway_process import Gateway, free_port, serve_command, start_gateway
from tests.e2e.oauth_util import ADMIN, call
from tests.services.postgres import PostgresServer

# 10000-01-01T00:00:00Z in the store's unit (microseconds since the Unix epoch).
YEAR_10000 = (datetime(9999, 12, 31, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
    microseconds=1
) + 86_400_000_000
LATEST = "9999-12-31T23:59:59.999999Z"
OVERFLOWING = [
    "9999-12-31T23:59:59-14:00",  # 10000-01-01T13:59:59Z
    "9999-12-31T23:00:00-01:00",
    "0001-01-01T00:00:00+14:00",  # before the year 1 in UTC
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    env: dict[str, str] = {}
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        env["NFYIO_IDENTITY_URL"] = asyncio.run(server.fresh_url())
        env["NFYIO_MASTER_KEY"] = base64.b64encode(os.urandom(32)).decode()
    running = start_gateway(Path(tmp_path_factory.mktemp("gw-time")) / "data", extra_env=env)
    yield running
    running.stop()


def keys_cli(gateway: Gateway, *argv: str) -> subprocess.CompletedProcess[str]:
    """``nfyio-gateway keys ...`` on the gateway's own state (same file or database)."""
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "keys", *argv, "--data-dir", str(gateway.data_dir)],
        env=gateway.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write_raw(gateway: Gateway, sql: str, params: tuple[object, ...]) -> None:
    """One statement straight into the state database, as a bad migration, an older
    version or a hand edit could have left it."""
    url = gateway.env.get("NFYIO_IDENTITY_URL")
    if url is None:
        with sqlite3.connect(gateway.data_dir / "identity.db", timeout=10) as db:
            db.execute(sql, params)
        return

    async def on_postgres() -> None:
        master = base64.b64decode(gateway.env["NFYIO_MASTER_KEY"])
        store = await IdentityStore.open(gateway.data_dir, master, url=url)
        try:
            await store.db.transaction(lambda tx: tx.execute(sql, params))
        finally:
            await store.close()

    asyncio.run(on_postgres())


def create_key(gateway: Gateway, **body: Any) -> Any:
    body.setdefault("name", "time")
    body.setdefault("scopes", ["read:buckets"])
    return call(f"{gateway.api_url}/v1/access-keys", "POST", body=body, headers=ADMIN)


@pytest.mark.parametrize("instant", OVERFLOWING)
def test_rest_refuses_instants_outside_years_1_to_9999_in_utc(
    gateway: Gateway, instant: str
) -> None:
    reply = create_key(gateway, expires_at=instant)
    assert reply.status == 400, reply.body
    error = reply.json()["error"]
    assert error["code"] == "ValidationError" and error["details"]["field"] == "expires_at"
    assert instant not in reply.body.decode()
    assert call(f"{gateway.api_url}/v1/access-keys", headers=ADMIN).status == 200


def test_the_last_representable_instant_round_trips(gateway: Gateway) -> None:
    reply = create_key(gateway, expires_at="9999-12-31T23:59:59.999999+00:00")
    assert reply.status == 201, reply.body
    assert reply.json()["expires_at"] == LATEST
    assert call(f"{gateway.api_url}/v1/access-keys", headers=ADMIN).status == 200


def test_a_stored_out_of_range_expiry_breaks_nothing(gateway: Gateway) -> None:
    created = create_key(gateway, name="poisoned")
    assert created.status == 201, created.body
    key = created.json()
    write_raw(
        gateway,
        "UPDATE access_keys SET expires_at = ?, last_used_at = ? WHERE id = ?",
        (YEAR_10000, 2**62, key["id"]),
    )

    listed = call(f"{gateway.api_url}/v1/access-keys?limit=1000", headers=ADMIN)
    assert listed.status == 200, listed.body
    mine = [k for k in listed.json()["access_keys"] if k["id"] == key["id"]]
    assert mine and mine[0]["expires_at"] == LATEST and mine[0]["status"] == "active"
    shown = call(f"{gateway.api_url}/v1/access-keys/{key['id']}", headers=ADMIN)
    assert shown.status == 200 and shown.json()["last_used_at"] == LATEST
    gateway.client(key["id"], key["secret"]).list_buckets()  # still a working key

    cli_list = keys_cli(gateway, "list", "--all")
    assert cli_list.returncode == 0, cli_list.stderr
    assert key["id"] in cli_list.stdout and "Traceback" not in cli_list.stderr

    revoked = call(f"{gateway.api_url}/v1/access-keys/{key['id']}", "DELETE", headers=ADMIN)
    assert revoked.status == 204, revoked.body
    with pytest.raises(ClientError) as refused:
        gateway.client(key["id"], key["secret"]).list_buckets()
    assert refused.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    assert "Traceback" not in gateway.log()


def test_cli_revokes_a_key_with_an_out_of_range_expiry(gateway: Gateway) -> None:
    key = create_key(gateway, name="poisoned for the cli").json()
    write_raw(gateway, "UPDATE access_keys SET expires_at = ? WHERE id = ?", (2**63 - 1, key["id"]))
    revoked = keys_cli(gateway, "revoke", key["id"], "--json")
    assert revoked.returncode == 0, revoked.stderr
    assert '"status": "revoked"' in revoked.stdout


@pytest.mark.parametrize("instant", OVERFLOWING)
def test_cli_refuses_instants_outside_years_1_to_9999_in_utc(
    gateway: Gateway, instant: str
) -> None:
    made = keys_cli(
        gateway, "create", "--name", "n", "--scope", "read:objects", "--expires-at", instant
    )
    assert made.returncode == 2, made.stdout + made.stderr
    assert "Traceback" not in made.stderr and "--expires-at" in made.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NFYIO_AUTH_REFRESH_TOKEN_TTL", "99999999999999"),
        ("NFYIO_AUTH_ACCESS_TOKEN_TTL", "99999999999999"),
        ("NFYIO_AUTH_THROTTLE_MAX_DELAY", "1e300"),
        ("NFYIO_AUTH_JWT_LEEWAY", "-5"),
    ],
)
def test_configured_durations_are_bounded(tmp_path: Path, variable: str, value: str) -> None:
    """A lifetime that would put a token past the year 9999 (every login a 500 before)
    stops the start with a configuration error instead."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NFYIO_")}
    env[variable] = value
    started = subprocess.run(
        serve_command(tmp_path / "data", free_port(), free_port()),
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert started.returncode == 2, started.stderr
    assert "configuration error" in started.stderr and "Traceback" not in started.stderr
