"""Taking a state database back to an older schema version, for the migration tests."""

from __future__ import annotations

from gateway.identity.db import Tx


async def undo_migration_7(tx: Tx) -> None:
    """The schema as a gateway before the per-account bucket limit left it."""
    await tx.execute("DROP INDEX bucket_settings_owner")
    await tx.execute("DELETE FROM schema_migrations WHERE version >= 7")


async def undo_migration_6(tx: Tx) -> None:
    """The schema as a gateway before the audit log and rate limits left it."""
    await undo_migration_7(tx)
    for table in ("audit_events", "rate_limit_buckets", "rate_limit_overrides"):
        await tx.execute(f"DROP TABLE {table}")
    if tx.dialect == "postgresql":
        await tx.execute("DROP FUNCTION audit_events_append_only()")
    await tx.execute("ALTER TABLE users DROP COLUMN roles")
    await tx.execute("DELETE FROM schema_migrations WHERE version >= 6")
