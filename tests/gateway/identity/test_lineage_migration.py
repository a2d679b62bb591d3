"""Migration 4 on a database written before it: the parent of each existing key is taken
from ``owner`` where it names a key, user or client, and the rule is applied to the rows
already there. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.identity.db import Tx
from gateway.identity.schema import SCHEMA_VERSION
from tests.gateway.identity.conftest import OpenStore
from tests.gateway.identity.undo import undo_migration_6

LINEAGE_VERSION = 4


async def _back_to_version_3(tx: Tx) -> None:
    """The schema as a gateway without parent tracking left it: migrations 6 (audit log,
    rate limits) and 5 (accounts) undone first, then 4."""
    await undo_migration_6(tx)
    for table in ("access_keys", "users", "oauth_clients"):
        await tx.execute(f"DROP INDEX {table}_by_account")
        await tx.execute(f"ALTER TABLE {table} DROP COLUMN account_id")
    for table in ("upload_acls", "object_acls", "accounts"):
        await tx.execute(f"DROP TABLE {table}")
    await tx.execute("DROP TABLE access_key_parents")
    await tx.execute("DELETE FROM schema_migrations WHERE version >= ?", (LINEAGE_VERSION,))


async def test_existing_keys_get_their_parents_and_the_rule(open_store: OpenStore) -> None:
    assert SCHEMA_VERSION >= LINEAGE_VERSION
    now = datetime.now(UTC)
    end = now + timedelta(hours=1)
    store = await open_store()
    try:
        # Keys as the API used to mint them: only ``owner`` says who minted them.
        parent, _ = await store.create_key("parent", ["read:objects"], expires_at=end)
        child, child_secret = await store.create_key("child", ["read:objects"], owner=parent.id)
        grandchild, _ = await store.create_key("grandchild", ["read:objects"], owner=child.id)
        revoked, _ = await store.create_key("revoked", ["read:objects"])
        orphan, orphan_secret = await store.create_key(
            "of a revoked key", ["read:objects"], owner=revoked.id
        )
        await store.db.transaction(
            lambda tx: tx.execute(
                "UPDATE access_keys SET revoked_at = ? WHERE id = ?",
                (int(now.timestamp() * 1e6), revoked.id),
            )
        )
        gone, gone_secret = await store.create_key(
            "of a deleted client", ["read:objects"], owner="cl_DELETEDCLIENT00000"
        )
        user = await store.users.create("alice", "password-1", ["read:objects"])
        client, _ = await store.clients.create(
            "svc", grant_types=["client_credentials"], scopes=["read:objects"]
        )
        by_user, by_user_secret = await store.create_key("u", ["read:objects"], owner=user.id)
        by_client, by_client_secret = await store.create_key("c", ["read:objects"], owner=client.id)
        cli_key, cli_secret = await store.create_key("cli", ["read:objects"])
        await store.db.transaction(_back_to_version_3)
    finally:
        await store.close()

    store = await open_store()
    try:
        versions = await store.db.fetch_all("SELECT version FROM schema_migrations")
        assert max(v[0] for v in versions) == SCHEMA_VERSION
        links = {
            (str(r[0]), str(r[1]), str(r[2]))
            for r in await store.db.fetch_all(
                "SELECT key_id, kind, parent_id FROM access_key_parents"
            )
        }
        assert links == {
            (child.id, "key", parent.id),
            (grandchild.id, "key", child.id),
            (orphan.id, "key", revoked.id),
            (by_user.id, "user", user.id),
            (by_client.id, "client", client.id),
        }

        # A child never expires later than its parent, transitively.
        for key_id in (child.id, grandchild.id):
            key = await store.get_key(key_id)
            assert key is not None and key.expires_at == parent.expires_at

        # Minted by a revoked key or by a credential that no longer exists: revoked now.
        later = datetime.now(UTC)
        for key_id, secret in ((orphan.id, orphan_secret), (gone.id, gone_secret)):
            key = await store.get_key(key_id)
            assert key is not None and key.revoked_at is not None
            assert await store.find_by_secret(secret, later) is None
            assert await store.sigv4_secrets(key_id, later) is None

        # Cascades now reach the old keys.
        assert await store.find_by_secret(child_secret, later) is not None
        await store.revoke_key(parent.id)
        assert await store.find_by_secret(child_secret, later) is None
        await store.users.update(user.id, password="password-2")
        assert await store.find_by_secret(by_user_secret, later) is None
        await store.clients.delete(client.id)
        assert await store.find_by_secret(by_client_secret, later) is None
        assert await store.find_by_secret(cli_secret, later) is not None
        assert cli_key.owner is None
    finally:
        await store.close()
