from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.identity.store import IdentityStore
from gateway.identity.throttle import ThrottlePolicy
from gateway.oauth.settings import OAuthSettings

# The same parametrized store as the identity tests: SQLite and PostgreSQL.
from tests.gateway.identity.conftest import (  # noqa: F401
    OpenStore,
    data_dir,
    master_key,
    open_store,
    state_url,
)


@pytest.fixture
async def store(open_store: OpenStore) -> AsyncIterator[IdentityStore]:  # noqa: F811
    s = await open_store()
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
