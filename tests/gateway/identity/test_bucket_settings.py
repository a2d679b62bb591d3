"""Bucket settings in the state store, on both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from gateway.identity.bucket_settings import MAX_DOCUMENT, BucketGone
from gateway.identity.quota import AccountLimitReached
from gateway.identity.schema import SCHEMA_VERSION
from gateway.identity.store import IdentityStore
from gateway.principal import SYSTEM_ACCOUNT_ID
from tests.gateway.identity.conftest import OpenStore, add_accounts
from tests.gateway.identity.undo import undo_migration_7


async def test_put_get_replace_delete(store: IdentityStore) -> None:
    settings = store.bucket_settings
    assert await settings.all_for("b") == {}
    assert await settings.get("b", "policy") is None
    await settings.put("b", "policy", '{"Version": "2012-10-17"}')
    await settings.put("b", "cors", "<CORSConfiguration/>")
    await settings.put("other", "policy", "{}")
    assert await settings.all_for("b") == {
        "policy": '{"Version": "2012-10-17"}',
        "cors": "<CORSConfiguration/>",
    }
    await settings.put("b", "policy", "{}")
    assert await settings.get("b", "policy") == "{}"
    assert await settings.delete("b", "policy") is True
    assert await settings.delete("b", "policy") is False
    assert await settings.all_for("b") == {"cors": "<CORSConfiguration/>"}


async def test_a_new_owner_gets_none_of_what_the_former_bucket_left(
    store: IdentityStore,
) -> None:
    """A PutBucketPolicy (or PutObject) whose checks passed just before its bucket was
    deleted writes just after the deletion forgot the bucket: the rows it leaves are not
    the next bucket of that name's, whoever makes it."""
    await add_accounts(store, "acct-old", "acct-new")
    settings, rows = store.bucket_settings, store.object_acls
    assert await settings.claim_owner("b", "acct-old")
    await settings.forget_bucket("b")
    # the late writes of requests made on the former bucket
    await settings.put("b", "policy", '{"grants": "acct-old"}')
    await rows.record(
        "b", "k", None, owner="acct-old", acl="{}", foreign=False, written_at=datetime.now(UTC)
    )
    assert await settings.claim_owner("b", "acct-new")
    assert await settings.all_for("b") == {"owner": "acct-new"}
    assert await rows.current("b", "k") is None


async def test_a_write_decided_for_a_former_owner_is_refused(store: IdentityStore) -> None:
    """A PutBucketPolicy decided while its sender owned the bucket, whose body arrived
    after the sender deleted it and another account made it again: refused, not the new
    bucket's policy."""
    await add_accounts(store, "acct-old", "acct-new")
    settings = store.bucket_settings
    assert await settings.claim_owner("b", "acct-old")
    await settings.forget_bucket("b")
    assert await settings.claim_owner("b", "acct-new")
    with pytest.raises(BucketGone):
        await settings.put("b", "policy", '{"grants": "acct-old"}', owner="acct-old")
    with pytest.raises(BucketGone):
        await settings.delete("b", "owner", owner="acct-old")
    assert await settings.all_for("b") == {"owner": "acct-new"}
    await settings.put("b", "policy", "{}", owner="acct-new")
    assert await settings.delete("b", "policy", owner="acct-new")
    # A bucket without an owner row (made before accounts) is the system account's.
    await settings.put("legacy", "policy", "{}", owner=SYSTEM_ACCOUNT_ID)
    with pytest.raises(BucketGone):
        await settings.put("legacy", "acl", "{}", owner="acct-new")


async def test_forget_bucket_drops_only_that_bucket(store: IdentityStore) -> None:
    settings = store.bucket_settings
    for kind in ("acl", "policy", "cors"):
        await settings.put("gone", kind, kind)
    await settings.put("gone-not", "acl", "kept")
    assert await settings.forget_bucket("gone") == 3
    assert await settings.all_for("gone") == {}
    assert await settings.all_for("gone-not") == {"acl": "kept"}


async def test_limits_and_sharing(store: IdentityStore, open_store: OpenStore) -> None:
    with pytest.raises(ValueError):
        await store.bucket_settings.put("b", "policy", "x" * (MAX_DOCUMENT + 1))
    await store.bucket_settings.put("b", "ünïcode", "dökument")
    other = await open_store()  # another worker or host sees it at once
    try:
        assert await other.bucket_settings.get("b", "ünïcode") == "dökument"
        await other.bucket_settings.delete("b", "ünïcode")
        assert await store.bucket_settings.get("b", "ünïcode") is None
    finally:
        await other.close()


async def test_lease_one_holder_at_a_time(store: IdentityStore, open_store: OpenStore) -> None:
    """The lifecycle sweeper's lease: one holder among processes (or hosts) sharing the
    store; renewed by claiming again; taken over once stale; released on purpose."""
    other = await open_store()  # a second worker or host on the same state
    try:
        now = datetime(2030, 1, 1, tzinfo=UTC)
        ttl = timedelta(seconds=60)
        mine, theirs = store.bucket_settings, other.bucket_settings
        assert await mine.claim("~lease", "lease", "a", now=now, ttl=ttl) is True
        assert await theirs.claim("~lease", "lease", "b", now=now, ttl=ttl) is False
        later = now + timedelta(seconds=59)
        assert await mine.claim("~lease", "lease", "a", now=later, ttl=ttl) is True  # renewed
        assert await theirs.claim("~lease", "lease", "b", now=later + ttl / 2, ttl=ttl) is False
        stale = later + ttl + timedelta(seconds=1)
        assert await theirs.claim("~lease", "lease", "b", now=stale, ttl=ttl) is True
        assert await mine.claim("~lease", "lease", "a", now=stale, ttl=ttl) is False
        assert await mine.release("~lease", "lease", "a") is False  # not a's any more
        assert await theirs.release("~lease", "lease", "b") is True
        assert await mine.claim("~lease", "lease", "a", now=stale, ttl=ttl) is True
    finally:
        await other.close()


async def test_lease_race_has_one_winner(store: IdentityStore, open_store: OpenStore) -> None:
    others = [await open_store() for _ in range(3)]
    try:
        now = datetime(2030, 1, 1, tzinfo=UTC)
        ttl = timedelta(seconds=60)
        stores = [store, *others]
        won = await asyncio.gather(
            *(
                s.bucket_settings.claim("~race", "lease", f"h{i}", now=now, ttl=ttl)
                for i, s in enumerate(stores)
            )
        )
        assert sorted(won) == [False, False, False, True]
    finally:
        for s in others:
            await s.close()


async def test_owner_claims_stop_at_the_limit(store: IdentityStore) -> None:
    await add_accounts(store, "acct_A", "acct_B")
    settings = store.bucket_settings
    for name in ("a", "b", "c"):
        assert await settings.claim_owner(name, "acct_A", most=3) is True
    with pytest.raises(AccountLimitReached):
        await settings.claim_owner("d", "acct_A", most=3)
    # A name the account holds already is no new bucket: no error at the limit.
    assert await settings.claim_owner("a", "acct_A", most=3) is False
    # Another account's name, or another account's claim, is not counted against it.
    assert await settings.claim_owner("a", "acct_B", most=3) is False
    assert await settings.claim_owner("d", "acct_B", most=3) is True
    await settings.forget_bucket("b")
    assert await settings.claim_owner("e", "acct_A", most=3) is True
    assert await settings.get("d", "owner") == "acct_B"


async def test_racing_owner_claims_hold_the_limit(
    store: IdentityStore, open_store: OpenStore
) -> None:
    """Claims from several stores (workers, or hosts on PostgreSQL) at once: exactly the
    limit succeeds."""
    await add_accounts(store, "acct_R")
    others = [await open_store() for _ in range(3)]
    try:
        stores = [store, *others]

        async def claim(i: int) -> bool:
            try:
                return await stores[i % 4].bucket_settings.claim_owner(
                    f"race-{i}", "acct_R", most=5
                )
            except AccountLimitReached:
                return False

        won = await asyncio.gather(*(claim(i) for i in range(16)))
        assert sum(won) == 5
        owned = await store.bucket_settings.of_kind("owner")
        assert sorted(owned.values()) == ["acct_R"] * 5
    finally:
        for other in others:
            await other.close()


async def test_a_version_6_database_counts_the_buckets_it_had(open_store: OpenStore) -> None:
    """Migration 7 indexes the owners already recorded: they count at once."""
    store = await open_store()
    try:
        await add_accounts(store, "acct_O")
        for name in ("old-1", "old-2"):
            await store.bucket_settings.claim_owner(name, "acct_O")
        await store.db.transaction(undo_migration_7)
    finally:
        await store.close()
    store = await open_store()
    try:
        versions = await store.db.fetch_all("SELECT version FROM schema_migrations")
        assert max(v[0] for v in versions) == SCHEMA_VERSION == 7
        settings = store.bucket_settings
        assert await settings.claim_owner("new-1", "acct_O", most=3) is True
        with pytest.raises(AccountLimitReached):
            await settings.claim_owner("new-2", "acct_O", most=3)
    finally:
        await store.close()
