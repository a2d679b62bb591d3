"""Fixtures of the backend contract suites (test_contract*.py): one moto server per
session, SeaweedFS (``tests.services.fixtures``), and ``env``: each backend in turn
(filesystem, s3 in front of moto, s3 in front of SeaweedFS)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from backends import Backend
from backends.filesystem import FilesystemBackend
from backends.s3 import S3Backend, UpstreamConfig
from tests.backends.test_contract import SPOOL, Env, MiB
from tests.backends.upstream_server import MOTO_CONDITIONAL_WRITES, UpstreamServer, start_moto
from tests.services.seaweedfs import SeaweedFS


@pytest.fixture(scope="session")
def moto_server() -> Iterator[UpstreamServer]:
    server = start_moto()
    yield server
    server.stop()


@pytest.fixture(params=["filesystem", "s3", "seaweedfs"])
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Env]:
    backend: Backend
    if request.param == "filesystem":
        part_size = 64 * 1024
        backend = FilesystemBackend(
            tmp_path / "data", fsync=False, min_part_size=part_size, sse_key=bytes(range(32))
        )
    elif request.param == "seaweedfs":
        weed: SeaweedFS = request.getfixturevalue("seaweedfs")
        part_size = 5 * MiB
        backend = S3Backend(
            UpstreamConfig(
                endpoint_url=weed.endpoint_url,
                access_key_id=weed.access_key,
                secret_access_key=weed.secret_key,
                bucket_prefix=f"t{uuid.uuid4().hex[:12]}-",
                spool_threshold=SPOOL,
                # SeaweedFS decides every conditional write and keeps checksums itself
                native_checksums=True,
            )
        )
    else:
        server: UpstreamServer = request.getfixturevalue("moto_server")
        part_size = 5 * MiB  # moto, like S3, enforces 5 MiB parts
        backend = S3Backend(
            UpstreamConfig(
                endpoint_url=server.endpoint_url,
                access_key_id="contract-key",
                secret_access_key="contract-secret",
                # a fresh prefix per test: unique upstream buckets, isolated list_buckets
                bucket_prefix=f"t{uuid.uuid4().hex[:12]}-",
                spool_threshold=SPOOL,
                conditional_writes=MOTO_CONDITIONAL_WRITES,
            )
        )
    await backend.start()
    try:
        yield Env(backend, request.param, part_size)
    finally:
        await backend.close()
