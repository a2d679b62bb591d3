"""Session fixtures for the services in this package.

``tests/conftest.py`` registers it once for every test directory (imported into several
conftest files, it would be a separate fixture, and a separate server, in each).

One SeaweedFS per test session (per xdist worker): tests isolate themselves with unique
bucket names or a fresh ``bucket_prefix``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services.seaweedfs import SeaweedFS, start_seaweedfs

__all__ = ["seaweedfs"]


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """``weed server -s3`` on free loopback ports, requiring signed requests."""
    server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()
