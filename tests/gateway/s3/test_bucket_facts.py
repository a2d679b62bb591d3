"""``load_bucket`` remembers the facts of a bucket with an owner by its settings mapping:
what it answers is what building them afresh gives, for the bucket, the caller and the
gateway-wide block it is asked for, and a change of the settings is seen at once."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backends.filesystem import FilesystemBackend
from gateway.authz import (
    AccessControlList,
    CanonicalUser,
    Grant,
    ObjectOwnership,
    Permission,
    PublicAccessBlock,
)
from gateway.authz.acl import Group
from gateway.authz.stored import acl_to_json, block_to_json
from gateway.identity.store import IdentityStore
from gateway.principal import SYSTEM_ACCOUNT_ID, Principal
from gateway.s3 import bucket_facts
from gateway.s3.bucket_facts import (
    ACL,
    OWNER,
    OWNERSHIP,
    PUBLIC_ACCESS_BLOCK,
    BucketFacts,
    _facts,
    load_bucket,
    parsed_acl,
)

ALICE = Principal(kind="key", subject="ak_alice", scopes=frozenset({"*"}), account_id="acct_a")
ALL = Group.ALL_USERS
SYSTEM = Principal(
    kind="key", subject="ak_root", scopes=frozenset({"*"}), account_id=SYSTEM_ACCOUNT_ID
)


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[IdentityStore, FilesystemBackend]]:
    state = await IdentityStore.open(tmp_path / "state", os.urandom(32), bucket_cache_seconds=60.0)
    backend = FilesystemBackend(tmp_path / "data", fsync=False)
    await backend.start()
    yield state, backend
    await backend.close()
    await state.close()


async def _fresh(
    state: IdentityStore, bucket: str, owner: BucketFacts, *, forced_block: bool
) -> BucketFacts:
    settings = dict(await state.bucket_settings.all_for(bucket))
    return _facts(bucket, owner.owner, settings, forced_block=forced_block)


async def test_remembered_facts_are_the_built_ones(
    stores: tuple[IdentityStore, FilesystemBackend],
) -> None:
    state, backend = stores
    for bucket in ("one", "two"):
        await state.bucket_settings.put(bucket, OWNER, "acct_a")
    first = await load_bucket(state, backend, "one", ALICE, forced_block=False)
    again = await load_bucket(state, backend, "one", SYSTEM, forced_block=False)
    assert again is first  # the same settings mapping: remembered
    assert first == await _fresh(state, "one", first, forced_block=False)
    assert first.owner is not None and first.owner.account_id == "acct_a"
    forced = await load_bucket(state, backend, "one", ALICE, forced_block=True)
    assert forced.forced_block and forced == await _fresh(state, "one", first, forced_block=True)
    other = await load_bucket(state, backend, "two", ALICE, forced_block=False)
    assert other.name == "two" and other == await _fresh(state, "two", other, forced_block=False)
    # a change of the bucket's settings is seen by the next request
    block = {"BlockPublicAcls": True, "IgnorePublicAcls": True}
    await state.bucket_settings.put("one", PUBLIC_ACCESS_BLOCK, json.dumps(block))
    changed = await load_bucket(state, backend, "one", ALICE, forced_block=False)
    assert changed is not first and PUBLIC_ACCESS_BLOCK in changed.settings
    assert changed.block != first.block
    assert changed == await _fresh(state, "one", first, forced_block=False)


async def test_a_bucket_without_an_owner_is_decided_per_caller(
    stores: tuple[IdentityStore, FilesystemBackend],
) -> None:
    state, backend = stores
    await state.bucket_settings.put("ghost", "cors", "{}")  # settings, no owner, no bucket
    system = await load_bucket(state, backend, "ghost", SYSTEM, forced_block=False)
    assert system.owner is not None and system.owner.account_id == SYSTEM_ACCOUNT_ID
    other = await load_bucket(state, backend, "ghost", ALICE, forced_block=False)
    assert other.owner is None  # NoSuchBucket for anyone else: never the system's answer


async def test_one_entry_a_bucket_and_none_for_large_settings(tmp_path: Path) -> None:
    """Without the settings cache (or once its answer expired) every load reads a new
    mapping: the memo keeps one entry a bucket, not one a mapping read (each holding up
    to ~350 KiB of documents), and none for a bucket whose documents are larger than
    ``LOADED_MAX_CHARS`` (the settings cache bounds those by characters)."""
    state = await IdentityStore.open(tmp_path / "state", os.urandom(32), bucket_cache_seconds=0)
    backend = FilesystemBackend(tmp_path / "data", fsync=False)
    await backend.start()
    try:
        for bucket in ("small", "large"):
            await state.bucket_settings.put(bucket, OWNER, "acct_a")
        large = "x" * (bucket_facts.LOADED_MAX_CHARS + 1)
        await state.bucket_settings.put("large", "cors", large)

        def held(name: str) -> int:
            return sum(facts.name == name for _, facts in bucket_facts._loaded.values())

        for _ in range(5):
            small = await load_bucket(state, backend, "small", ALICE, forced_block=False)
            assert small == await _fresh(state, "small", small, forced_block=False)
            assert held("small") == 1
            got = await load_bucket(state, backend, "large", ALICE, forced_block=False)
            assert got.settings.get("cors") == large
            assert got == await _fresh(state, "large", got, forced_block=False)
            assert held("large") == 0
    finally:
        await backend.close()
        await state.close()


async def test_what_decisions_read_is_the_settings_meaning(
    stores: tuple[IdentityStore, FilesystemBackend],
) -> None:
    """The ACL, the object ownership and the block in force, worked out once with the
    facts (not compared by ``==``), are what the stored documents and the gateway-wide
    switch say, for a bucket without them and with each, remembered or built afresh."""
    state, backend = stores
    owner = CanonicalUser("c" * 64, "a")
    acl = acl_to_json(
        AccessControlList(
            owner, (Grant(owner, Permission.FULL_CONTROL), Grant(ALL, Permission.READ))
        )
    )
    block = block_to_json(PublicAccessBlock(True, False, False, True))
    buckets = {
        "bare": {},
        "acl": {ACL: acl},
        "preferred": {OWNERSHIP: "BucketOwnerPreferred"},
        "enforced": {OWNERSHIP: "BucketOwnerEnforced", PUBLIC_ACCESS_BLOCK: block},
    }
    for bucket, settings in buckets.items():
        await state.bucket_settings.put(bucket, OWNER, "acct_a")
        for kind, text in settings.items():
            await state.bucket_settings.put(bucket, kind, text)
    for forced in (False, True, False):
        for bucket, settings in buckets.items():
            facts = await load_bucket(state, backend, bucket, ALICE, forced_block=forced)
            expected_acl = parsed_acl(settings[ACL]) if ACL in settings else None
            assert facts.acl == expected_acl
            assert (facts.acl is None) is (ACL not in settings)
            assert facts.ownership is ObjectOwnership(
                settings.get(OWNERSHIP, ObjectOwnership.OBJECT_WRITER.value)
            )
            assert facts.effective_block == facts.block.effective(force_all=forced)
            if forced:
                assert facts.effective_block == PublicAccessBlock.all_on()
            elif PUBLIC_ACCESS_BLOCK in settings:
                assert facts.effective_block.block_public_acls
                assert facts.effective_block.restrict_public_buckets
                assert not facts.effective_block.ignore_public_acls
            else:
                assert facts.effective_block == PublicAccessBlock()
