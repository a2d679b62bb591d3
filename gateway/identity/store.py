"""The identity store: access keys here; OAuth users, clients, sessions, signing keys and
the password-grant throttle in their own modules, reached as ``store.users``,
``store.clients``, ``store.sessions``, ``store.signing_keys`` and ``store.throttle``.

One SQLite file, ``<data_dir>/identity.db`` in WAL mode, shared by every worker process.

Threading and ``async`` rule (the sub-stores follow it too, through :meth:`read_one`,
:meth:`read_all` and :meth:`write`):

- **Reads are synchronous** (``get_key``, ``sigv4_secrets``, ``find_by_secret``,
  ``list_keys``, ``has_active_admin_key``): one indexed SELECT on a reader connection in
  autocommit mode. In WAL mode readers never wait for writers, so these take
  microseconds and are called straight from the event loop. Nothing is cached between
  calls: a revocation or expiry committed by any process is seen by the next request.
- **Writes are ``async``** (``open``, ``create_key``, ``revoke_key``, ``rotate_key``,
  ``ensure_root_key``, ``flush``, ``close``): they run on one dedicated writer thread with
  its own connection, inside ``BEGIN IMMEDIATE``, so waiting for another worker's write
  lock (``busy_timeout``) never blocks the event loop.
- ``record_use`` only touches memory. The batch reaches the database on ``flush()``,
  which :meth:`IdentityStore.run_flusher` calls every ``flush_interval`` seconds, and on
  ``close()``. In the server, ``gateway.app.Shared`` opens one store per process for both
  listeners, starts ``run_flusher`` beside it and closes the store (flushing what is still
  pending) when the last listener stops.

Every clock is a parameter (``now``) defaulting to the current UTC time.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from gateway.identity import keys, root
from gateway.identity.clients import ClientStore
from gateway.identity.crypto import Keyring
from gateway.identity.models import AccessKey, require_aware, to_micros, utcnow
from gateway.identity.root import DuplicateKeyError
from gateway.identity.rows import (
    KEY_COLUMNS,
    access_key_aad,
    access_key_from_row,
    as_bytes,
    decode_cursor,
    encode_cursor,
    insert_secret,
    json_list,
)
from gateway.identity.schema import DB_FILE, Transaction, open_database
from gateway.identity.signing_keys import SigningKeyStore
from gateway.identity.throttle import ThrottleStore
from gateway.identity.tokens import SessionStore
from gateway.identity.usage import UsageBatch, write_usage
from gateway.identity.users import UserStore
from gateway.scopes import ADMIN

__all__ = ["DuplicateKeyError", "IdentityStore"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_MAX_PAGE = 1000
_K_COLUMNS = ", ".join(f"k.{c.strip()}" for c in KEY_COLUMNS.split(","))


class IdentityStore:
    """The identity store on SQLite. Create with :meth:`open`; see the module docstring."""

    def __init__(
        self,
        *,
        path: Path,
        keyring: Keyring,
        reader: sqlite3.Connection,
        writer: sqlite3.Connection,
        executor: ThreadPoolExecutor,
        flush_interval: float,
    ) -> None:
        self.path = path
        self._keyring = keyring
        self._reader = reader
        self._read_lock = threading.Lock()
        self._writer = writer
        self._executor = executor
        self.flush_interval = flush_interval
        self._usage = UsageBatch()
        self._closed = False
        # OAuth 2.0 records, each in its own module, sharing these connections.
        self.users = UserStore(self)
        self.clients = ClientStore(self)
        self.sessions = SessionStore(self)
        self.signing_keys = SigningKeyStore(self)
        self.throttle = ThrottleStore(self)

    def __repr__(self) -> str:
        return f"IdentityStore(path={str(self.path)!r})"

    # --- lifecycle ----------------------------------------------------------------------

    @classmethod
    async def open(
        cls, data_dir: Path, master_key: bytes, *, flush_interval: float = 5.0
    ) -> IdentityStore:
        """Open (creating if needed) ``<data_dir>/identity.db`` and migrate its schema.

        Raises :class:`MasterKeyError` when the database was written under another
        master key: every stored secret would fail to decrypt.
        """
        keyring = Keyring(master_key)
        path = data_dir / DB_FILE
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="identity-writer")
        try:
            loop = asyncio.get_running_loop()
            reader, writer = await loop.run_in_executor(
                executor, functools.partial(open_database, path, keyring.fingerprint)
            )
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(
            path=path,
            keyring=keyring,
            reader=reader,
            writer=writer,
            executor=executor,
            flush_interval=flush_interval,
        )

    async def close(self) -> None:
        """Flush pending ``last_used_at`` updates and close. Safe to call twice."""
        if self._closed:
            return
        try:
            await self.flush()
        finally:
            self._closed = True
            await self._in_writer(self._writer.close, closing=True)
            self._executor.shutdown(wait=True)
            with self._read_lock:
                self._reader.close()

    # --- reads (synchronous) ------------------------------------------------------------

    def get_key(self, key_id: str) -> AccessKey | None:
        row = self._read_one(f"SELECT {KEY_COLUMNS} FROM access_keys WHERE id = ?", (key_id,))
        return None if row is None else access_key_from_row(row)

    def sigv4_secrets(self, key_id: str, now: datetime) -> tuple[AccessKey, tuple[str, ...]] | None:
        """For an active key: its current secret, then the previous one while a rotation
        grace period runs. ``None`` for an unknown, revoked or expired key."""
        now_us = to_micros(now)
        rows = self._read_all(
            f"SELECT {_K_COLUMNS}, s.secret_enc FROM access_keys AS k"
            " JOIN access_key_secrets AS s ON s.key_id = k.id"
            " WHERE k.id = ? AND (s.valid_until IS NULL OR s.valid_until > ?)"
            " ORDER BY s.valid_until IS NOT NULL",
            (key_id, now_us),
        )
        if not rows:
            return None
        key = access_key_from_row(rows[0])
        if not key.is_active(now):
            return None
        aad = access_key_aad(key.id)
        secrets = tuple(self._keyring.box.open(as_bytes(row[-1]), aad=aad) for row in rows)
        return key, secrets

    def find_by_secret(self, secret: str, now: datetime) -> AccessKey | None:
        """The active key whose current secret (or previous one, within its grace
        period) is ``secret``: the ``Bearer`` / ``X-API-Key`` credential."""
        now_us = to_micros(now)
        row = self._read_one(
            f"SELECT {_K_COLUMNS}, s.valid_until FROM access_key_secrets AS s"
            " JOIN access_keys AS k ON k.id = s.key_id WHERE s.lookup_hash = ?",
            (self._keyring.lookup_hash(secret),),
        )
        if row is None:
            return None
        valid_until = row[-1]
        if isinstance(valid_until, int) and valid_until <= now_us:
            return None
        key = access_key_from_row(row)
        return key if key.is_active(now) else None

    def list_keys(
        self, *, owner: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[AccessKey], str | None]:
        """One page of keys in id order, revoked and expired ones included.

        ``owner`` restricts to keys created by that key or user. Returns the page and the
        cursor of the next page (``None`` on the last page). A cursor is opaque; a
        malformed one raises ``ValueError``.
        """
        if not 1 <= limit <= _MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {_MAX_PAGE}")
        after = "" if cursor is None else decode_cursor(cursor)
        if owner is None:
            sql = f"SELECT {KEY_COLUMNS} FROM access_keys WHERE id > ? ORDER BY id LIMIT ?"
            params: tuple[object, ...] = (after, limit + 1)
        else:
            sql = (
                f"SELECT {KEY_COLUMNS} FROM access_keys WHERE owner = ? AND id > ?"
                " ORDER BY id LIMIT ?"
            )
            params = (owner, after, limit + 1)
        page = [access_key_from_row(row) for row in self._read_all(sql, params)]
        if len(page) <= limit:
            return page, None
        page = page[:limit]
        return page, encode_cursor(page[-1].id)

    def has_active_admin_key(self, now: datetime) -> bool:
        row = self._read_one(
            "SELECT 1 FROM access_keys WHERE revoked_at IS NULL"
            " AND (expires_at IS NULL OR expires_at > ?)"
            " AND EXISTS (SELECT 1 FROM json_each(access_keys.scopes) WHERE value = ?)"
            " LIMIT 1",
            (to_micros(now), ADMIN),
        )
        return row is not None

    # --- writes (async, on the writer thread) -------------------------------------------

    async def create_key(
        self,
        name: str,
        scopes: Iterable[str],
        *,
        expires_at: datetime | None = None,
        buckets: Iterable[str] | None = None,
        owner: str | None = None,
        key_id: str | None = None,
        secret: str | None = None,
        now: datetime | None = None,
    ) -> tuple[AccessKey, str]:
        """Create a key; return it with its plaintext secret, which is never shown again.

        ``key_id`` / ``secret`` are for imported credentials (the bootstrap root key); by
        default both are generated (``ak_...`` / ``sk_...``).
        """
        created = now or utcnow()
        clean_name = keys.validate_name(name)
        clean_scopes = keys.validate_scopes(scopes)
        clean_buckets = keys.validate_buckets(buckets)
        if expires_at is not None and require_aware(expires_at, "expires_at") <= created:
            raise ValueError("expires_at must be in the future")
        explicit_id = key_id is not None
        the_id = keys.validate_explicit_key_id(key_id) if key_id is not None else None
        the_secret = keys.validate_explicit_secret(secret) if secret is not None else None
        the_secret = the_secret or keys.new_secret()

        def insert() -> str:
            for _attempt in range(3):
                candidate = the_id or keys.new_key_id()
                try:
                    with self._write_transaction() as conn:
                        conn.execute(
                            f"INSERT INTO access_keys ({KEY_COLUMNS})"
                            " VALUES (?, ?, 'standard', ?, ?, ?, ?, ?, NULL, NULL)",
                            (
                                candidate,
                                clean_name,
                                json_list(sorted(clean_scopes)),
                                None if clean_buckets is None else json_list(clean_buckets),
                                owner,
                                to_micros(created),
                                None if expires_at is None else to_micros(expires_at),
                            ),
                        )
                        insert_secret(conn, self._keyring, candidate, the_secret, created)
                    return candidate
                except sqlite3.IntegrityError as exc:
                    if explicit_id or "access_key_secrets" in str(exc):
                        raise DuplicateKeyError(
                            "the access key id or secret is already in use"
                        ) from None
            raise RuntimeError("could not allocate a unique access key id")

        created_id = await self._in_writer(insert)
        key = self.get_key(created_id)
        assert key is not None
        return key, the_secret

    async def revoke_key(self, key_id: str, *, now: datetime | None = None) -> bool:
        """Revoke at once, for every process. Its secrets are deleted. Returns ``False``
        if the key is unknown or already revoked."""
        when = to_micros(now or utcnow())

        def revoke() -> bool:
            with self._write_transaction() as conn:
                cur = conn.execute(
                    "UPDATE access_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                    (when, key_id),
                )
                conn.execute("DELETE FROM access_key_secrets WHERE key_id = ?", (key_id,))
                return cur.rowcount == 1

        return await self._in_writer(revoke)

    async def rotate_key(
        self, key_id: str, *, grace: timedelta = timedelta(0), now: datetime | None = None
    ) -> tuple[AccessKey, str] | None:
        """Give an active key a new secret (same key id). The old secret keeps working
        until ``now + grace``; a secret from an earlier rotation is dropped at once.
        ``None`` if the key is unknown, revoked or expired."""
        if grace < timedelta(0):
            raise ValueError("grace must not be negative")
        when = now or utcnow()
        new_secret = keys.new_secret()

        def rotate() -> bool:
            with self._write_transaction() as conn:
                row = conn.execute(
                    f"SELECT {KEY_COLUMNS} FROM access_keys WHERE id = ?", (key_id,)
                ).fetchone()
                if row is None or not access_key_from_row(row).is_active(when):
                    return False
                conn.execute(
                    "DELETE FROM access_key_secrets WHERE key_id = ?"
                    " AND (valid_until IS NOT NULL OR ? = 0)",
                    (key_id, int(grace > timedelta(0))),
                )
                conn.execute(
                    "UPDATE access_key_secrets SET valid_until = ?"
                    " WHERE key_id = ? AND valid_until IS NULL",
                    (to_micros(when + grace), key_id),
                )
                insert_secret(conn, self._keyring, key_id, new_secret, when)
                return True

        if not await self._in_writer(rotate):
            return None
        key = self.get_key(key_id)
        assert key is not None
        return key, new_secret

    async def ensure_root_key(
        self, key_id: str, secret: str, *, now: datetime | None = None
    ) -> AccessKey:
        """Make the bootstrap key match the environment: id ``key_id``, secret ``secret``,
        scope ``admin``, no bucket limit, no expiry, not revoked. Idempotent; a changed
        secret replaces the stored one at once, and a root key with another id (the
        environment changed) is revoked. Writes nothing when all is already in sync."""
        keys.validate_explicit_key_id(key_id)
        keys.validate_explicit_secret(secret)
        when = now or utcnow()
        self._check_open()
        with self._read_lock:
            already = root.in_sync(self._reader, self._keyring, key_id, secret)
        if not already:

            def sync() -> list[str]:
                with self._write_transaction() as conn:
                    return root.sync(conn, self._keyring, key_id, secret, when)

            revoked = await self._in_writer(sync)
            if revoked:
                logger.warning("root access key changed; revoked old root keys %s", revoked)
        key = self.get_key(key_id)
        assert key is not None
        return key

    # --- last_used_at batching ------------------------------------------------------------

    def record_use(self, key_id: str, when: datetime) -> None:
        """Note that ``key_id`` authenticated a request. Memory only; see :meth:`flush`."""
        self._usage.add(key_id, to_micros(when))

    async def flush(self) -> None:
        """Write the pending ``last_used_at`` values in one transaction. On failure they
        stay pending for the next flush."""
        batch = self._usage.take()
        if not batch:
            return

        def write() -> None:
            with self._write_transaction() as conn:
                write_usage(conn, batch)

        try:
            await self._in_writer(write)
        except BaseException:
            self._usage.restore(batch)
            raise

    async def run_flusher(self) -> None:
        """Flush every ``flush_interval`` seconds until cancelled. A failed flush (e.g. the
        database stayed locked past ``busy_timeout``) is logged and retried next time."""
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                await self.flush()
            except sqlite3.Error:
                logger.exception("identity store: writing last_used_at failed; will retry")

    # --- for the sub-stores (users, clients, sessions, signing_keys, throttle) ------------

    @property
    def keyring(self) -> Keyring:
        return self._keyring

    def read_one(self, sql: str, params: tuple[object, ...]) -> tuple[object, ...] | None:
        """One row from the reader connection (sync; one indexed SELECT)."""
        return self._read_one(sql, params)

    def read_all(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        return self._read_all(sql, params)

    async def write(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``fn(conn)`` inside one ``BEGIN IMMEDIATE`` transaction on the writer thread."""

        def run() -> _T:
            with self._write_transaction() as conn:
                return fn(conn)

        return await self._in_writer(run)

    # --- internals --------------------------------------------------------------------------

    def _read_one(self, sql: str, params: tuple[object, ...]) -> tuple[object, ...] | None:
        self._check_open()
        with self._read_lock:
            row: tuple[object, ...] | None = self._reader.execute(sql, params).fetchone()
        return row

    def _read_all(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        self._check_open()
        with self._read_lock:
            rows: list[tuple[object, ...]] = self._reader.execute(sql, params).fetchall()
        return rows

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("IdentityStore is closed")

    async def _in_writer(self, fn: Callable[[], _T], *, closing: bool = False) -> _T:
        if self._closed and not closing:
            raise RuntimeError("IdentityStore is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def _write_transaction(self) -> Transaction:
        return Transaction(self._writer)
