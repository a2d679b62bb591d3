"""The gateway's state store: access keys, users, OAuth clients, sessions (refresh-token
families), signing keys and the password throttle, on SQLite or PostgreSQL.

Where it lives is one setting (``identity.url`` / ``NFYIO_IDENTITY_URL``):

- absent or ``sqlite:`` -- ``<data_dir>/identity.db``, shared by the workers of one host
  (``sqlite:PATH`` names another file);
- ``postgresql://user:pass@host:port/db`` -- one database shared by several hosts.

Every method that reads is ``async``: on SQLite it never suspends (one indexed SELECT on
the event loop, no thread hop), on PostgreSQL it is one round trip. Writes are ``async``
transactions (see :mod:`gateway.identity.db`). Nothing is cached between requests unless
``cache_seconds`` says so (:mod:`gateway.identity.cache`), so a revocation, rotation or
expiry committed by any process applies to the next request everywhere.

``record_use`` only touches memory; the batch reaches the database on ``flush()``, which
:meth:`IdentityStore.run_flusher` calls every ``flush_interval`` seconds; run it from the
server's ``cleanup_ctx``::

    async def identity_ctx(app):
        store = await IdentityStore.open(data_dir, master_key, url=config.identity.url)
        flusher = asyncio.create_task(store.run_flusher())
        app[IDENTITY] = store
        yield
        flusher.cancel()
        await store.close()  # flushes what is still pending

Every clock is a parameter (``now``) defaulting to the current UTC time.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from backends.outage import OutageLog
from gateway.config import Config
from gateway.identity.access_keys import AccessKeyStore
from gateway.identity.accounts import AccountStore
from gateway.identity.audit import AuditStore
from gateway.identity.bucket_settings import BucketSettingsStore
from gateway.identity.clients import ClientStore
from gateway.identity.crypto import (
    ROTATION_MARKER,
    Keyring,
    MasterKeyError,
    load_or_create_master_key,
)
from gateway.identity.db import Database, PoolOptions, StoreUnavailable
from gateway.identity.db_sqlite import DB_FILE, SqliteDatabase
from gateway.identity.models import to_micros, utcnow
from gateway.identity.object_acls import ObjectAclStore
from gateway.identity.rate_limits import RateLimitStore
from gateway.identity.root import DuplicateKeyError
from gateway.identity.settings_cache import GENERATION_FILE, SettingsCache, SharedGeneration
from gateway.identity.signing_keys import SigningKeyStore
from gateway.identity.throttle import ThrottleStore
from gateway.identity.tokens import SessionStore
from gateway.identity.users import UserStore
from gateway.storage_full import no_room

__all__ = ["DuplicateKeyError", "IdentityStore", "is_postgres_url", "sqlite_path"]

logger = logging.getLogger(__name__)
outage_log = OutageLog(logger, "last_used_at: the state store")
"""Its outages as three kinds of line: start, at most one per 10 s, end (``backends.outage``)."""

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(url: str | None) -> bool:
    return url is not None and url.startswith(_POSTGRES_SCHEMES)


def sqlite_path(url: str | None, data_dir: Path) -> Path:
    """The SQLite file a ``sqlite:`` URL (or none) names: ``<data_dir>/identity.db`` by
    default, ``sqlite:PATH`` / ``sqlite:///abs/path`` otherwise."""
    if url is None or url in {"sqlite:", "sqlite://"}:
        return data_dir / DB_FILE
    if not url.startswith("sqlite:"):
        raise ValueError("the state store URL must start with sqlite: or postgresql://")
    rest = url[len("sqlite:") :]
    if rest.startswith("//"):
        rest = rest[2:]
    return Path(rest)


class IdentityStore:
    """The state store. Create with :meth:`open`; see the module docstring.

    Sub-stores, one module each: ``accounts``, ``users``, ``clients``, ``sessions``,
    ``signing_keys``, ``throttle``, ``bucket_settings``, ``object_acls``, ``audit``,
    ``rate_limits``; access keys are
    ``keys``, and their methods are also the store's own
    (``store.get_key(...)``) as callers have always used them.
    """

    def __init__(
        self,
        db: Database,
        keyring: Keyring,
        *,
        flush_interval: float,
        cache_seconds: float,
        settings_cache: SettingsCache | None = None,
    ) -> None:
        self.db = db
        self._keyring = keyring
        self.flush_interval = flush_interval
        self._closed = False
        self.keys = AccessKeyStore(db, keyring, cache_seconds=cache_seconds)
        self.users = UserStore(db, keyring)
        self.clients = ClientStore(db, keyring)
        self.sessions = SessionStore(db, keyring)
        self.signing_keys = SigningKeyStore(db, keyring)
        self.throttle = ThrottleStore(db, keyring)
        self.settings_cache = settings_cache or SettingsCache(0.0)
        self.bucket_settings = BucketSettingsStore(db, keyring, cache=self.settings_cache)
        self.accounts = AccountStore(db, keyring)
        self.object_acls = ObjectAclStore(db, keyring, cache=self.settings_cache)
        self.audit = AuditStore(db)
        self.rate_limits = RateLimitStore(db)
        # The access-key methods, bound once (no extra call per request).
        self.get_key = self.keys.get_key
        self.sigv4_secrets = self.keys.sigv4_secrets
        self.find_by_secret = self.keys.find_by_secret
        self.list_keys = self.keys.list_keys
        self.has_active_admin_key = self.keys.has_active_admin_key
        self.create_key = self.keys.create_key
        self.revoke_key = self.keys.revoke_key
        self.rotate_key = self.keys.rotate_key
        self.ensure_root_key = self.keys.ensure_root_key
        self.record_use = self.keys.record_use

    def __repr__(self) -> str:
        return f"IdentityStore({self.db.description!r})"

    @property
    def keyring(self) -> Keyring:
        return self._keyring

    @property
    def description(self) -> str:
        """Where the state lives, safe to log (never a password)."""
        return self.db.description

    async def delete_account(self, account_id: str) -> bool:
        """Delete an account (:meth:`AccountStore.delete`); no cached key lookup of this
        process outlives it."""
        try:
            return await self.accounts.delete(account_id)
        finally:
            self.keys.forget_cached()

    # --- lifecycle ------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        data_dir: Path,
        master_key: bytes,
        *,
        url: str | None = None,
        pool: PoolOptions | None = None,
        flush_interval: float = 5.0,
        cache_seconds: float = 0.0,
        bucket_cache_seconds: float = 0.0,
    ) -> IdentityStore:
        """Open (creating if needed) the state database that ``url`` names and migrate
        its schema. ``data_dir`` is where a ``sqlite:`` database lives by default, and
        where the processes of one host share the bucket-settings generation
        (:mod:`gateway.identity.settings_cache`; its writes tell the others even when
        ``bucket_cache_seconds`` is 0 here).

        Raises :class:`MasterKeyError` when the database was written under another
        master key: every stored secret would fail to decrypt.
        """
        keyring = Keyring(master_key)
        now_us = to_micros(utcnow())
        db: Database
        if is_postgres_url(url):
            assert url is not None
            from gateway.identity.db_postgres import PostgresDatabase

            db = await PostgresDatabase.open(
                url, options=pool or PoolOptions(), fingerprint=keyring.fingerprint, now_us=now_us
            )
        else:
            db = await SqliteDatabase.open(
                sqlite_path(url, data_dir), fingerprint=keyring.fingerprint, now_us=now_us
            )
        generation = SharedGeneration(data_dir / GENERATION_FILE)
        return cls(
            db,
            keyring,
            flush_interval=flush_interval,
            cache_seconds=cache_seconds,
            settings_cache=SettingsCache(bucket_cache_seconds, generation),
        )

    @classmethod
    async def from_config(cls, config: Config, *, master_key: bytes | None = None) -> IdentityStore:
        """Open the store the configuration names (``identity.*``), with the master key it
        names (``auth.master_key`` / ``auth.master_key_file`` / ``<data_dir>/master.key``)
        or ``master_key`` when given (a rotation opening the store under its new key).
        A PostgreSQL store refuses to start without a configured master key: a key
        generated on one host would leave every other host unable to read the secrets."""
        data_dir = config.data_dir
        auth, identity = config.auth, config.identity
        if identity.is_postgres and not (auth.master_key or auth.master_key_file):
            raise MasterKeyError(
                "a PostgreSQL state store needs NFYIO_MASTER_KEY or NFYIO_MASTER_KEY_FILE"
            )
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # private (docs/security.md)
        if master_key is None and (data_dir / ROTATION_MARKER).exists():
            raise MasterKeyError(
                f"a master-key rotation did not finish ({data_dir / ROTATION_MARKER} is "
                "there): run `nfyio-gateway rotate-master-key` again to finish it"
            )
        key_file = Path(auth.master_key_file) if auth.master_key_file else None
        master = master_key or load_or_create_master_key(
            data_dir, auth.master_key, key_file=key_file
        )
        pool = PoolOptions(
            min_size=identity.pool_min_size,
            max_size=identity.pool_max_size,
            acquire_timeout=identity.pool_acquire_timeout,
            connect_timeout=identity.connect_timeout,
            statement_timeout=identity.statement_timeout,
            max_idle=identity.pool_max_idle,
            prepared_statements=identity.prepared_statements,
        )
        return await cls.open(
            data_dir,
            master,
            url=identity.url,
            pool=pool,
            flush_interval=auth.usage_flush_interval,
            cache_seconds=identity.cache_seconds,
            bucket_cache_seconds=identity.bucket_cache_seconds,
        )

    async def close(self) -> None:
        """Flush pending ``last_used_at`` updates and close. Safe to call twice."""
        if self._closed:
            return
        try:
            await self.flush()
        finally:
            self._closed = True
            self.settings_cache.close()
            await self.db.close()

    async def flush(self) -> None:
        """Write the pending ``last_used_at`` values in one transaction."""
        await self.keys.flush()

    async def run_flusher(self) -> None:
        """Flush every ``flush_interval`` seconds until cancelled. A failed flush (the
        database stayed locked or unreachable) is logged and retried next time."""
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                await self.flush()
                outage_log.available()
            except StoreUnavailable as exc:  # an outage: a line as it starts and ends
                outage_log.failed(f"writing last_used_at failed ({exc}); kept, retried")
            except Exception as exc:
                if no_room(exc) is None:  # a full disk: one line per interval, not a traceback
                    logger.exception("identity store: writing last_used_at failed; will retry")
