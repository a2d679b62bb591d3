"""Accounts in the state store, on both databases: the system account, creation, e-mail
uniqueness, isolation of keys, users and clients by account, and deletion."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.identity.accounts import AccountOwnsBuckets, DuplicateEmailError, DuplicateNameError
from gateway.identity.bucket_settings import AccountGone
from gateway.identity.store import IdentityStore
from gateway.principal import SYSTEM_ACCOUNT_ID, SYSTEM_CANONICAL_ID, canonical_id_for


async def test_the_system_account_exists_from_the_start(store: IdentityStore) -> None:
    system = await store.accounts.get(SYSTEM_ACCOUNT_ID)
    assert system is not None and system.is_system
    assert system.canonical_id == SYSTEM_CANONICAL_ID == canonical_id_for(SYSTEM_ACCOUNT_ID)
    assert system.display_name == "nfyio"
    with pytest.raises(ValueError):
        await store.delete_account(SYSTEM_ACCOUNT_ID)


async def test_create_list_and_find(store: IdentityStore) -> None:
    one = await store.accounts.create("Team One", email="One@Example.com")
    two = await store.accounts.create("Team Two")
    assert one.id.startswith("acct_") and one.id != two.id
    assert len(one.canonical_id) == 64 and int(one.canonical_id, 16) >= 0
    assert one.canonical_id == canonical_id_for(one.id) != two.canonical_id
    assert one.display_name == "Team One" and two.email is None
    found = await store.accounts.find_by_email("one@example.COM")
    assert found == one
    assert await store.accounts.by_emails(["ONE@example.com", "nobody@example.com"]) == {
        "one@example.com": one
    }
    assert await store.accounts.by_canonical_ids([two.canonical_id.upper()]) == {
        two.canonical_id: two
    }
    ids: list[str] = []
    cursor = None
    while True:
        page, cursor = await store.accounts.list_page(limit=1, cursor=cursor)
        ids += [a.id for a in page]
        if cursor is None:
            break
    assert sorted(ids) == sorted([SYSTEM_ACCOUNT_ID, one.id, two.id])


async def test_the_name_is_unique_case_insensitively(store: IdentityStore) -> None:
    await store.accounts.create("Acme")
    for taken in ("Acme", "acme", "ACME", "System"):
        with pytest.raises(DuplicateNameError):
            await store.accounts.create(taken)
    await store.accounts.create("Acme 2")


async def test_email_is_unique_case_insensitively(store: IdentityStore) -> None:
    await store.accounts.create("a", email="ops@example.com")
    with pytest.raises(DuplicateEmailError):
        await store.accounts.create("b", email="OPS@example.com")
    with pytest.raises(ValueError):
        await store.accounts.create("c", email="not an address")


async def test_keys_users_and_clients_belong_to_their_account(store: IdentityStore) -> None:
    team = await store.accounts.create("team")
    system_key, _ = await store.create_key("system", ["admin"])
    team_key, _ = await store.create_key("team", ["admin"], account_id=team.id)
    assert system_key.account_id == SYSTEM_ACCOUNT_ID
    assert team_key.account_id == team.id
    assert team_key.principal().account_id == team.id
    assert team_key.principal().canonical_id == team.canonical_id
    page, _ = await store.list_keys(account=team.id)
    assert [k.id for k in page] == [team_key.id]
    user = await store.users.create("team-user", "password-1", ["read:objects"], account_id=team.id)
    other = await store.users.create("system-user", "password-1", ["read:objects"])
    assert user.account_id == team.id and other.account_id == SYSTEM_ACCOUNT_ID
    users, _ = await store.users.list_page(account=team.id)
    assert [u.id for u in users] == [user.id]
    client, _ = await store.clients.create("c", scopes=["admin"], account_id=team.id)
    clients, _ = await store.clients.list_page(account=SYSTEM_ACCOUNT_ID)
    assert client.id not in [c.id for c in clients]
    assert (await store.clients.get(client.id)) == client


async def test_deleting_an_account_revokes_its_keys_and_removes_users_and_clients(
    store: IdentityStore,
) -> None:
    team = await store.accounts.create("doomed", email="doomed@example.com")
    key, secret = await store.create_key("k", ["admin"], account_id=team.id)
    user = await store.users.create("doomed-user", "password-1", ["admin"], account_id=team.id)
    client, _ = await store.clients.create("c", scopes=["admin"], account_id=team.id)
    keeper, keeper_secret = await store.create_key("keeper", ["admin"])
    now = datetime.now(UTC)
    assert await store.find_by_secret(secret, now) is not None
    assert await store.delete_account(team.id) is True
    assert await store.delete_account(team.id) is False
    assert await store.accounts.get(team.id) is None
    assert await store.find_by_secret(secret, now) is None
    assert await store.sigv4_secrets(key.id, now) is None
    revoked = await store.get_key(key.id)
    assert revoked is not None and revoked.revoked_at is not None
    assert await store.users.get(user.id) is None
    assert await store.clients.get(client.id) is None
    assert await store.find_by_secret(keeper_secret, now) is not None
    assert await store.accounts.find_by_email("doomed@example.com") is None
    # The address is free again.
    await store.accounts.create("reborn", email="doomed@example.com")
    assert keeper.account_id == SYSTEM_ACCOUNT_ID


async def test_an_account_and_a_claim_for_it_are_exclusive(store: IdentityStore) -> None:
    """The deletion refuses an account owning a bucket in its own transaction, and a
    claim for a deleted account is refused in its: no bucket is left to nobody."""
    team = await store.accounts.create("owner")
    assert await store.bucket_settings.claim_owner("owned-1", team.id) is True
    with pytest.raises(AccountOwnsBuckets) as refused:
        await store.delete_account(team.id)
    assert refused.value.buckets == ["owned-1"]
    assert await store.accounts.get(team.id) is not None
    await store.bucket_settings.forget_bucket("owned-1")
    assert await store.delete_account(team.id) is True
    with pytest.raises(AccountGone):
        await store.bucket_settings.claim_owner("owned-2", team.id)
    assert await store.bucket_settings.get("owned-2", "owner") is None
    # The system account has no deletion to race with.
    assert await store.bucket_settings.claim_owner("system-1", SYSTEM_ACCOUNT_ID) is True


async def test_the_cache_answers_for_immutable_fields(store: IdentityStore) -> None:
    team = await store.accounts.create("cached")
    assert await store.accounts.cached(team.id) == team
    assert await store.accounts.cached("acct_NOPE") is None


async def test_root_key_belongs_to_the_system_account(store: IdentityStore) -> None:
    root = await store.ensure_root_key("ROOTKEYID0001", "root-secret-0123456789")
    assert root.account_id == SYSTEM_ACCOUNT_ID and root.is_root
    principal = root.principal()
    assert principal.root and principal.account_id == SYSTEM_ACCOUNT_ID
    assert await store.has_active_admin_key(datetime.now(UTC))
