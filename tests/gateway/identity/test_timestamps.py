"""Timestamps outside what a datetime holds (issue 10 item 11): never written, and read
defensively when a row holds one anyway. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gateway.identity.db import Tx
from gateway.identity.lineage import Lineage
from gateway.identity.models import MAX_MICROS, MIN_MICROS
from gateway.identity.store import IdentityStore

LATEST = datetime.max.replace(tzinfo=UTC)
EARLIEST = datetime.min.replace(tzinfo=UTC)
YEAR_10000 = MAX_MICROS + 1  # 10000-01-01T00:00:00Z


async def _set(store: IdentityStore, sql: str, params: tuple[object, ...]) -> None:
    async def body(tx: Tx) -> None:
        await tx.execute(sql, params)

    await store.db.transaction(body)


async def test_an_instant_past_year_9999_in_utc_is_never_stored(store: IdentityStore) -> None:
    minus_14 = timezone(-timedelta(hours=14))
    with pytest.raises(ValueError, match="9999"):
        await store.create_key(
            "overflow",
            ["read:objects"],
            expires_at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=minus_14),
        )
    listed, _ = await store.list_keys()
    assert listed == []
    # The last representable instant is fine.
    key, _ = await store.create_key("far", ["read:objects"], expires_at=LATEST)
    assert key.expires_at == LATEST


@pytest.mark.parametrize(
    "value", [YEAR_10000, 2**62, 2**63 - 1], ids=["year10000", "2^62", "bigint-max"]
)
async def test_a_stored_far_future_expiry_reads_clamped(store: IdentityStore, value: int) -> None:
    key, secret = await store.create_key("victim", ["read:objects"])
    other, _ = await store.create_key("bystander", ["read:objects"])
    await _set(
        store,
        "UPDATE access_keys SET expires_at = ?, last_used_at = ? WHERE id = ?",
        (value, value, key.id),
    )

    page, _ = await store.list_keys()
    assert {k.id for k in page} == {key.id, other.id}
    found = await store.get_key(key.id)
    assert found is not None
    assert found.expires_at == LATEST and found.last_used_at == LATEST
    now = datetime.now(UTC)
    assert found.is_active(now)  # far in the future stays far in the future
    assert await store.find_by_secret(secret, now) is not None
    assert await store.sigv4_secrets(key.id, now) is not None

    assert await store.revoke_key(key.id)
    revoked = await store.get_key(key.id)
    assert revoked is not None and revoked.revoked_at is not None
    assert await store.find_by_secret(secret, now) is None


async def test_a_stored_timestamp_before_year_1_reads_as_the_past(store: IdentityStore) -> None:
    key, secret = await store.create_key("ancient", ["read:objects"])
    await _set(
        store, "UPDATE access_keys SET expires_at = ? WHERE id = ?", (MIN_MICROS - 1, key.id)
    )
    found = await store.get_key(key.id)
    assert found is not None and found.expires_at == EARLIEST
    assert not found.is_active(datetime.now(UTC))
    assert await store.find_by_secret(secret, datetime.now(UTC)) is None


async def test_other_tables_read_out_of_range_values_too(store: IdentityStore) -> None:
    user = await store.users.create("alice", "password-1", ["read:objects"])
    client, _ = await store.clients.create("app", scopes=["read:objects"])
    session, _ = await store.sessions.start(
        user.id,
        client.id,
        ["read:objects"],
        expires_at=datetime.now(UTC) + timedelta(hours=1),
        with_refresh=False,
    )
    await _set(
        store, "UPDATE oauth_sessions SET expires_at = ? WHERE id = ?", (YEAR_10000, session.id)
    )
    await _set(store, "UPDATE users SET updated_at = ? WHERE id = ?", (YEAR_10000, user.id))
    found = await store.sessions.get(session.id)
    assert found is not None and found.expires_at == LATEST
    users, _ = await store.users.list_page()
    assert [u.updated_at for u in users] == [LATEST]
    assert await store.sessions.revoke(session.id)


async def test_a_parent_with_an_out_of_range_expiry_passes_on_a_valid_one(
    store: IdentityStore,
) -> None:
    parent, _ = await store.create_key("parent", ["read:objects"])
    await _set(store, "UPDATE access_keys SET expires_at = ? WHERE id = ?", (YEAR_10000, parent.id))
    child, _ = await store.create_key(
        "child", ["read:objects"], parent=Lineage((("key", parent.id),))
    )
    row = await store.db.fetch_one("SELECT expires_at FROM access_keys WHERE id = ?", (child.id,))
    assert row is not None and row[0] == MAX_MICROS
    assert child.expires_at == LATEST
