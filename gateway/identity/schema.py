"""The state store's schema: one history of numbered migrations, SQL per dialect.

Both databases run the same versions in the same order; a migration lists its statements
for SQLite and for PostgreSQL (:class:`Migration`; :meth:`Migration.same` when the text
is portable, as most ``CREATE INDEX`` and ``ALTER TABLE ... ADD COLUMN`` are).
Conventions for the tables that come next:

- Timestamps are integer microseconds since the Unix epoch, UTC (SQLite ``INTEGER``,
  PostgreSQL ``BIGINT``: ``INTEGER`` there is 32 bits).
- Text primary keys: ``WITHOUT ROWID`` on SQLite (a lookup by id is one B-tree search);
  ``COLLATE "C"`` on PostgreSQL where the key orders a listing, so pages come in the same
  byte order as SQLite's.
- Secrets the gateway must read back are AES-GCM blobs (``*_enc``, ``BLOB``/``BYTEA``)
  whose associated data names the table and row; bearer credentials are found through an
  HMAC column (``lookup_hash``); verify-only secrets are scrypt strings (``*_hash``).
- A migration is appended, never edited. All pending ones run in one transaction, so
  gateways (or workers) starting together apply each exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.identity.crypto import MasterKeyError
from gateway.identity.db import Dialect, Tx
from gateway.identity.schema_v6 import POSTGRES_6, SQLITE_6

__all__ = [
    "FINGERPRINT",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Migration",
    "SchemaError",
    "migrate",
    "require_fingerprint",
]

FINGERPRINT = "master_key_fingerprint"
"""The ``meta`` row naming the master key the stored secrets are sealed under."""
# pg_advisory_xact_lock key serialising migrations of gateways starting together.
_MIGRATION_LOCK = 0x6E667969_6F000001


class SchemaError(RuntimeError):
    """The database cannot be used by this version of the gateway."""


@dataclass(frozen=True, slots=True)
class Migration:
    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]

    @classmethod
    def same(cls, *statements: str) -> Migration:
        """A migration whose statements both databases accept as written."""
        return cls(statements, statements)

    def statements(self, dialect: Dialect) -> tuple[str, ...]:
        return self.sqlite if dialect == "sqlite" else self.postgresql


_SQLITE_1 = (
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
)

_SQLITE_2 = (
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
)

_POSTGRES_1 = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """
    CREATE TABLE access_keys (
        id           TEXT COLLATE "C" PRIMARY KEY,
        name         TEXT NOT NULL,
        kind         TEXT NOT NULL DEFAULT 'standard' CHECK (kind IN ('standard', 'root')),
        scopes       TEXT NOT NULL,
        buckets      TEXT,
        owner        TEXT,
        created_at   BIGINT NOT NULL,
        expires_at   BIGINT,
        revoked_at   BIGINT,
        last_used_at BIGINT
    )
    """,
    "CREATE INDEX access_keys_by_owner ON access_keys (owner, id)",
    """
    CREATE TABLE access_key_secrets (
        lookup_hash BYTEA PRIMARY KEY,
        key_id      TEXT NOT NULL REFERENCES access_keys (id) ON DELETE CASCADE,
        secret_enc  BYTEA NOT NULL,
        created_at  BIGINT NOT NULL,
        valid_until BIGINT
    )
    """,
    "CREATE INDEX access_key_secrets_by_key ON access_key_secrets (key_id)",
    """
    CREATE UNIQUE INDEX access_key_secrets_one_current
        ON access_key_secrets (key_id) WHERE valid_until IS NULL
    """,
)

_POSTGRES_2 = (
    """
    CREATE TABLE users (
        id            TEXT COLLATE "C" PRIMARY KEY,
        username      TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        scopes        TEXT NOT NULL,
        created_at    BIGINT NOT NULL,
        updated_at    BIGINT NOT NULL,
        disabled_at   BIGINT
    )
    """,
    # SQLite's "UNIQUE COLLATE NOCASE": usernames are ASCII, so lower() is the same fold.
    "CREATE UNIQUE INDEX users_username_nocase ON users (lower(username))",
    """
    CREATE TABLE oauth_clients (
        id          TEXT COLLATE "C" PRIMARY KEY,
        name        TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        grant_types TEXT NOT NULL,
        scopes      TEXT NOT NULL,
        created_at  BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE oauth_sessions (
        id             TEXT PRIMARY KEY,
        user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        client_id      TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
        scopes         TEXT NOT NULL,
        created_at     BIGINT NOT NULL,
        expires_at     BIGINT NOT NULL,
        revoked_at     BIGINT,
        revoked_reason TEXT
    )
    """,
    "CREATE INDEX oauth_sessions_by_user ON oauth_sessions (user_id)",
    "CREATE INDEX oauth_sessions_by_client ON oauth_sessions (client_id)",
    "CREATE INDEX oauth_sessions_by_expiry ON oauth_sessions (expires_at)",
    """
    CREATE TABLE refresh_tokens (
        lookup_hash BYTEA PRIMARY KEY,
        session_id  TEXT NOT NULL REFERENCES oauth_sessions (id) ON DELETE CASCADE,
        created_at  BIGINT NOT NULL,
        used_at     BIGINT
    )
    """,
    "CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id)",
    """
    CREATE TABLE revoked_access_tokens (
        jti        TEXT PRIMARY KEY,
        expires_at BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE signing_keys (
        kid         TEXT PRIMARY KEY,
        algorithm   TEXT NOT NULL DEFAULT 'RS256',
        private_enc BYTEA NOT NULL,
        public_jwk  TEXT NOT NULL,
        created_at  BIGINT NOT NULL,
        retired_at  BIGINT,
        serve_until BIGINT
    )
    """,
    """
    CREATE UNIQUE INDEX signing_keys_one_active
        ON signing_keys (algorithm) WHERE retired_at IS NULL
    """,
    """
    CREATE TABLE auth_throttle (
        bucket          TEXT PRIMARY KEY,
        failures        BIGINT NOT NULL,
        last_failure_at BIGINT NOT NULL,
        blocked_until   BIGINT NOT NULL
    )
    """,
)

# Migration 4 - access_key_parents: one row per (parent credential, key it minted).
# Existing keys: ``owner`` names the key, user or client whose credential minted them
# (nothing else is known: no session or token). Then the rule is applied to existing
# rows: keys minted (transitively) by a revoked key, or by a credential that no longer
# exists (a deleted client; deleted users' keys were already revoked), are revoked now
# and lose their secrets; a key never expires later than the key that minted it.
_PARENTS_BACKFILL = tuple(
    "INSERT INTO access_key_parents (key_id, kind, parent_id)"
    f" SELECT id, '{kind}', owner FROM access_keys WHERE owner IN (SELECT id FROM {table})"
    for kind, table in (("key", "access_keys"), ("user", "users"), ("client", "oauth_clients"))
)
_ORPHANED_OR_REVOKED_PARENT = (
    "WITH RECURSIVE doomed(id) AS ("
    " SELECT p.key_id FROM access_key_parents AS p JOIN access_keys AS k ON k.id = p.parent_id"
    " WHERE p.kind = 'key' AND k.revoked_at IS NOT NULL"
    " UNION SELECT id FROM access_keys WHERE owner IS NOT NULL"
    " AND owner NOT IN (SELECT id FROM access_keys) AND owner NOT IN (SELECT id FROM users)"
    " AND owner NOT IN (SELECT id FROM oauth_clients)"
    " UNION SELECT p.key_id FROM access_key_parents AS p"
    " JOIN doomed AS d ON p.kind = 'key' AND p.parent_id = d.id)"
    " UPDATE access_keys SET revoked_at = {now} WHERE revoked_at IS NULL"
    " AND id IN (SELECT id FROM doomed)"
)
_CHILD_EXPIRY = (
    "WITH RECURSIVE bound(id, until) AS ("
    " SELECT p.key_id, k.expires_at FROM access_key_parents AS p"
    " JOIN access_keys AS k ON k.id = p.parent_id"
    " WHERE p.kind = 'key' AND k.expires_at IS NOT NULL"
    " UNION SELECT p.key_id, b.until FROM access_key_parents AS p"
    " JOIN bound AS b ON p.kind = 'key' AND p.parent_id = b.id)"
    " UPDATE access_keys"
    " SET expires_at = (SELECT MIN(until) FROM bound WHERE bound.id = access_keys.id)"
    " WHERE id IN (SELECT id FROM bound) AND (expires_at IS NULL"
    " OR expires_at > (SELECT MIN(until) FROM bound WHERE bound.id = access_keys.id))"
)
_REVOKED_SECRETS = (
    "DELETE FROM access_key_secrets"
    " WHERE key_id IN (SELECT id FROM access_keys WHERE revoked_at IS NOT NULL)"
)
_SQLITE_4 = (
    """
    CREATE TABLE access_key_parents (
        key_id    TEXT NOT NULL REFERENCES access_keys (id) ON DELETE CASCADE,
        kind      TEXT NOT NULL
                  CHECK (kind IN ('key', 'user', 'client', 'session', 'token')),
        parent_id TEXT NOT NULL,  -- key id, user id, client id, session id (sid), jti
        PRIMARY KEY (kind, parent_id, key_id)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX access_key_parents_by_key ON access_key_parents (key_id)",
    *_PARENTS_BACKFILL,
    _ORPHANED_OR_REVOKED_PARENT.format(now="CAST(strftime('%s', 'now') AS INTEGER) * 1000000"),
    _CHILD_EXPIRY,
    _REVOKED_SECRETS,
)
_POSTGRES_4 = (
    """
    CREATE TABLE access_key_parents (
        key_id    TEXT COLLATE "C" NOT NULL REFERENCES access_keys (id) ON DELETE CASCADE,
        kind      TEXT NOT NULL
                  CHECK (kind IN ('key', 'user', 'client', 'session', 'token')),
        parent_id TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (kind, parent_id, key_id)
    )
    """,
    "CREATE INDEX access_key_parents_by_key ON access_key_parents (key_id)",
    *_PARENTS_BACKFILL,
    _ORPHANED_OR_REVOKED_PARENT.format(
        now="CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)"
    ),
    _CHILD_EXPIRY,
    _REVOKED_SECRETS,
)

_SYSTEM_CANONICAL_ID = "6b365e525c44137fa5194f44914ed5a64a2a8d4069cdb0c1d5de052b98f9e90f"
"""sha256("nfyio-gateway owner"): the owner id every bucket reported before accounts."""
_ACCOUNT_COLUMNS = tuple(
    f"ALTER TABLE {table} ADD COLUMN account_id TEXT NOT NULL DEFAULT 'acct_system'"
    for table in ("access_keys", "users", "oauth_clients")
) + tuple(
    f"CREATE INDEX {table}_by_account ON {table} (account_id, id)"
    for table in ("access_keys", "users", "oauth_clients")
)
_SYSTEM_ACCOUNT = (
    "INSERT INTO accounts (id, name, email, canonical_id, display_name, created_at)"
    f" VALUES ('acct_system', 'system', NULL, '{_SYSTEM_CANONICAL_ID}', 'nfyio', {{now}})"
)

_SQLITE_5 = (
    """
    CREATE TABLE accounts (
        id           TEXT PRIMARY KEY,                -- acct_... ; acct_system
        name         TEXT NOT NULL,
        email        TEXT UNIQUE COLLATE NOCASE,      -- optional, ACL grants by e-mail
        canonical_id TEXT NOT NULL UNIQUE,            -- 64 hex (accounts.canonical_id_for)
        display_name TEXT NOT NULL,
        created_at   INTEGER NOT NULL
    ) WITHOUT ROWID
    """,
    _SYSTEM_ACCOUNT.format(now="CAST(strftime('%s', 'now') AS INTEGER) * 1000000"),
    *_ACCOUNT_COLUMNS,
    # One row per object version whose owner or ACL differs from the default (the bucket
    # owner, private), and per version written into a bucket that has such rows.
    """
    CREATE TABLE object_acls (
        bucket     TEXT NOT NULL,
        object_key TEXT NOT NULL,
        version_id TEXT NOT NULL,                     -- the backend's id; 'null' unversioned
        owner      TEXT NOT NULL,                     -- account id
        acl        TEXT NOT NULL,                     -- JSON (object_acls.py)
        written_at INTEGER NOT NULL,
        PRIMARY KEY (bucket, object_key, version_id)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX object_acls_latest ON object_acls (bucket, object_key, written_at)",
    """
    CREATE TABLE upload_acls (
        bucket     TEXT NOT NULL,
        upload_id  TEXT NOT NULL,
        object_key TEXT NOT NULL,
        initiator  TEXT NOT NULL,                     -- account id, or 'anonymous'
        owner      TEXT NOT NULL,                     -- who will own the object
        acl        TEXT NOT NULL,                     -- JSON
        created_at INTEGER NOT NULL,
        PRIMARY KEY (bucket, upload_id)
    ) WITHOUT ROWID
    """,
)

_POSTGRES_5 = (
    """
    CREATE TABLE accounts (
        id           TEXT COLLATE "C" PRIMARY KEY,
        name         TEXT NOT NULL,
        email        TEXT,
        canonical_id TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        created_at   BIGINT NOT NULL
    )
    """,
    "CREATE UNIQUE INDEX accounts_email_nocase ON accounts (lower(email))",
    _SYSTEM_ACCOUNT.format(now="(extract(epoch FROM now()) * 1000000)::bigint"),
    *_ACCOUNT_COLUMNS,
    """
    CREATE TABLE object_acls (
        bucket     TEXT COLLATE "C" NOT NULL,
        object_key TEXT COLLATE "C" NOT NULL,
        version_id TEXT COLLATE "C" NOT NULL,
        owner      TEXT NOT NULL,
        acl        TEXT NOT NULL,
        written_at BIGINT NOT NULL,
        PRIMARY KEY (bucket, object_key, version_id)
    )
    """,
    "CREATE INDEX object_acls_latest ON object_acls (bucket, object_key, written_at)",
    """
    CREATE TABLE upload_acls (
        bucket     TEXT COLLATE "C" NOT NULL,
        upload_id  TEXT COLLATE "C" NOT NULL,
        object_key TEXT NOT NULL,
        initiator  TEXT NOT NULL,
        owner      TEXT NOT NULL,
        acl        TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (bucket, upload_id)
    )
    """,
)

MIGRATIONS: tuple[Migration, ...] = (
    # 1: access keys and their secrets.
    Migration(_SQLITE_1, _POSTGRES_1),
    # 2: OAuth 2.0 - users, clients, sessions (refresh-token families), refresh tokens,
    # revoked access tokens, JWT signing keys, password-grant throttle.
    Migration(_SQLITE_2, _POSTGRES_2),
    # 3: bucket settings the gateway enforces (ACL, policy, CORS, ...), one document each.
    Migration(
        (
            """
            CREATE TABLE bucket_settings (
                bucket     TEXT NOT NULL,
                kind       TEXT NOT NULL,
                document   TEXT NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (bucket, kind)
            ) WITHOUT ROWID
            """,
        ),
        (
            """
            CREATE TABLE bucket_settings (
                bucket     TEXT COLLATE "C" NOT NULL,
                kind       TEXT NOT NULL,
                document   TEXT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (bucket, kind)
            )
            """,
        ),
    ),
    # 4: the credential each access key was minted with (issue 10 item 10), so revoking
    # it revokes what it minted; existing keys get what their owner column tells.
    Migration(_SQLITE_4, _POSTGRES_4),
    # 5: accounts (tenants). Keys, users and clients made before join the system account
    # (the column default), which this migration creates; the object ACL / ownership rows
    # and the multipart-upload rows the gateway keeps itself, whatever the backend.
    Migration(_SQLITE_5, _POSTGRES_5),
    # 6: the audit log, rate-limit buckets and overrides, users' roles (issue 15;
    # gateway/identity/schema_v6.py).
    Migration(SQLITE_6, POSTGRES_6),
    # 7: the owner of each bucket by account, for the per-account bucket limit
    # (s3.max_buckets_per_account): a CreateBucket counts the account's buckets.
    Migration.same(
        "CREATE INDEX bucket_settings_owner ON bucket_settings (document) WHERE kind = 'owner'"
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

_BOOKKEEPING = {
    "sqlite": "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    "postgresql": "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
}


async def migrate(tx: Tx, *, fingerprint: str, now_us: int) -> int:
    """Bring the schema up to :data:`SCHEMA_VERSION` and check the master key, inside the
    caller's transaction (``read_committed`` on PostgreSQL: the advisory lock taken first
    makes concurrent starts wait, and each statement after it sees what they committed).

    Returns the version found before. Raises :class:`SchemaError` for a database newer
    than this code and :class:`MasterKeyError` when the data was written under another
    master key (no stored secret would decrypt).
    """
    if tx.dialect == "postgresql":
        await tx.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
    await tx.execute(_BOOKKEEPING[tx.dialect])
    row = await tx.fetch_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
    found = int(row[0]) if row is not None else 0
    if found > SCHEMA_VERSION:
        raise SchemaError(
            f"the state database is at schema version {found}, newer than this gateway "
            f"understands ({SCHEMA_VERSION}); upgrade the gateway"
        )
    for version in range(found + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[version - 1].statements(tx.dialect):
            await tx.execute(statement)
        await tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", (version, now_us)
        )
    stored = await tx.fetch_one("SELECT value FROM meta WHERE name = ?", (FINGERPRINT,))
    if stored is None:
        await tx.execute("INSERT INTO meta (name, value) VALUES (?, ?)", (FINGERPRINT, fingerprint))
    elif stored[0] != fingerprint:
        raise MasterKeyError(
            "the state database was written under a different master key; set the original "
            "NFYIO_MASTER_KEY (or restore the master key file) to read it"
        )
    return found


async def require_fingerprint(tx: Tx, fingerprint: str) -> None:
    """Inside a transaction that seals or hashes something under the master key: refuse
    when the store is no longer under the key this process holds (``rotate-master-key``
    ran while this gateway, on another host, kept serving). A row written under the old
    key would be unreadable by every gateway started since. One primary-key read; on
    PostgreSQL it also makes the write conflict with a concurrent rotation."""
    row = await tx.fetch_one("SELECT value FROM meta WHERE name = ?", (FINGERPRINT,))
    if row is None or row[0] != fingerprint:
        raise MasterKeyError(
            "the state store was re-sealed under another master key since this gateway "
            "started (rotate-master-key): restart it with the new key"
        )
