"""Session fixtures for the services in this package.

Import the fixture into a ``conftest.py`` to use it there::

    from tests.services.fixtures import seaweedfs  # noqa: F401  (a pytest fixture)

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
