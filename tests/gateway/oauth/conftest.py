from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.identity.store import IdentityStore
from gateway.identity.throttle import ThrottlePolicy
from gateway.oauth.settings import OAuthSettings


@pytest.fixture
def master_key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def store(data_dir: Path, master_key: bytes) -> AsyncIterator[IdentityStore]:
    s = await IdentityStore.open(data_dir, master_key)
    await s.signing_keys.ensure_active()
    yield s
    await s.close()


@pytest.fixture
def settings() -> OAuthSettings:
    return OAuthSettings(
        issuer="http://localhost:3000",
        audience="nfyio-gateway",
        access_ttl=3600,
        refresh_ttl=30 * 24 * 3600,
        leeway=5,
        throttle=ThrottlePolicy(),
    )
