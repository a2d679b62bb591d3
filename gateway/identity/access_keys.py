"""Access keys and their secrets: the SigV4 / Bearer / X-API-Key credentials.

Reached through :class:`~gateway.identity.store.IdentityStore` (``store.get_key(...)``,
``store.sigv4_secrets(...)``, ...). Lookups are one indexed SELECT. On SQLite their
answers are reused while the database's change marker stays the same (nothing committed
by anyone since: exact, a revocation applies to the next request); on PostgreSQL see
:mod:`gateway.identity.cache` for the optional (off by default) time-bounded cache.
``last_used_at`` is noted in memory (:meth:`AccessKeyStore.record_use`) and written in
batches (:meth:`AccessKeyStore.flush`), never one write per request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from gateway.identity import key_rules, root
from gateway.identity.cache import LookupCache
from gateway.identity.crypto import Keyring
from gateway.identity.db import Database, Dialect, IntegrityError, Row, Tx
from gateway.identity.lineage import (
    Lineage,
    ParentBoundError,
    check_parent,
    record_parent,
    revoke_minted,
)
from gateway.identity.models import AccessKey, from_micros, to_micros, utc_instant, utcnow
from gateway.identity.quota import check_room
from gateway.identity.rate_limits import RateLimit, write_override
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
from gateway.identity.usage import UsageBatch, write_usage
from gateway.principal import SYSTEM_ACCOUNT_ID
from gateway.scopes import ADMIN

__all__ = ["AccessKeyStore"]

logger = logging.getLogger("gateway.identity.store")

_MAX_PAGE = 1000
_K_COLUMNS = ", ".join(f"k.{c.strip()}" for c in KEY_COLUMNS.split(","))
_SIGV4 = (
    f"SELECT {_K_COLUMNS}, s.secret_enc, s.valid_until FROM access_keys AS k"
    " JOIN access_key_secrets AS s ON s.key_id = k.id"
    " WHERE k.id = ? AND (s.valid_until IS NULL OR s.valid_until > ?)"
    " ORDER BY s.valid_until IS NOT NULL"
)
_BY_SECRET = (
    f"SELECT {_K_COLUMNS}, s.valid_until FROM access_key_secrets AS s"
    " JOIN access_keys AS k ON k.id = s.key_id WHERE s.lookup_hash = ?"
)
_HAS_ADMIN: dict[Dialect, str] = {
    "sqlite": "SELECT 1 FROM access_keys WHERE account_id = ? AND revoked_at IS NULL"
    " AND (expires_at IS NULL OR expires_at > ?)"
    " AND EXISTS (SELECT 1 FROM json_each(access_keys.scopes) WHERE value = ?) LIMIT 1",
    "postgresql": "SELECT 1 FROM access_keys WHERE account_id = ? AND revoked_at IS NULL"
    " AND (expires_at IS NULL OR expires_at > ?)"
    " AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(access_keys.scopes::jsonb) AS s (v)"
    " WHERE s.v = ?) LIMIT 1",
}

_Sigv4Answer = tuple[AccessKey, tuple[str, ...]]
_Sigv4Rows = tuple[AccessKey, tuple[tuple[str, int | None], ...]]
"""A key and each of its secrets with the end of its validity (None: the current one)."""
_DECODED_ROWS = 1024
"""Distinct SigV4 lookups whose decoded answer is remembered (see ``_decoded``)."""


class AccessKeyStore:
    def __init__(self, db: Database, keyring: Keyring, *, cache_seconds: float = 0.0) -> None:
        self._db = db
        self._keyring = keyring
        self._usage = UsageBatch()
        # Exact where the database has a change marker (SQLite), else cache_seconds.
        self._sigv4_cache: LookupCache[str, _Sigv4Rows] = LookupCache(cache_seconds)
        self._bearer_cache: LookupCache[bytes, tuple[AccessKey, int | None]] = LookupCache(
            cache_seconds
        )
        self.on_expired_use: Callable[[AccessKey, datetime], None] | None = None
        """Told when an expired key is presented (the audit log's
        ``access_key.expired``)."""
        self._decoded_rows: dict[tuple[Row, ...], _Sigv4Rows] = {}

    # --- reads --------------------------------------------------------------------------

    async def get_key(self, key_id: str) -> AccessKey | None:
        row = await self._db.fetch_one(
            f"SELECT {KEY_COLUMNS} FROM access_keys WHERE id = ?", (key_id,)
        )
        return None if row is None else access_key_from_row(row)

    async def sigv4_secrets(self, key_id: str, now: datetime) -> _Sigv4Answer | None:
        """For an active key: its current secret, then the previous one while a rotation
        grace period runs. ``None`` for an unknown, revoked or expired key."""
        marker = self._db.change_marker()
        rows_found = self._sigv4_cache.get(key_id, marker)
        if rows_found is None:
            rows = await self._db.fetch_all(_SIGV4, (key_id, to_micros(now)))
            if not rows:
                return None
            rows_found = self._decoded(rows)
            self._sigv4_cache.put(key_id, marker, rows_found)
        found = _live(rows_found, now)
        if found is not None and found[0].is_active(now):
            return found
        if found is not None:
            self._expired_use(found[0], now)
        return None

    def _decoded(self, rows: list[Row]) -> _Sigv4Rows:
        """The key and its plaintext secrets (each with the end of its validity) from its
        rows. The answer is a function of the rows alone, so it is remembered by their
        exact values (bounded): decoding and decrypting the same rows again is saved."""
        memo = tuple(tuple(row) for row in rows)
        try:
            found = self._decoded_rows.get(memo)
        except TypeError:  # a value that cannot be a key: decode without remembering
            memo, found = (), None
        if found is None:
            key = access_key_from_row(rows[0])
            aad = access_key_aad(key.id)
            found = (
                key,
                tuple(
                    (self._keyring.box.open(as_bytes(r[-2]), aad=aad), _micros(r[-1])) for r in rows
                ),
            )
            if memo:
                if len(self._decoded_rows) >= _DECODED_ROWS:
                    self._decoded_rows.pop(next(iter(self._decoded_rows)))
                self._decoded_rows[memo] = found
        return found

    async def find_by_secret(self, secret: str, now: datetime) -> AccessKey | None:
        """The active key whose current secret (or previous one, within its grace
        period) is ``secret``: the ``Bearer`` / ``X-API-Key`` credential.

        Found by a previous secret, the key's ``expires_at`` is the grace period's end
        (or its own expiry, if sooner): the credential presented stops working then, so
        nothing it makes (keys it mints, presigned URLs, a rotation) may outlive it."""
        lookup = self._keyring.lookup_hash(secret)
        marker = self._db.change_marker()
        found = self._bearer_cache.get(lookup, marker)
        if found is None:
            row = await self._db.fetch_one(_BY_SECRET, (lookup,))
            if row is None:
                return None
            valid_until = _micros(row[-1])
            found = _until(access_key_from_row(row), valid_until), valid_until
            self._bearer_cache.put(lookup, marker, found)
        key, valid_until = found
        if valid_until is not None and valid_until <= to_micros(now):
            return None
        if key.is_active(now):
            return key
        self._expired_use(key, now)
        return None

    def _expired_use(self, key: AccessKey, now: datetime) -> None:
        if self.on_expired_use is not None and key.revoked_at is None:
            self.on_expired_use(key, now)

    async def list_keys(
        self,
        *,
        owner: str | None = None,
        or_id: str | None = None,
        account: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[AccessKey], str | None]:
        """One page of keys in id order, revoked and expired ones included.

        ``owner`` restricts to keys created by that key or user (and, with ``or_id``, the
        key of that id too: a caller's own keys and the one it calls with), ``account``
        to the keys of that account. Returns the page and the cursor of the next page
        (``None`` on the last page). A cursor is opaque; a malformed one raises ``ValueError``.
        """
        if not 1 <= limit <= _MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {_MAX_PAGE}")
        after = "" if cursor is None else decode_cursor(cursor)
        where = ["id > ?"]
        params: list[object] = [after]
        if owner is not None and or_id is not None:
            where.append("(owner = ? OR id = ?)")
            params.extend((owner, or_id))
        elif owner is not None:
            where.append("owner = ?")
            params.append(owner)
        if account is not None:
            where.append("account_id = ?")
            params.append(account)
        sql = (
            f"SELECT {KEY_COLUMNS} FROM access_keys WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"
        )
        rows = await self._db.fetch_all(sql, (*params, limit + 1))
        page = [access_key_from_row(row) for row in rows]
        if len(page) <= limit:
            return page, None
        page = page[:limit]
        return page, encode_cursor(page[-1].id)

    async def has_active_admin_key(self, now: datetime) -> bool:
        """Whether the system account has an active ``admin`` key (first-start bootstrap)."""
        row = await self._db.fetch_one(
            _HAS_ADMIN[self._db.dialect], (SYSTEM_ACCOUNT_ID, to_micros(now), ADMIN)
        )
        return row is not None

    # --- writes -------------------------------------------------------------------------

    async def create_key(
        self,
        name: str,
        scopes: Iterable[str],
        *,
        expires_at: datetime | None = None,
        buckets: Iterable[str] | None = None,
        owner: str | None = None,
        parent: Lineage | None = None,
        account_id: str = SYSTEM_ACCOUNT_ID,
        key_id: str | None = None,
        secret: str | None = None,
        rate_limit: RateLimit | None = None,
        most: int | None = None,
        now: datetime | None = None,
    ) -> tuple[AccessKey, str]:
        """Create a key of ``account_id``; return it with its plaintext secret, which is
        never shown again.

        ``parent``: the credential minting it (:mod:`gateway.identity.lineage`), checked
        still valid in the same transaction and recorded, so that revoking it revokes
        this key. The key then expires no later than the parent: an omitted
        ``expires_at`` becomes the parent's bound, a later one raises
        :class:`~gateway.identity.lineage.ParentBoundError`; a parent no longer valid
        raises :class:`~gateway.identity.lineage.ParentInactiveError`.

        ``key_id`` / ``secret`` are for imported credentials (the bootstrap root key); by
        default both are generated (``ak_...`` / ``sk_...``). ``rate_limit``: the key's
        override of the configured limit (:mod:`gateway.identity.rate_limits`), written
        in the same transaction. ``most``: the account's limit of active keys
        (:mod:`gateway.identity.quota`; :class:`AccountLimitReached` past it).
        """
        created = now or utcnow()
        clean_name = key_rules.validate_name(name)
        clean_scopes = key_rules.validate_scopes(scopes)
        clean_buckets = key_rules.validate_buckets(buckets)
        if expires_at is not None and utc_instant(expires_at, "expires_at") <= created:
            raise ValueError("expires_at must be in the future")
        the_id = key_rules.validate_explicit_key_id(key_id) if key_id is not None else None
        the_secret = key_rules.validate_explicit_secret(secret) if secret is not None else None
        the_secret = the_secret or key_rules.new_secret()
        created_us = to_micros(created)
        wanted_us = None if expires_at is None else to_micros(expires_at)
        row = (
            clean_name,
            json_list(sorted(clean_scopes)),
            None if clean_buckets is None else json_list(clean_buckets),
            owner,
            created_us,
        )

        for _attempt in range(3):
            candidate = the_id or key_rules.new_key_id()

            async def insert(tx: Tx, candidate: str = candidate) -> None:
                await check_room(tx, "access keys", most, account_id, created_us)
                expiry = wanted_us
                if parent is not None:
                    bound = await check_parent(tx, parent, created_us)
                    if bound is not None and (expiry is None or expiry > bound):
                        if expiry is not None:
                            raise ParentBoundError(from_micros(bound))
                        expiry = bound
                await tx.execute(
                    f"INSERT INTO access_keys ({KEY_COLUMNS})"
                    " VALUES (?, ?, 'standard', ?, ?, ?, ?, ?, NULL, NULL, ?)",
                    (candidate, *row, expiry, account_id),
                )
                await insert_secret(tx, self._keyring, candidate, the_secret, created)
                if parent is not None:
                    await record_parent(tx, candidate, parent)
                if rate_limit is not None:
                    await write_override(tx, f"key:{candidate}", rate_limit, created_us)

            try:
                await self._db.transaction(insert)
            except IntegrityError as exc:
                if the_id is not None or "access_key_secrets" in str(exc):
                    raise DuplicateKeyError(
                        "the access key id or secret is already in use"
                    ) from None
                continue
            key = await self.get_key(candidate)
            assert key is not None
            return key, the_secret
        raise RuntimeError("could not allocate a unique access key id")

    async def prune_ended(self, before: datetime, *, batch: int = 1000) -> int:
        """Delete keys revoked, or expired, before ``before``; their secrets, lineage rows
        and rate-limit override go with them. How many were deleted.

        Without it the table grows without bound: the per-account limit counts active
        keys only, so creating and revoking in a loop would add rows at the rate limit's
        pace. An ended key can never act again (a revoked key's secrets are gone, an
        expired one fails every lookup), its history is in the audit log, and its
        children ended no later than it did (:mod:`gateway.identity.lineage`). In
        batches, each its own transaction; a full scan of the table per batch (run
        hourly)."""
        cutoff = to_micros(before)
        total = 0
        while True:

            async def delete(tx: Tx) -> int:
                rows = await tx.fetch_all(
                    "SELECT id FROM access_keys WHERE (revoked_at IS NOT NULL AND revoked_at < ?)"
                    " OR (expires_at IS NOT NULL AND expires_at < ?) LIMIT ?",
                    (cutoff, cutoff, batch),
                )
                ids = [str(row[0]) for row in rows]
                for key_id in ids:
                    await tx.execute(
                        "DELETE FROM rate_limit_overrides WHERE subject = ?", (f"key:{key_id}",)
                    )
                    await tx.execute("DELETE FROM access_keys WHERE id = ?", (key_id,))
                return len(ids)

            removed = await self._db.transaction(delete)
            total += removed
            if removed < batch:
                return total

    async def revoke_key(self, key_id: str, *, now: datetime | None = None) -> bool:
        """Revoke at once, for every process. Its secrets are deleted, and so is every
        key it minted, transitively (:mod:`gateway.identity.lineage`). Returns ``False``
        if the key is unknown or already revoked."""
        when = to_micros(now or utcnow())

        async def revoke(tx: Tx) -> tuple[bool, int]:
            changed = await tx.execute(
                "UPDATE access_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (when, key_id),
            )
            await tx.execute("DELETE FROM access_key_secrets WHERE key_id = ?", (key_id,))
            return changed == 1, await revoke_minted(tx, "key", key_id, when)

        try:
            revoked, minted = await self._db.transaction(revoke)
        finally:
            self._forget()
        if minted:
            logger.info("revoking %s revoked %d keys minted with it", key_id, minted)
        return revoked

    async def rotate_key(
        self, key_id: str, *, grace: timedelta = timedelta(0), now: datetime | None = None
    ) -> tuple[AccessKey, str] | None:
        """Give an active key a new secret (same key id). The old secret keeps working
        until ``now + grace``; a secret from an earlier rotation is dropped at once.
        ``None`` if the key is unknown, revoked or expired."""
        if grace < timedelta(0):
            raise ValueError("grace must not be negative")
        when = now or utcnow()
        new_secret = key_rules.new_secret()

        async def rotate(tx: Tx) -> bool:
            row = await tx.fetch_one(
                f"SELECT {KEY_COLUMNS} FROM access_keys WHERE id = ?", (key_id,)
            )
            if row is None or not access_key_from_row(row).is_active(when):
                return False
            await tx.execute(
                "DELETE FROM access_key_secrets WHERE key_id = ?"
                " AND (valid_until IS NOT NULL OR ? = 0)",
                (key_id, int(grace > timedelta(0))),
            )
            await tx.execute(
                "UPDATE access_key_secrets SET valid_until = ?"
                " WHERE key_id = ? AND valid_until IS NULL",
                (to_micros(when + grace), key_id),
            )
            await insert_secret(tx, self._keyring, key_id, new_secret, when)
            return True

        try:
            if not await self._db.transaction(rotate):
                return None
        finally:
            self._forget()
        key = await self.get_key(key_id)
        assert key is not None
        return key, new_secret

    async def ensure_root_key(
        self, key_id: str, secret: str, *, now: datetime | None = None
    ) -> AccessKey:
        """Make the bootstrap key match the environment: id ``key_id``, secret ``secret``,
        scope ``admin``, no bucket limit, no expiry, not revoked. Idempotent; a changed
        secret replaces the stored one at once, and a root key with another id (the
        environment changed) is revoked. Writes nothing when all is already in sync."""
        key_rules.validate_explicit_key_id(key_id)
        key_rules.validate_explicit_secret(secret)
        when = now or utcnow()
        if not await root.in_sync(self._db, self._keyring, key_id, secret):
            try:
                revoked = await self._db.transaction(
                    lambda tx: root.sync(tx, self._keyring, key_id, secret, when)
                )
            finally:
                self._forget()
            if revoked:
                logger.warning("root access key changed; revoked old root keys %s", revoked)
        key = await self.get_key(key_id)
        assert key is not None
        return key

    def forget_cached(self) -> None:
        """After another sub-store revoked keys (an account deleted): drop cached lookups."""
        self._forget()

    def _forget(self) -> None:
        """After a write by this process: no cached lookup may outlive it here."""
        self._sigv4_cache.clear()
        self._bearer_cache.clear()

    # --- last_used_at batching ----------------------------------------------------------

    def record_use(self, key_id: str, when: datetime) -> None:
        """Note that ``key_id`` authenticated a request. Memory only; see :meth:`flush`."""
        self._usage.add(key_id, to_micros(when))

    async def flush(self) -> None:
        """Write the pending ``last_used_at`` values in one transaction. On failure they
        stay pending for the next flush."""
        batch = self._usage.take()
        if not batch:
            return
        try:
            await self._db.transaction(lambda tx: write_usage(tx, batch))
        except BaseException:
            self._usage.restore(batch)
            raise


def _micros(value: Any) -> int | None:
    return None if value is None else int(value)


def _until(key: AccessKey, valid_until: int | None) -> AccessKey:
    """``key`` as seen through a secret valid until ``valid_until`` (microseconds;
    ``None``: as long as the key)."""
    if valid_until is None:
        return key
    end = from_micros(valid_until)
    if key.expires_at is not None and key.expires_at <= end:
        return key
    return replace(key, expires_at=end)


def _live(found: _Sigv4Rows, now: datetime) -> _Sigv4Answer | None:
    """The secrets still valid at ``now`` (a previous secret's grace period may have
    ended since its row was read); None when none is."""
    key, secrets = found
    if len(secrets) == 1 and secrets[0][1] is None:  # no rotation under way
        return key, (secrets[0][0],)
    now_us = to_micros(now)
    live = tuple(secret for secret, until in secrets if until is None or until > now_us)
    return (key, live) if live else None
