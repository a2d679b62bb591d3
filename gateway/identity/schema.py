"""SQLite schema of the identity store, as numbered migrations, and connection setup.

Conventions every table follows (and new ones must):

- Timestamps are INTEGER microseconds since the Unix epoch, UTC (exact, sortable).
- Text primary keys use ``WITHOUT ROWID``: a lookup by id is one B-tree search.
- Secrets the gateway must read back are AES-GCM blobs (``*_enc``) whose associated data
  names the table and row; bearer credentials are found through an HMAC column
  (``lookup_hash``); verify-only secrets are scrypt strings (``*_hash``).
- A migration is appended, never edited. Each runs in one ``BEGIN IMMEDIATE`` transaction,
  so concurrent workers starting together apply it exactly once.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from gateway.identity.crypto import MasterKeyError
from gateway.identity.models import to_micros, utcnow

__all__ = [
    "DB_FILE",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SchemaError",
    "Transaction",
    "connect",
    "migrate",
    "open_database",
]

DB_FILE = "identity.db"
_FINGERPRINT = "master_key_fingerprint"
BUSY_TIMEOUT_MS = 5000

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: access keys and their secrets.
    (
        """
        CREATE TABLE meta (
            name  TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE access_keys (
            id           TEXT PRIMARY KEY,
            name         TEXT NOT NULL,
            kind         TEXT NOT NULL DEFAULT 'standard' CHECK (kind IN ('standard', 'root')),
            scopes       TEXT NOT NULL,  -- JSON array, sorted
            buckets      TEXT,           -- JSON array of names/patterns; NULL = all buckets
            owner        TEXT,           -- creating key id or user id; NULL = bootstrap/CLI
            created_at   INTEGER NOT NULL,
            expires_at   INTEGER,
            revoked_at   INTEGER,
            last_used_at INTEGER
        ) WITHOUT ROWID
        """,
        "CREATE INDEX access_keys_by_owner ON access_keys (owner, id)",
        # One row per usable secret of a key: the current one (valid_until IS NULL) and,
        # during a rotation grace period, the previous one.
        """
        CREATE TABLE access_key_secrets (
            lookup_hash BLOB PRIMARY KEY,  -- HMAC-SHA256(lookup subkey, secret)
            key_id      TEXT NOT NULL REFERENCES access_keys (id) ON DELETE CASCADE,
            secret_enc  BLOB NOT NULL,     -- SecretBox, aad = access_key_aad(key_id)
            created_at  INTEGER NOT NULL,
            valid_until INTEGER            -- NULL = current secret
        ) WITHOUT ROWID
        """,
        "CREATE INDEX access_key_secrets_by_key ON access_key_secrets (key_id)",
        """
        CREATE UNIQUE INDEX access_key_secrets_one_current
            ON access_key_secrets (key_id) WHERE valid_until IS NULL
        """,
    ),
    # 2: OAuth 2.0 - users, clients, sessions (refresh-token families), refresh tokens,
    # revoked access tokens, JWT signing keys, password-grant throttle.
    (
        """
        CREATE TABLE users (
            id            TEXT PRIMARY KEY,                        -- usr_...
            username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
            password_hash TEXT NOT NULL,                           -- scrypt PHC string
            scopes        TEXT NOT NULL,                           -- JSON array, sorted
            created_at    INTEGER NOT NULL,
            updated_at    INTEGER NOT NULL,
            disabled_at   INTEGER
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE oauth_clients (
            id          TEXT PRIMARY KEY,                          -- cl_...
            name        TEXT NOT NULL,
            secret_hash TEXT NOT NULL,                             -- scrypt PHC string
            grant_types TEXT NOT NULL,                             -- JSON array
            scopes      TEXT NOT NULL,                             -- JSON array, sorted
            created_at  INTEGER NOT NULL
        ) WITHOUT ROWID
        """,
        # A session is one login (password grant): the refresh-token family and every
        # access token minted from it (their "sid" claim). Revoking it stops all of them.
        """
        CREATE TABLE oauth_sessions (
            id             TEXT PRIMARY KEY,                       -- ses_...
            user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            client_id      TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
            scopes         TEXT NOT NULL,                          -- JSON array granted at login
            created_at     INTEGER NOT NULL,
            expires_at     INTEGER NOT NULL,                       -- absolute cap of the family
            revoked_at     INTEGER,
            revoked_reason TEXT
        ) WITHOUT ROWID
        """,
        "CREATE INDEX oauth_sessions_by_user ON oauth_sessions (user_id)",
        "CREATE INDEX oauth_sessions_by_client ON oauth_sessions (client_id)",
        "CREATE INDEX oauth_sessions_by_expiry ON oauth_sessions (expires_at)",
        """
        CREATE TABLE refresh_tokens (
            lookup_hash BLOB PRIMARY KEY,                          -- HMAC(lookup subkey, rt_...)
            session_id  TEXT NOT NULL REFERENCES oauth_sessions (id) ON DELETE CASCADE,
            created_at  INTEGER NOT NULL,
            used_at     INTEGER                                    -- set when rotated
        ) WITHOUT ROWID
        """,
        "CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id)",
        """
        CREATE TABLE revoked_access_tokens (
            jti        TEXT PRIMARY KEY,
            expires_at INTEGER NOT NULL                            -- row is pruned after this
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE signing_keys (
            kid         TEXT PRIMARY KEY,
            algorithm   TEXT NOT NULL DEFAULT 'RS256',
            private_enc BLOB NOT NULL,                             -- SecretBox(PKCS#8 PEM)
            public_jwk  TEXT NOT NULL,                             -- JSON
            created_at  INTEGER NOT NULL,
            retired_at  INTEGER,                                   -- NULL = the active key
            serve_until INTEGER                                    -- retired_at + overlap
        ) WITHOUT ROWID
        """,
        """
        CREATE UNIQUE INDEX signing_keys_one_active
            ON signing_keys (algorithm) WHERE retired_at IS NULL
        """,
        """
        CREATE TABLE auth_throttle (
            bucket          TEXT PRIMARY KEY,                      -- user:<name> | ip:<address>
            failures        INTEGER NOT NULL,
            last_failure_at INTEGER NOT NULL,
            blocked_until   INTEGER NOT NULL
        ) WITHOUT ROWID
        """,
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaError(RuntimeError):
    """The database cannot be used by this version of the gateway."""


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit ``BEGIN``s) with WAL,
    a busy timeout and foreign keys on. The file is created 0600; SQLite gives its
    ``-wal`` and ``-shm`` files the same mode."""
    if not path.exists():
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise SchemaError(f"{path}: cannot switch to WAL mode (got {mode!r})")
        # FULL: a key whose secret was shown to the user must survive a power cut.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection, *, now_us: int) -> int:
    """Bring the schema up to :data:`SCHEMA_VERSION`; return the version found before."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)"
        )
        row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
        found = int(row[0])
        if found > SCHEMA_VERSION:
            raise SchemaError(
                f"identity database is at schema version {found}, newer than this "
                f"gateway understands ({SCHEMA_VERSION}); upgrade the gateway"
            )
        for version in range(found + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[version - 1]:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                (version, now_us),
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found


class Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error). ``IMMEDIATE`` takes the
    write lock up front, so a read-then-write never fails half-way with SQLITE_BUSY."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self._conn.execute("BEGIN IMMEDIATE")
        return self._conn

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self._conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def open_database(path: Path, fingerprint: str) -> tuple[sqlite3.Connection, sqlite3.Connection]:
    """Create/migrate ``path`` and return ``(reader, writer)`` connections.

    The master-key ``fingerprint`` is recorded on first use; a different one later raises
    :class:`MasterKeyError`, because no stored secret would decrypt.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    writer = connect(path)
    try:
        migrate(writer, now_us=to_micros(utcnow()))
        with Transaction(writer) as conn:
            row = conn.execute("SELECT value FROM meta WHERE name = ?", (_FINGERPRINT,)).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO meta (name, value) VALUES (?, ?)", (_FINGERPRINT, fingerprint)
                )
            elif row[0] != fingerprint:
                raise MasterKeyError(
                    f"{path} was written under a different master key; set the original "
                    "NFYIO_MASTER_KEY (or restore master.key) to read it"
                )
        reader = connect(path)
        reader.execute("PRAGMA query_only = ON")
    except BaseException:
        writer.close()
        raise
    return reader, writer
