from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.identity.store import IdentityStore


@pytest.fixture
def master_key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def store(data_dir: Path, master_key: bytes) -> AsyncIterator[IdentityStore]:
    s = await IdentityStore.open(data_dir, master_key)
    yield s
    await s.close()
