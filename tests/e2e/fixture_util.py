"""Bodies for fixtures that start gateways of a module's own: one gateway with its own
settings (a fixture yields from ``own_gateway``), or two hosts over one PostgreSQL and
one SeaweedFS (``two_hosts_fixture`` makes the fixture)::

    @pytest.fixture(scope="module")
    def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
        yield from own_gateway(tmp_path_factory, "proxied", extra_env={...})
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.security.data_util import tls_files
from tests.services.postgres import PostgresServer
from tests.services.seaweedfs import SeaweedFS
from tests.services.topology import Topology


def own_gateway(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    *,
    extra_env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
    tls: bool = False,
) -> Iterator[Gateway]:
    """A gateway on a fresh data directory (a temporary directory named after ``name``),
    over HTTPS with ``tls`` (a throwaway CA's certificate for 127.0.0.1), stopped when the
    fixture ends."""
    base = Path(tmp_path_factory.mktemp(name))
    running = start_gateway(
        base / "data",
        tls=tls_files(base / "tls") if tls else None,
        extra_env=extra_env,
        extra_args=extra_args,
    )
    try:
        yield running
    finally:
        running.stop()


def two_hosts_fixture(name: str, *, extra_env: dict[str, str] | None = None) -> Any:
    """A module fixture of two gateway hosts over a fresh PostgreSQL database and one
    SeaweedFS (``tests/services/topology.py``), all with ``extra_env``; a test module
    names it ``hosts = two_hosts_fixture(...)``."""

    @pytest.fixture(scope="module")
    def hosts(
        tmp_path_factory: pytest.TempPathFactory,
        postgres_server: PostgresServer,
        seaweedfs: SeaweedFS,
    ) -> Iterator[tuple[Gateway, Gateway]]:
        running = Topology.start(
            tmp_path_factory.mktemp(name),
            asyncio.run(postgres_server.fresh_url()),
            seaweedfs,
            extra_env=extra_env,
        )
        try:
            first, second = running.hosts
            yield first, second
        finally:
            running.stop()

    return hosts
