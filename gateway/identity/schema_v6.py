"""Migration 6: the audit log, rate-limit buckets and overrides, users' roles.

Kept beside :mod:`gateway.identity.schema` (which appends it to ``MIGRATIONS``) so that
the history module stays readable; like every migration it is never edited once
released.

- ``audit_events``: append-only (an ``UPDATE`` fails in both databases; ``DELETE`` is the
  retention pruning's). Its id orders events by time: 16 hex digits of the event's
  microseconds, then 8 random hex digits (:func:`gateway.identity.audit.new_event_id`),
  so a time range is an id range and every listing walks one index.
- ``rate_limit_buckets``: one shared token bucket per principal, address or account
  (``key:ak_...``, ``ip:203.0.113.7``, ``account:acct_...``), in thousandths of a token;
  ``full_at`` is when it will be full again (a row past it can be deleted: an absent row
  is a full bucket).
- ``rate_limit_overrides``: ``key:<id>`` / ``account:<id>`` -> requests per minute and
  burst.
- ``users.roles``: the role names a user's access tokens carry (JSON array).
"""

from __future__ import annotations

__all__ = ["POSTGRES_6", "SQLITE_6"]

_INDEXES = (
    "CREATE INDEX audit_events_by_account ON audit_events (account_id, id)",
    "CREATE INDEX audit_events_by_actor ON audit_events (actor_id, id)",
    "CREATE INDEX audit_events_by_target ON audit_events (target_id, id)",
    "CREATE INDEX audit_events_by_action ON audit_events (action, id)",
    "CREATE INDEX rate_limit_buckets_by_full_at ON rate_limit_buckets (full_at)",
    "ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '[]'",
)

SQLITE_6 = (
    """
    CREATE TABLE audit_events (
        id             TEXT PRIMARY KEY,       -- 16 hex µs + 8 hex random: time order
        time           INTEGER NOT NULL,
        account_id     TEXT,                   -- whose log it is; NULL: the root's only
        action         TEXT NOT NULL,          -- access_key.create, auth.password.failure...
        outcome        TEXT NOT NULL,          -- success | failure
        actor_type     TEXT NOT NULL,          -- key | user | client | anonymous | system
        actor_id       TEXT,
        actor_account  TEXT,
        target_type    TEXT,
        target_id      TEXT,
        client_address TEXT,
        user_agent     TEXT,
        request_id     TEXT,
        details        TEXT NOT NULL DEFAULT '{}'   -- JSON object, never a secret
    ) WITHOUT ROWID
    """,
    """
    CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END
    """,
    """
    CREATE TABLE rate_limit_buckets (
        bucket     TEXT PRIMARY KEY,
        tokens     INTEGER NOT NULL,           -- thousandths of a token
        updated_at INTEGER NOT NULL,
        full_at    INTEGER NOT NULL
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE rate_limit_overrides (
        subject             TEXT PRIMARY KEY,  -- key:<id> | account:<id>
        requests_per_minute INTEGER NOT NULL,
        burst               INTEGER NOT NULL,
        updated_at          INTEGER NOT NULL
    ) WITHOUT ROWID
    """,
    *_INDEXES,
)

POSTGRES_6 = (
    """
    CREATE TABLE audit_events (
        id             TEXT COLLATE "C" PRIMARY KEY,
        time           BIGINT NOT NULL,
        account_id     TEXT COLLATE "C",
        action         TEXT COLLATE "C" NOT NULL,
        outcome        TEXT NOT NULL,
        actor_type     TEXT NOT NULL,
        actor_id       TEXT COLLATE "C",
        actor_account  TEXT,
        target_type    TEXT,
        target_id      TEXT COLLATE "C",
        client_address TEXT,
        user_agent     TEXT,
        request_id     TEXT,
        details        TEXT NOT NULL DEFAULT '{}'
    )
    """,
    """
    CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$
    """,
    """
    CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
    """,
    """
    CREATE TABLE rate_limit_buckets (
        bucket     TEXT COLLATE "C" PRIMARY KEY,
        tokens     BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        full_at    BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE rate_limit_overrides (
        subject             TEXT PRIMARY KEY,
        requests_per_minute BIGINT NOT NULL,
        burst               BIGINT NOT NULL,
        updated_at          BIGINT NOT NULL
    )
    """,
    *_INDEXES,
)
