"""Per-account count limits of access keys, users and OAuth clients (gateway/identity/quota.py),
on both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from gateway.identity.quota import AccountLimitReached
from gateway.identity.store import IdentityStore
from tests.gateway.identity.conftest import OpenStore

SCOPES = ["read:objects"]


async def test_active_keys_stop_at_the_limit(store: IdentityStore) -> None:
    now = datetime.now(UTC)
    first, _ = await store.create_key("a", SCOPES, account_id="acct_K", most=3)
    await store.create_key("b", SCOPES, account_id="acct_K", most=3)
    await store.create_key(
        "soon", SCOPES, account_id="acct_K", most=3, expires_at=now + timedelta(seconds=30)
    )
    with pytest.raises(AccountLimitReached) as raised:
        await store.create_key("c", SCOPES, account_id="acct_K", most=3)
    assert (raised.value.what, raised.value.most) == ("access keys", 3)
    # Another account's keys are not counted; the operator's paths pass no limit.
    await store.create_key("other", SCOPES, account_id="acct_L", most=3)
    await store.create_key("operator", SCOPES, account_id="acct_K")
    # Active now: a, b, soon, operator. A revoked key no longer counts (the operator's
    # does, though it was made without a limit): b, soon, operator.
    await store.revoke_key(first.id)
    with pytest.raises(AccountLimitReached):
        await store.create_key("c", SCOPES, account_id="acct_K", most=3)
    await store.create_key("c", SCOPES, account_id="acct_K", most=4)
    with pytest.raises(AccountLimitReached):
        await store.create_key("d", SCOPES, account_id="acct_K", most=4)
    # Nor does an expired one: five minutes on, "soon" has expired.
    later = now + timedelta(minutes=5)
    await store.create_key("d", SCOPES, account_id="acct_K", most=4, now=later)


async def test_users_and_clients_stop_at_the_limit(store: IdentityStore) -> None:
    for i in range(2):
        await store.users.create(f"quota-{i}", "password-1", SCOPES, account_id="acct_U", most=2)
        await store.clients.create(f"app-{i}", scopes=SCOPES, account_id="acct_U", most=2)
    with pytest.raises(AccountLimitReached, match="2 users"):
        await store.users.create("quota-2", "password-1", SCOPES, account_id="acct_U", most=2)
    with pytest.raises(AccountLimitReached, match="2 OAuth clients"):
        await store.clients.create("app-2", scopes=SCOPES, account_id="acct_U", most=2)
    assert await store.users.find("quota-2") is None
    # Deleting one makes room for one.
    users, _ = await store.users.list_page(account="acct_U", limit=10)
    await store.users.delete(users[0].id)
    await store.users.create("quota-2", "password-1", SCOPES, account_id="acct_U", most=2)


async def test_racing_creations_hold_the_limit(store: IdentityStore, open_store: OpenStore) -> None:
    """Keys made at once through four stores (workers, or hosts on PostgreSQL)."""
    others = [await open_store() for _ in range(3)]
    try:
        stores = [store, *others]

        async def create(i: int) -> bool:
            try:
                await stores[i % 4].create_key(f"k{i}", SCOPES, account_id="acct_R", most=5)
            except AccountLimitReached:
                return False
            return True

        made = await asyncio.gather(*(create(i) for i in range(16)))
        assert sum(made) == 5
        keys, _ = await store.list_keys(account="acct_R", limit=100)
        assert len(keys) == 5
    finally:
        for other in others:
            await other.close()
