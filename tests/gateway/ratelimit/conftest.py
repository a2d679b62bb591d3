"""The limiter runs against the real state store, on SQLite and on PostgreSQL (the
identity store's fixtures)."""

from tests.gateway.identity.conftest import (  # noqa: F401  (pytest fixtures)
    data_dir,
    master_key,
    open_store,
    sqlite_store,
    state_url,
    store,
)
