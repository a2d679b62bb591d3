"""Accounts (NFYio workspaces): the tenants of the gateway.

Every access key, user and OAuth client belongs to exactly one account, and every bucket
is owned by one (the ``owner`` bucket setting). The **system account** exists from the
start: rows made before accounts existed belong to it, and so does the root key from the
environment. An account has a canonical user id (64 hex, the name ACL grants and
``Owner`` elements use) and a display name:

- the system account keeps the single-tenant owner id (``sha256("nfyio-gateway owner")``,
  display name ``nfyio``), so an upgraded install reports the same owner as before;
- any other account's canonical id is ``sha256("nfyio-gateway account\\0" + id)``: opaque
  like AWS's, and computable from the account id without a lookup (the request path never
  reads the accounts table to know who a caller is).

An account's name, e-mail and canonical id never change, so :meth:`AccountStore.cached`
keeps them in memory (bounded) for rendering ``Owner`` elements.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from gateway.identity import key_rules
from gateway.identity.bucket_settings import owned_in
from gateway.identity.columns import as_str, as_time, new_id
from gateway.identity.crypto import Keyring
from gateway.identity.db import Database, Dialect, IntegrityError, Tx
from gateway.identity.models import to_micros, utcnow
from gateway.identity.rows import decode_cursor, encode_cursor
from gateway.principal import (
    SYSTEM_ACCOUNT_ID,
    SYSTEM_CANONICAL_ID,
    SYSTEM_DISPLAY_NAME,
    canonical_id_for,
)
from sigv4.memo import remember

__all__ = [
    "ACCOUNT_ID_PREFIX",
    "SYSTEM_ACCOUNT_ID",
    "SYSTEM_CANONICAL_ID",
    "SYSTEM_DISPLAY_NAME",
    "Account",
    "AccountOwnsBuckets",
    "AccountStore",
    "DuplicateEmailError",
    "DuplicateNameError",
    "canonical_id_for",
    "validate_email",
]

ACCOUNT_ID_PREFIX = "acct_"
_COLUMNS = "id, name, email, canonical_id, display_name, created_at"
_MAX_PAGE = 1000
_MAX_CACHED = 10_000
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.\-]{0,251}[A-Za-z0-9])?")
_BY_EMAIL: dict[Dialect, str] = {
    "sqlite": f"SELECT {_COLUMNS} FROM accounts WHERE email = ?",
    "postgresql": f"SELECT {_COLUMNS} FROM accounts WHERE lower(email) = lower(?)",
}
_NAME_TAKEN: dict[Dialect, str] = {
    "sqlite": "SELECT 1 FROM accounts WHERE name = ? COLLATE NOCASE",
    "postgresql": "SELECT 1 FROM accounts WHERE lower(name) = lower(?)",
}
"""Names compare as e-mail addresses do: case-insensitively (ASCII letters on SQLite)."""


_LISTED_BUCKETS = 100
"""Bucket names :class:`AccountOwnsBuckets` carries, at most."""


class AccountOwnsBuckets(Exception):
    """An account cannot be deleted while it owns buckets (``buckets``: some of them)."""

    def __init__(self, buckets: list[str]) -> None:
        super().__init__("the account still owns buckets")
        self.buckets = buckets


class DuplicateEmailError(ValueError):
    """Another account has this e-mail address (addresses compare case-insensitively)."""


class DuplicateNameError(ValueError):
    """Another account has this name (names compare case-insensitively): an operator
    tells accounts apart by name in listings, the console and the audit log, and a
    create retried after a lost answer must not make a second tenant."""


def validate_email(email: str) -> str:
    cleaned = email.strip()
    # isprintable: no C1 control (U+009B is a terminal's CSI), bidirectional override
    # (U+202E), zero-width or no-break space in the part the pattern leaves open; an
    # address is shown by the console, ``accounts list`` and ACL grants by e-mail.
    if len(cleaned) > 254 or not _EMAIL.fullmatch(cleaned) or not cleaned.isprintable():
        raise ValueError("email must be an address like name@example.com")
    key_rules.require_nfkc(cleaned, "email")
    # The local part alone: the domain is ASCII (the pattern), and a Cyrillic or Han mailbox
    # at a Latin domain is an address; ``admin@`` with a Cyrillic a (U+0430) is not.
    key_rules.require_one_script(cleaned.rpartition("@")[0], "email")
    return cleaned


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    email: str | None
    canonical_id: str
    display_name: str
    created_at: datetime

    @property
    def is_system(self) -> bool:
        return self.id == SYSTEM_ACCOUNT_ID


def _from_row(row: Sequence[object]) -> Account:
    return Account(
        id=as_str(row[0]),
        name=as_str(row[1]),
        email=None if row[2] is None else as_str(row[2]),
        canonical_id=as_str(row[3]),
        display_name=as_str(row[4]),
        created_at=as_time(row[5]),
    )


async def _revoke_keys(tx: Tx, account_id: str, when_us: int) -> None:
    await tx.execute(
        "DELETE FROM access_key_secrets WHERE key_id IN"
        " (SELECT id FROM access_keys WHERE account_id = ?)",
        (account_id,),
    )
    await tx.execute(
        "UPDATE access_keys SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL",
        (when_us, account_id),
    )


class AccountStore:
    """Accounts; reached as ``IdentityStore.accounts``."""

    def __init__(self, db: Database, keyring: Keyring) -> None:
        self._db = db
        self._cache: dict[str, Account] = {}

    # --- reads ------------------------------------------------------------------------

    async def get(self, account_id: str) -> Account | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM accounts WHERE id = ?", (account_id,)
        )
        return None if row is None else _from_row(row)

    async def cached(self, account_id: str) -> Account | None:
        """:meth:`get` through an in-process cache: an account's fields never change, and
        a deleted account owns nothing anyone still lists."""
        found = self._cache.get(account_id)
        if found is None:
            found = await self.get(account_id)
            if found is not None:
                remember(self._cache, account_id, found, _MAX_CACHED)
        return found

    async def find_by_email(self, email: str) -> Account | None:
        row = await self._db.fetch_one(_BY_EMAIL[self._db.dialect], (email.strip(),))
        return None if row is None else _from_row(row)

    async def by_emails(self, emails: Iterable[str]) -> Mapping[str, Account]:
        """Lower-cased address -> account, for the addresses some account has."""
        found: dict[str, Account] = {}
        for email in dict.fromkeys(e.lower() for e in emails):
            account = await self.find_by_email(email)
            if account is not None:
                found[email] = account
        return found

    async def by_canonical_ids(self, canonical_ids: Iterable[str]) -> Mapping[str, Account]:
        """Lower-cased canonical id -> account, for the ids some account has."""
        found: dict[str, Account] = {}
        for canonical in dict.fromkeys(c.lower() for c in canonical_ids):
            row = await self._db.fetch_one(
                f"SELECT {_COLUMNS} FROM accounts WHERE canonical_id = ?", (canonical,)
            )
            if row is not None:
                found[canonical] = _from_row(row)
        return found

    async def list_page(
        self, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[Account], str | None]:
        if not 1 <= limit <= _MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {_MAX_PAGE}")
        after = "" if cursor is None else decode_cursor(cursor)
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM accounts WHERE id > ? ORDER BY id LIMIT ?",
            (after, limit + 1),
        )
        page = [_from_row(row) for row in rows]
        if len(page) <= limit:
            return page, None
        return page[:limit], encode_cursor(page[limit - 1].id)

    # --- writes -----------------------------------------------------------------------

    async def create(
        self, name: str, *, email: str | None = None, now: datetime | None = None
    ) -> Account:
        """A new account (no keys yet: ``POST /v1/accounts`` adds its first admin key).
        Raises :class:`DuplicateNameError` / :class:`DuplicateEmailError` when another
        account has the name / the e-mail address."""
        clean_name = key_rules.validate_name(name)
        clean_email = None if email is None else validate_email(email)
        when = to_micros(now or utcnow())
        account_id = new_id(ACCOUNT_ID_PREFIX)
        canonical = canonical_id_for(account_id)

        async def insert(tx: Tx) -> None:
            # In the inserting transaction: SQLite's writer lock, PostgreSQL's
            # SERIALIZABLE (one of two racing creates is retried and sees the other).
            if await tx.fetch_one(_NAME_TAKEN[tx.dialect], (clean_name,)) is not None:
                raise DuplicateNameError("another account has this name")
            if clean_email is not None:
                taken = await tx.fetch_one(_BY_EMAIL[tx.dialect], (clean_email,))
                if taken is not None:
                    raise DuplicateEmailError("another account has this e-mail address")
            try:
                await tx.execute(
                    f"INSERT INTO accounts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                    (account_id, clean_name, clean_email, canonical, clean_name, when),
                )
            except IntegrityError:
                raise DuplicateEmailError("another account has this e-mail address") from None

        await self._db.transaction(insert)
        account = await self.get(account_id)
        assert account is not None
        return account

    async def delete(self, account_id: str, *, now: datetime | None = None) -> bool:
        """Delete an account: its access keys are revoked (and kept for the record), its
        users and OAuth clients deleted with their sessions. An account that still owns
        buckets raises :class:`AccountOwnsBuckets`, checked in the deleting transaction:
        a CreateBucket by one of its keys either comes first (and the deletion is
        refused) or finds the account gone (``BucketSettingsStore.claim_owner``). The
        system account cannot be deleted (``ValueError``)."""
        if account_id == SYSTEM_ACCOUNT_ID:
            raise ValueError("the system account cannot be deleted")
        when = to_micros(now or utcnow())

        async def remove(tx: Tx) -> bool:
            if await tx.execute("DELETE FROM accounts WHERE id = ?", (account_id,)) != 1:
                return False
            owned = await owned_in(tx, account_id, _LISTED_BUCKETS)
            if owned:
                raise AccountOwnsBuckets(owned)  # rolls the deletion back
            await _revoke_keys(tx, account_id, when)
            await tx.execute("DELETE FROM users WHERE account_id = ?", (account_id,))
            await tx.execute("DELETE FROM oauth_clients WHERE account_id = ?", (account_id,))
            return True

        removed = await self._db.transaction(remove)
        self._cache.pop(account_id, None)
        return removed
