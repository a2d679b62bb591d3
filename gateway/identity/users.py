"""OAuth users: username, scrypt password hash, scopes, disabled flag.

Reads are one indexed SELECT; scrypt (~50 ms of CPU) runs in a worker thread, never on the
event loop and never inside a transaction. An unknown
username is checked against a dummy hash, so its answer takes as long as a wrong password.
Disabling a user, deleting it or changing its password revokes every session (refresh
family) and every access key minted with the user's tokens at once; the token verifier
also reads the user row on each request.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from gateway.identity import key_rules
from gateway.identity.columns import as_opt_time, as_str, as_time, json_strs, new_id
from gateway.identity.crypto import Keyring, hash_password, verify_password
from gateway.identity.db import Database, Dialect, IntegrityError, Tx
from gateway.identity.lineage import revoke_minted
from gateway.identity.models import to_micros, utcnow
from gateway.identity.quota import check_room
from gateway.identity.rows import decode_cursor, encode_cursor, json_list
from gateway.principal import SYSTEM_ACCOUNT_ID

__all__ = [
    "MAX_ROLES",
    "USER_ID_PREFIX",
    "DuplicateUserError",
    "User",
    "UserStore",
    "validate_password",
    "validate_roles",
]

USER_ID_PREFIX = "usr_"
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+\-]{0,127}")
_MIN_PASSWORD = 8
_MAX_PASSWORD = 1024
_COLUMNS = "id, username, scopes, created_at, updated_at, disabled_at, account_id, roles"
_ROLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
MAX_ROLES = 32
_MAX_PAGE = 1000
# Usernames compare case-insensitively (SQLite: the column's NOCASE collation;
# PostgreSQL: a unique index on lower(username)).
_BY_NAME: dict[Dialect, str] = {
    "sqlite": "username = ?",
    "postgresql": "lower(username) = lower(?)",
}


class DuplicateUserError(ValueError):
    """The username is taken (usernames compare case-insensitively)."""


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    scopes: frozenset[str]
    created_at: datetime
    updated_at: datetime
    disabled_at: datetime | None
    account_id: str = SYSTEM_ACCOUNT_ID
    roles: tuple[str, ...] = ()
    """Role names the user's access tokens carry (claim ``roles``); labels for the
    applications that accept the tokens: the gateway's own checks use scopes only."""

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None


def _from_row(row: Sequence[object]) -> User:
    return User(
        id=as_str(row[0]),
        username=as_str(row[1]),
        scopes=frozenset(json_strs(row[2])),
        created_at=as_time(row[3]),
        updated_at=as_time(row[4]),
        disabled_at=as_opt_time(row[5]),
        account_id=as_str(row[6]),
        roles=json_strs(row[7]),
    )


def validate_username(username: str) -> str:
    if not _USERNAME.fullmatch(username):
        raise ValueError(
            "username must be 1 to 128 of A-Z a-z 0-9 . _ @ + - (starting with a letter or digit)"
        )
    return username


def validate_roles(roles: Iterable[str]) -> tuple[str, ...]:
    """Role names: at most 32, each 1 to 64 of A-Z a-z 0-9 . _ : - (starting with a letter
    or digit), no duplicates; kept in the order given."""
    items = tuple(roles)
    if len(items) > MAX_ROLES:
        raise ValueError(f"at most {MAX_ROLES} roles")
    if len(set(items)) != len(items):
        raise ValueError("roles must not repeat")
    for role in items:
        if not isinstance(role, str) or not _ROLE.fullmatch(role):
            raise ValueError(
                "a role is 1 to 64 of A-Z a-z 0-9 . _ : - (starting with a letter or digit)"
            )
    return items


def validate_password(password: str) -> str:
    if not _MIN_PASSWORD <= len(password) <= _MAX_PASSWORD:
        raise ValueError(f"password must be {_MIN_PASSWORD} to {_MAX_PASSWORD} characters")
    return password


@functools.cache
def _dummy_hash() -> str:
    return hash_password("nfyio-gateway dummy password for timing equalisation")


async def revoke_user_sessions(tx: Tx, user_id: str, when_us: int, reason: str) -> None:
    await tx.execute(
        "UPDATE oauth_sessions SET revoked_at = ?, revoked_reason = ?"
        " WHERE user_id = ? AND revoked_at IS NULL",
        (when_us, reason, user_id),
    )


async def revoke_owned_keys(tx: Tx, owner: str, when_us: int) -> int:
    """Revoke every access key the user ``owner`` minted (with any of its tokens), and
    the keys those keys minted in turn (:mod:`gateway.identity.lineage`).

    A disabled or deleted user, or one whose password changed, must not keep access
    through keys made with their tokens.
    """
    return await revoke_minted(tx, "user", owner, when_us)


class UserStore:
    """Users of the identity store; reached as ``IdentityStore.users``."""

    def __init__(self, db: Database, keyring: Keyring) -> None:
        self._db = db
        self._by_name = f"SELECT {_COLUMNS}, password_hash FROM users WHERE {_BY_NAME[db.dialect]}"

    # --- reads ------------------------------------------------------------------------

    async def get(self, user_id: str) -> User | None:
        row = await self._db.fetch_one(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,))
        return None if row is None else _from_row(row)

    async def find(self, username: str) -> User | None:
        row = await self._db.fetch_one(self._by_name, (username,))
        return None if row is None else _from_row(row)

    async def list_page(
        self, *, account: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[User], str | None]:
        """A page of users in id order; ``account``: only that account's."""
        if not 1 <= limit <= _MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {_MAX_PAGE}")
        after = "" if cursor is None else decode_cursor(cursor)
        if account is None:
            rows = await self._db.fetch_all(
                f"SELECT {_COLUMNS} FROM users WHERE id > ? ORDER BY id LIMIT ?",
                (after, limit + 1),
            )
        else:
            rows = await self._db.fetch_all(
                f"SELECT {_COLUMNS} FROM users WHERE account_id = ? AND id > ? ORDER BY id LIMIT ?",
                (account, after, limit + 1),
            )
        page = [_from_row(row) for row in rows]
        if len(page) <= limit:
            return page, None
        return page[:limit], encode_cursor(page[limit - 1].id)

    async def authenticate(self, username: str, password: str) -> User | None:
        """The active user with this username and password, else ``None``. Unknown users
        cost one scrypt like known ones (no username enumeration by timing)."""
        row = await self._db.fetch_one(self._by_name, (username,))
        encoded = _dummy_hash() if row is None else as_str(row[-1])
        ok = await asyncio.to_thread(verify_password, password, encoded)
        if row is None or not ok:
            return None
        user = _from_row(row)
        return user if user.is_active else None

    # --- writes -----------------------------------------------------------------------

    async def create(
        self,
        username: str,
        password: str,
        scopes: Iterable[str],
        *,
        account_id: str = SYSTEM_ACCOUNT_ID,
        roles: Iterable[str] = (),
        most: int | None = None,
        now: datetime | None = None,
    ) -> User:
        """A user of ``account_id``. Usernames are unique in the whole gateway (the
        password grant finds a user by name), compared case-insensitively. ``most``: the
        account's limit of users (:mod:`gateway.identity.quota`)."""
        name = validate_username(username)
        validate_password(password)
        clean_scopes = key_rules.validate_scopes(scopes)
        clean_roles = validate_roles(roles)
        password_hash = await asyncio.to_thread(hash_password, password)
        when = to_micros(now or utcnow())
        user_id = new_id(USER_ID_PREFIX)

        async def insert(tx: Tx) -> None:
            await check_room(tx, "users", most, account_id)
            try:
                await tx.execute(
                    "INSERT INTO users (id, username, password_hash, scopes, created_at,"
                    " updated_at, disabled_at, account_id, roles)"
                    " VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                    (
                        user_id,
                        name,
                        password_hash,
                        json_list(sorted(clean_scopes)),
                        when,
                        when,
                        account_id,
                        json_list(clean_roles),
                    ),
                )
            except IntegrityError:
                raise DuplicateUserError(f"the username {name!r} is taken") from None

        await self._db.transaction(insert)
        user = await self.get(user_id)
        assert user is not None
        return user

    async def update(
        self,
        user_id: str,
        *,
        disabled: bool | None = None,
        scopes: Iterable[str] | None = None,
        password: str | None = None,
        roles: Iterable[str] | None = None,
        now: datetime | None = None,
    ) -> User | None:
        """Change a user; ``None`` if unknown. Disabling or a new password revokes every
        session of the user (a later re-enable does not bring old tokens back) and the
        access keys the user minted."""
        clean_scopes = None if scopes is None else key_rules.validate_scopes(scopes)
        clean_roles = None if roles is None else validate_roles(roles)
        password_hash = None
        if password is not None:
            validate_password(password)
            password_hash = await asyncio.to_thread(hash_password, password)
        when = to_micros(now or utcnow())

        async def apply(tx: Tx) -> bool:
            row = await tx.fetch_one("SELECT disabled_at FROM users WHERE id = ?", (user_id,))
            if row is None:
                return False
            sets: dict[str, object] = {"updated_at": when}
            if clean_scopes is not None:
                sets["scopes"] = json.dumps(sorted(clean_scopes), separators=(",", ":"))
            if clean_roles is not None:
                sets["roles"] = json_list(clean_roles)
            if password_hash is not None:
                sets["password_hash"] = password_hash
                await revoke_user_sessions(tx, user_id, when, "password_changed")
                await revoke_owned_keys(tx, user_id, when)
            if disabled is True and row[0] is None:
                sets["disabled_at"] = when
                await revoke_user_sessions(tx, user_id, when, "user_disabled")
                await revoke_owned_keys(tx, user_id, when)
            elif disabled is False:
                sets["disabled_at"] = None
            assignments = ", ".join(f"{name} = ?" for name in sets)
            await tx.execute(
                f"UPDATE users SET {assignments} WHERE id = ?", (*sets.values(), user_id)
            )
            return True

        if not await self._db.transaction(apply):
            return None
        return await self.get(user_id)

    async def delete(self, user_id: str, *, now: datetime | None = None) -> bool:
        """Delete a user with its sessions and refresh tokens (cascade); the access keys
        the user minted are revoked."""
        when = to_micros(now or utcnow())

        async def remove(tx: Tx) -> bool:
            if await tx.execute("DELETE FROM users WHERE id = ?", (user_id,)) != 1:
                return False
            await revoke_owned_keys(tx, user_id, when)
            return True

        return await self._db.transaction(remove)
