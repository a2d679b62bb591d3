"""The bootstrap root key from NFYIO_ROOT_ACCESS_KEY / NFYIO_ROOT_SECRET_KEY."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from gateway.identity.db import Tx
from gateway.identity.store import IdentityStore
from tests.gateway.identity.conftest import OpenStore

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
ROOT_ID = "AKIAIOSFODNN7EXAMPLE"
ROOT_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


async def write_marker(store: IdentityStore) -> list[tuple[object, ...]]:
    """Changes when anything is committed: SQLite's ``data_version`` (seen from the reader
    connection, it counts the writer's commits), PostgreSQL's row versions (``xmin``)."""
    if store.db.dialect == "sqlite":
        return await store.db.fetch_all("PRAGMA data_version")
    keys = await store.db.fetch_all("SELECT xmin::text, id FROM access_keys")
    secrets = await store.db.fetch_all("SELECT xmin::text, key_id FROM access_key_secrets")
    return keys + secrets


async def test_root_key_is_created_as_admin(store: IdentityStore) -> None:
    assert not await store.has_active_admin_key(T0)
    root = await store.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0)
    assert root.id == ROOT_ID and root.is_root
    assert root.scopes == frozenset({"admin"})
    assert (root.buckets, root.expires_at, root.revoked_at, root.owner) == (None, None, None, None)
    assert await store.sigv4_secrets(ROOT_ID, T0) == (root, (ROOT_SECRET,))
    assert await store.find_by_secret(ROOT_SECRET, T0) == root
    assert await store.has_active_admin_key(T0)


async def test_ensure_root_key_is_idempotent_without_writing(store: IdentityStore) -> None:
    first = await store.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0)
    before = await write_marker(store)
    again = await store.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0 + timedelta(days=1))
    assert again == first
    assert await write_marker(store) == before  # nothing committed


async def test_ensure_root_key_resyncs_a_changed_secret(store: IdentityStore) -> None:
    await store.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0)
    root = await store.ensure_root_key(ROOT_ID, "a-brand-new-root-secret", now=T0)
    assert await store.sigv4_secrets(ROOT_ID, T0) == (root, ("a-brand-new-root-secret",))
    assert await store.find_by_secret(ROOT_SECRET, T0) is None
    assert await store.find_by_secret("a-brand-new-root-secret", T0) == root


async def test_ensure_root_key_restores_a_revoked_or_tampered_root(store: IdentityStore) -> None:
    await store.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0)
    await store.revoke_key(ROOT_ID, now=T0)
    assert not await store.has_active_admin_key(T0)

    async def tamper(tx: Tx) -> None:
        await tx.execute(
            "UPDATE access_keys SET scopes = '[\"read:objects\"]' WHERE id = ?", (ROOT_ID,)
        )

    await store.db.transaction(tamper)
    root = await store.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0)
    assert root.revoked_at is None and root.scopes == frozenset({"admin"})
    assert await store.find_by_secret(ROOT_SECRET, T0) == root


async def test_changing_the_root_id_revokes_the_old_root(store: IdentityStore) -> None:
    await store.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0)
    new_root = await store.ensure_root_key("NEWROOTKEY", "another-root-secret", now=T0)
    old = await store.get_key(ROOT_ID)
    assert old is not None and old.revoked_at is not None
    assert await store.sigv4_secrets(ROOT_ID, T0) is None
    assert await store.find_by_secret(ROOT_SECRET, T0) is None
    assert await store.has_active_admin_key(T0)
    assert new_root.is_root


async def test_root_key_survives_restart(open_store: OpenStore) -> None:
    store = await open_store()
    first = await store.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0)
    await store.close()
    store = await open_store()
    assert await store.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0 + timedelta(days=1)) == first
    await store.close()


async def test_admin_key_detection_follows_expiry_and_revocation(store: IdentityStore) -> None:
    await store.create_key("reader", ["read:objects"], now=T0)
    assert not await store.has_active_admin_key(T0)
    admin, _ = await store.create_key("ops", ["admin"], expires_at=T0 + timedelta(hours=1), now=T0)
    assert await store.has_active_admin_key(T0)
    assert not await store.has_active_admin_key(T0 + timedelta(hours=1))
    await store.revoke_key(admin.id)
    assert not await store.has_active_admin_key(T0)


async def test_workers_starting_together_sync_the_root_key_once(open_store: OpenStore) -> None:
    stores = [await open_store() for _ in range(3)]
    try:
        roots = await asyncio.gather(
            *(s.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0) for s in stores)
        )
        assert len({r.id for r in roots}) == 1
        count = await stores[0].db.fetch_one("SELECT count(*) FROM access_key_secrets")
        assert count == (1,)
    finally:
        for s in stores:
            await s.close()


async def test_existing_key_with_the_root_id_becomes_the_root(store: IdentityStore) -> None:
    await store.create_key(
        "was a normal key", ["read:objects"], key_id=ROOT_ID, owner="u_1", buckets=["b1"]
    )
    root = await store.ensure_root_key(ROOT_ID, ROOT_SECRET, now=T0)
    assert root.is_root and root.owner is None and root.buckets is None
    assert root.scopes == frozenset({"admin"})
