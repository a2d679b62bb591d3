"""Ended access keys are deleted after their retention (``AccessKeyStore.prune_ended``),
on both databases: the table does not grow with every key ever revoked."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.identity.lineage import Lineage
from gateway.identity.rate_limits import RateLimit
from gateway.identity.store import IdentityStore
from gateway.principal import SYSTEM_ACCOUNT_ID, Principal

SCOPES = ["read:objects"]


def _as_key(key_id: str) -> Principal:
    return Principal(
        kind="key",
        subject=key_id,
        scopes=frozenset(SCOPES),
        key_id=key_id,
        account_id=SYSTEM_ACCOUNT_ID,
    )


async def _count(store: IdentityStore, table: str) -> int:
    row = await store.db.fetch_one(f"SELECT count(*) FROM {table}")
    assert row is not None
    return int(row[0])


async def test_keys_ended_before_the_cutoff_go_with_their_rows(store: IdentityStore) -> None:
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=200)
    active, _ = await store.create_key("active", SCOPES)
    old, _ = await store.create_key(
        "old", SCOPES, rate_limit=RateLimit(60, 10), now=long_ago - timedelta(days=1)
    )
    child, _ = await store.create_key(
        "child", SCOPES, parent=Lineage.of(_as_key(old.id)), now=long_ago - timedelta(hours=1)
    )
    await store.revoke_key(old.id, now=long_ago)  # revokes the child too
    expired, _ = await store.create_key(
        "expired",
        SCOPES,
        expires_at=long_ago + timedelta(days=1),
        now=long_ago,
    )
    recent, _ = await store.create_key("recent", SCOPES)
    await store.revoke_key(recent.id)
    keys_before = await _count(store, "access_keys")

    removed = await store.keys.prune_ended(now - timedelta(days=90), batch=2)

    assert removed == 3
    assert await store.get_key(old.id) is None
    assert await store.get_key(child.id) is None
    assert await store.get_key(expired.id) is None
    assert await store.get_key(active.id) is not None
    assert await store.get_key(recent.id) is not None  # ended within the retention
    assert await _count(store, "access_keys") == keys_before - 3
    assert await _count(store, "access_key_parents") == 0
    row = await store.db.fetch_one(
        "SELECT count(*) FROM access_key_secrets WHERE key_id IN (?, ?, ?)",
        (old.id, child.id, expired.id),
    )
    assert row is not None and row[0] == 0
    overrides = await store.db.fetch_one(
        "SELECT count(*) FROM rate_limit_overrides WHERE subject = ?", (f"key:{old.id}",)
    )
    assert overrides is not None and overrides[0] == 0
    assert await store.keys.prune_ended(now - timedelta(days=90)) == 0


async def test_the_hourly_prune_removes_them(store: IdentityStore) -> None:
    """What each worker runs hourly (``gateway.oauth.routes.prune``), with the retention
    of ``identity.ended_key_retention_days``; 0 keeps them."""
    from gateway.config import Config
    from gateway.oauth.routes import prune
    from gateway.oauth.settings import OAuthSettings

    settings = OAuthSettings.from_config(Config())
    old, _ = await store.create_key("old", SCOPES, now=datetime.now(UTC) - timedelta(days=100))
    await store.revoke_key(old.id, now=datetime.now(UTC) - timedelta(days=95))
    await prune(store, settings, ended_key_retention_days=0)
    assert await store.get_key(old.id) is not None
    await prune(
        store, settings, ended_key_retention_days=Config().identity.ended_key_retention_days
    )
    assert await store.get_key(old.id) is None


async def test_the_hourly_prune_outlives_a_busy_state_store(
    sqlite_store: IdentityStore, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A state store that cannot do the work now raises ``StoreUnavailable`` (here SQLite's
    write lock held past the busy timeout; PostgreSQL's outage alike): the pass is logged
    and the next one prunes. The loop used to catch ``sqlite3.Error`` only, so the first
    such failure ended pruning until the gateway restarted."""
    from gateway.config import Config
    from gateway.oauth.routes import prune_or_log
    from gateway.oauth.settings import OAuthSettings

    settings = OAuthSettings.from_config(Config())
    days = Config().identity.ended_key_retention_days
    old, _ = await sqlite_store.create_key(
        "old", SCOPES, now=datetime.now(UTC) - timedelta(days=100)
    )
    await sqlite_store.revoke_key(old.id, now=datetime.now(UTC) - timedelta(days=95))
    holder = sqlite3.connect(data_dir / "identity.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with caplog.at_level(logging.WARNING, logger="nfyio.oauth"):
            await prune_or_log(sqlite_store, settings, days)  # must not raise
        assert "pruning expired records failed" in caplog.text
        assert "StoreUnavailable" in caplog.text
        # one line, no traceback: the store's outage log tells the outage's start and end
        (record,) = [r for r in caplog.records if r.name == "nfyio.oauth"]
        assert record.levelno == logging.WARNING and record.exc_info is None
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    assert await sqlite_store.get_key(old.id) is not None
    await prune_or_log(sqlite_store, settings, days)
    assert await sqlite_store.get_key(old.id) is None
