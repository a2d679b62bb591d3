"""The real gateway on real sockets for the security regression tests.

Each test drives it as an attacker would: raw HTTP (``tests.e2e.s3util.raw_request``) or
requests signed by botocore and then altered. A test module needing other settings
starts its own process in a fixture that yields from ``tests.e2e.fixture_util.own_gateway``.
"""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.services.postgres import PostgresServer


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(tmp_path_factory, "gw-security")


@pytest.fixture
def s3(gateway: Gateway) -> Any:
    """The admin's boto3 client (SigV4 headers, SigV4 presigned URLs)."""
    return gateway.client(signature_version="s3v4")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"sec-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


UNTHROTTLED = {"NFYIO_AUTH_THROTTLE_FAILURES": "1000000"}
"""Failed logins never block: modules that fail on purpose would otherwise throttle
127.0.0.1 for each other's tests (and for their own)."""


@pytest.fixture(scope="module")
def unthrottled_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway of the module's own whose failed logins never block (``UNTHROTTLED``)."""
    yield from own_gateway(tmp_path_factory, "gw-unthrottled", extra_env=UNTHROTTLED)


@pytest.fixture(scope="module")
def pg_gateway(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer
) -> Iterator[Gateway]:
    """A gateway whose state is in PostgreSQL (which refuses what SQLite keeps: NUL in
    text), one per module. Failed logins never block (``UNTHROTTLED``)."""
    yield from own_gateway(
        tmp_path_factory,
        "gw-security-pg",
        extra_env={
            **UNTHROTTLED,
            "NFYIO_IDENTITY_URL": asyncio.run(postgres_server.fresh_url()),
            "NFYIO_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        },
    )
