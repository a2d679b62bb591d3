"""Issue 10 item 7: parallel password guesses must not race past the throttle.

The throttle used to check the block, await the scrypt check, then count the failure:
41 guesses sent at once were all evaluated (the right one among them got a token), where
sequential guesses are cut off after ``auth.throttle_failures``. Now each attempt is
reserved (counted) in one transaction before the password is checked, in the state
store that every worker shares.
"""

from __future__ import annotations

import asyncio
import base64
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.oauth_util import Reply, Setup, call, make_setup
from tests.services.postgres import PostgresServer

THRESHOLD = 5
GUESSES = 41


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """Two worker processes share the port, so guesses land on both; the throttle lives
    in SQLite or in PostgreSQL (where several hosts would share it the same way)."""
    env = {"NFYIO_AUTH_THROTTLE_FAILURES": str(THRESHOLD), "NFYIO_AUTH_THROTTLE_BASE_DELAY": "60"}
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        env["NFYIO_IDENTITY_URL"] = asyncio.run(server.fresh_url())
        env["NFYIO_MASTER_KEY"] = base64.b64encode(os.urandom(32)).decode()
    running = start_gateway(
        Path(tmp_path_factory.mktemp("gw-throttle")) / "data",
        extra_env=env,
        extra_args=["--workers", "2"],
    )
    yield running
    running.stop()


def guess_in_parallel(setup: Setup, passwords: list[str]) -> list[Reply]:
    """Every guess on its own connection, all released at the same moment."""
    start = threading.Barrier(len(passwords))

    def guess(password: str) -> Reply:
        start.wait(timeout=30)
        return call(
            f"{setup.gateway.api_url}/oauth/token",
            "POST",
            form={
                "grant_type": "password",
                "username": setup.username,
                "password": password,
                "client_id": setup.client_id,
                "client_secret": setup.client_secret,
            },
        )

    with ThreadPoolExecutor(max_workers=len(passwords)) as pool:
        return list(pool.map(guess, passwords))


def test_parallel_guesses_are_cut_off_like_sequential_ones(gateway: Gateway) -> None:
    setup = make_setup(gateway)
    passwords = [f"wrong-guess-{i:02d}" for i in range(GUESSES)]
    replies = guess_in_parallel(setup, passwords)

    evaluated = [r for r in replies if r.status != 429]
    assert len(evaluated) <= THRESHOLD, sorted(r.status for r in replies)
    for reply in evaluated:
        assert reply.status == 400 and reply.json()["error"] == "invalid_grant"
    for reply in replies:
        if reply.status == 429:
            assert reply.json()["error"] == "slow_down"
            assert int(reply.headers["Retry-After"]) >= 1

    # The username and the address are blocked now: the right password, tried next,
    # does not get through either until the block ends.
    after = call(
        f"{gateway.api_url}/oauth/token",
        "POST",
        form={
            "grant_type": "password",
            "username": setup.username,
            "password": setup.password,
            **setup.creds(),
        },
    )
    assert after.status == 429, after.body
