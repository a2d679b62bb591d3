"""Every store test runs twice: on SQLite (the embedded default) and on PostgreSQL (a
throwaway cluster, one fresh schema per test). Tests that are about one database only
(SQLite's files, PostgreSQL's pool) ask for ``sqlite_store`` or use ``state_url``
themselves."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.identity.db import Tx
from gateway.identity.store import IdentityStore
from gateway.principal import canonical_id_for
from tests.services.postgres import PostgresServer

OpenStore = Callable[..., Awaitable[IdentityStore]]


@pytest.fixture
def master_key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(params=["sqlite", "postgresql"])
async def state_url(request: pytest.FixtureRequest) -> str | None:
    """``None`` (SQLite in ``data_dir``) or the URL of an empty PostgreSQL schema."""
    if request.param == "sqlite":
        return None
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return await server.fresh_url()


@pytest.fixture
def open_store(data_dir: Path, master_key: bytes, state_url: str | None) -> OpenStore:
    """Open another store on the same state: a second worker process, or a second host."""

    async def opener(**kwargs: Any) -> IdentityStore:
        key = kwargs.pop("master_key", master_key)
        return await IdentityStore.open(data_dir, key, url=state_url, **kwargs)

    return opener


@pytest.fixture
async def store(open_store: OpenStore) -> AsyncIterator[IdentityStore]:
    s = await open_store()
    yield s
    await s.close()


@pytest.fixture
async def sqlite_store(data_dir: Path, master_key: bytes) -> AsyncIterator[IdentityStore]:
    s = await IdentityStore.open(data_dir, master_key)
    yield s
    await s.close()


async def add_accounts(store: IdentityStore, *account_ids: str) -> None:
    """Rows for the made-up account ids a test claims bucket names for: a claim needs its
    account to exist (``BucketSettingsStore.claim_owner``)."""

    async def insert(tx: Tx) -> None:
        for account_id in account_ids:
            await tx.execute(
                "INSERT INTO accounts (id, name, canonical_id, display_name, created_at)"
                " VALUES (?, ?, ?, ?, 0)",
                (account_id, account_id, canonical_id_for(account_id), account_id),
            )

    await store.db.transaction(insert)
