"""The storage backends of the contract suite (``env``: filesystem, s3 over moto, s3 over
SeaweedFS), so the sweeper is tested against each, and a state store for its settings."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.identity.store import IdentityStore
from tests.backends.conftest import env, moto_server  # noqa: F401  (pytest fixtures)


@pytest.fixture
async def state(tmp_path: Path) -> AsyncIterator[IdentityStore]:
    store = await IdentityStore.open(tmp_path / "state", os.urandom(32))
    yield store
    await store.close()
