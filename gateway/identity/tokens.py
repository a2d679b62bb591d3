"""OAuth sessions (refresh-token families), refresh tokens and revoked access tokens.

- A **session** is one password-grant login. Its refresh tokens form a family and every
  access token minted from it carries its id (``sid`` claim), so revoking the session
  stops the whole family at once, access tokens included, and revokes the access keys
  minted with them (:mod:`gateway.identity.lineage`). ``expires_at`` is the family's
  absolute cap: rotation never extends it.
- A **refresh token** is stored only as its keyed hash. :meth:`SessionStore.rotate`
  spends it and issues the next one in the same transaction; presenting a spent token
  again is reuse: the session is revoked.
- **One row per session.** A token is ``rt_`` + its session id's 20 characters + the
  session's *family tag* (120 bits: an HMAC of the session id under a subkey of the
  master key) + 240 random bits. A spent token's row is deleted when its successor is
  written, so a session keeps one row however often it is refreshed; a spent token is
  still known for its family by its tag (only a holder of a token of the family has it),
  so reuse is detected however many rotations ago it was spent. Tokens issued before the
  tag (``rt_`` + 240 random bits) are marked used and kept, as they were, until their
  family ends (their families' next tokens carry the tag).
- A **revoked access token** (RFC 7009) is remembered by ``jti`` until it expires.
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from gateway.identity.clients import CONSOLE_CLIENT_ID
from gateway.identity.columns import as_int, as_opt_time, as_str, as_time, json_strs, new_id
from gateway.identity.crypto import Keyring
from gateway.identity.db import Database, Tx
from gateway.identity.lineage import revoke_minted
from gateway.identity.models import to_micros, utcnow
from gateway.identity.rows import json_list
from gateway.identity.schema import require_fingerprint

__all__ = [
    "REFRESH_PREFIX",
    "REFRESH_SHAPE",
    "REFRESH_SHORTEST",
    "RefreshResult",
    "RefreshToken",
    "Session",
    "SessionStore",
]

REFRESH_PREFIX = "rt_"
SESSION_PREFIX = "ses_"
_COLUMNS = "id, user_id, client_id, scopes, created_at, expires_at, revoked_at, revoked_reason"
_S_COLUMNS = ", ".join(f"s.{c.strip()}" for c in _COLUMNS.split(","))

RefreshOutcome = Literal["ok", "unknown", "wrong_client", "revoked", "reused", "expired", "user"]


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    user_id: str
    client_id: str
    scopes: frozenset[str]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True, slots=True)
class RefreshToken:
    """What the store knows about one refresh token (never the token itself).

    ``spent``: rotated already. A spent token whose row is gone is known by its family
    tag only: its ``created_at`` is then its session's start."""

    session: Session
    created_at: datetime
    spent: bool

    def expires_at(self, idle: timedelta | None) -> datetime:
        """When this token stops working unused: its family's cap, or ``idle`` after it
        was issued when that comes first."""
        if idle is None:
            return self.session.expires_at
        return min(self.session.expires_at, self.created_at + idle)

    def is_live(self, now: datetime, idle: timedelta | None) -> bool:
        """Unspent, of an active family, and not idle past ``idle``."""
        return not self.spent and self.session.is_active(now) and now < self.expires_at(idle)


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """``outcome == "ok"``: ``token`` is the new refresh token of ``session``."""

    outcome: RefreshOutcome
    session: Session | None = None
    token: str | None = None


def _from_row(row: Sequence[object]) -> Session:
    reason = row[7]
    return Session(
        id=as_str(row[0]),
        user_id=as_str(row[1]),
        client_id=as_str(row[2]),
        scopes=frozenset(json_strs(row[3])),
        created_at=as_time(row[4]),
        expires_at=as_time(row[5]),
        revoked_at=as_opt_time(row[6]),
        revoked_reason=None if reason is None else as_str(reason),
    )


_REFRESH_BYTES = 30
_RANDOM = 4 * _REFRESH_BYTES // 3
_TAG_BYTES = 15
_TAG = 4 * _TAG_BYTES // 3
_SESSION_PART = 20
"""The characters of a session id after :data:`SESSION_PREFIX` (``new_id``'s 20)."""
_TAGGED = _SESSION_PART + _TAG + _RANDOM

REFRESH_SHAPE = re.compile(
    f"{re.escape(REFRESH_PREFIX)}"
    f"(?:[A-Z0-9]{{{_SESSION_PART}}}[A-Za-z0-9_-]{{{_TAG + _RANDOM}}}|[A-Za-z0-9_-]{{{_RANDOM}}})"
)
"""What :meth:`SessionStore.start` and :meth:`SessionStore.rotate` make, and the untagged
tokens of before (a value of another shape is no refresh token and needs no look-up)."""
REFRESH_SHORTEST = len(REFRESH_PREFIX) + _RANDOM
"""Characters of the shortest value :data:`REFRESH_SHAPE` accepts: an untagged token of
before (43; one made now is ``rt_`` + :data:`_TAGGED`, 83). What bounds how many
well-formed values one header can hold."""


class SessionStore:
    """Sessions and tokens; reached as ``IdentityStore.sessions``."""

    def __init__(self, db: Database, keyring: Keyring) -> None:
        self._db = db
        self._keyring = keyring
        self._family_key = keyring.subkey("refresh-token-family")

    # --- tokens -----------------------------------------------------------------------

    def _tag(self, session_id: str) -> str:
        digest = hmac.digest(self._family_key, session_id.encode(), "sha256")[:_TAG_BYTES]
        return base64.urlsafe_b64encode(digest).decode()

    def _new_token(self, session_id: str) -> str:
        part = session_id.removeprefix(SESSION_PREFIX)
        assert len(part) == _SESSION_PART, session_id
        random = secrets.token_urlsafe(_REFRESH_BYTES)
        return f"{REFRESH_PREFIX}{part}{self._tag(session_id)}{random}"

    def _family(self, token: str) -> str | None:
        """The session a tagged token belongs to, when its tag is the one this store
        makes for that session (whoever has it held a token of the family); ``None``
        for any other value."""
        body = token.removeprefix(REFRESH_PREFIX)
        if len(body) != _TAGGED or not REFRESH_SHAPE.fullmatch(token):
            return None
        session_id = SESSION_PREFIX + body[:_SESSION_PART]
        tag = body[_SESSION_PART : _SESSION_PART + _TAG]
        if not hmac.compare_digest(tag, self._tag(session_id)):
            return None
        return session_id

    # --- reads ------------------------------------------------------------------------

    async def get(self, session_id: str) -> Session | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM oauth_sessions WHERE id = ?", (session_id,)
        )
        return None if row is None else _from_row(row)

    async def find_refresh(self, token: str) -> RefreshToken | None:
        """The token's row; for a spent token whose row is gone, its session (found by
        the family tag); ``None`` for a value no session issued."""
        if not token.startswith(REFRESH_PREFIX):
            return None
        row = await self._db.fetch_one(
            f"SELECT {_S_COLUMNS}, t.created_at, t.used_at FROM refresh_tokens AS t"
            " JOIN oauth_sessions AS s ON s.id = t.session_id WHERE t.lookup_hash = ?",
            (self._keyring.lookup_hash(token),),
        )
        if row is not None:
            return RefreshToken(_from_row(row), as_time(row[8]), spent=row[9] is not None)
        family = self._family(token)
        session = None if family is None else await self.get(family)
        return None if session is None else RefreshToken(session, session.created_at, spent=True)

    async def user_token_scopes(
        self, session_id: str, user_id: str, client_id: str, jti: str
    ) -> tuple[frozenset[str], frozenset[str], str, str] | None:
        """For a user's access token: the user's and the client's current scopes, the
        user's account and username; ``None`` when the session is revoked or gone, the
        user disabled or deleted, the client deleted, user and client in different
        accounts (but for the web console's client, which signs in the users of every
        account, as the password grant does), or the token itself revoked. One
        statement, all indexed."""
        row = await self._db.fetch_one(
            "SELECT u.scopes, c.scopes, u.account_id, u.username FROM oauth_sessions AS s"
            " JOIN users AS u ON u.id = s.user_id"
            " JOIN oauth_clients AS c ON c.id = s.client_id"
            " WHERE s.id = ? AND s.user_id = ? AND s.client_id = ?"
            " AND s.revoked_at IS NULL AND u.disabled_at IS NULL"
            " AND (u.account_id = c.account_id OR c.id = ?)"
            " AND NOT EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = ?)",
            (session_id, user_id, client_id, CONSOLE_CLIENT_ID, jti),
        )
        if row is None:
            return None
        return (
            frozenset(json_strs(row[0])),
            frozenset(json_strs(row[1])),
            as_str(row[2]),
            as_str(row[3]),
        )

    async def client_token_scopes(
        self, client_id: str, jti: str
    ) -> tuple[frozenset[str], str] | None:
        """For a client-credentials token: the client's current scopes and its account,
        or ``None``."""
        row = await self._db.fetch_one(
            "SELECT scopes, account_id FROM oauth_clients WHERE id = ?"
            " AND NOT EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = ?)",
            (client_id, jti),
        )
        return None if row is None else (frozenset(json_strs(row[0])), as_str(row[1]))

    # --- writes -----------------------------------------------------------------------

    async def start(
        self,
        user_id: str,
        client_id: str,
        scopes: Iterable[str],
        *,
        expires_at: datetime,
        with_refresh: bool,
        now: datetime | None = None,
        most: int | None = None,
    ) -> tuple[Session, str | None]:
        """A new session; with its first refresh token when ``with_refresh``.

        ``most``: the sessions the user may keep, this one included. The oldest beyond it
        end in the same transaction, as a sign-out ends them (the access keys minted with
        them are revoked), and their rows are deleted with their refresh tokens: a user
        logging in without end keeps ``most`` rows, not one per login for the families'
        lifetime. Their tokens are then unknown, refused as a revoked one is."""
        when = to_micros(now or utcnow())
        session_id = new_id(SESSION_PREFIX)
        token = self._new_token(session_id) if with_refresh else None
        lookup = None if token is None else self._keyring.lookup_hash(token)

        async def insert(tx: Tx) -> None:
            await tx.execute(
                f"INSERT INTO oauth_sessions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)",
                (
                    session_id,
                    user_id,
                    client_id,
                    json_list(sorted(scopes)),
                    when,
                    to_micros(expires_at),
                ),
            )
            if lookup is not None:
                await require_fingerprint(tx, self._keyring.fingerprint)
                await tx.execute(
                    "INSERT INTO refresh_tokens (lookup_hash, session_id, created_at, used_at)"
                    " VALUES (?, ?, ?, NULL)",
                    (lookup, session_id, when),
                )
            if most is not None:
                await _end_oldest(tx, user_id, session_id, most, when)

        await self._db.transaction(insert)
        session = await self.get(session_id)
        assert session is not None
        return session, token

    async def rotate(
        self,
        token: str,
        client_id: str,
        *,
        now: datetime | None = None,
        idle: timedelta | None = None,
    ) -> RefreshResult:
        """Spend ``token`` (presented by ``client_id``) and issue its successor.

        Outcomes other than ``"ok"``: ``unknown``; ``wrong_client`` (issued to another
        client; nothing changes); ``revoked``; ``reused`` (already spent: the session is
        revoked now); ``expired`` (past the family's cap, or unused for ``idle`` since it
        was issued: RFC 9700 4.14.2); ``user`` (user disabled).

        The spent token's row is deleted (a tagged token: its tag still tells its family,
        :meth:`_family`) or marked used (an untagged one from before), so a session keeps
        one row of its own however often it is refreshed.
        """
        idle_us = None if idle is None else int(idle.total_seconds() * 1_000_000)
        if not token.startswith(REFRESH_PREFIX):
            return RefreshResult("unknown")
        when = to_micros(now or utcnow())
        lookup = self._keyring.lookup_hash(token)
        family = self._family(token)

        async def spend(tx: Tx) -> RefreshResult:
            row = await tx.fetch_one(
                f"SELECT {_S_COLUMNS}, t.used_at, u.disabled_at, t.created_at"
                " FROM refresh_tokens AS t"
                " JOIN oauth_sessions AS s ON s.id = t.session_id"
                " JOIN users AS u ON u.id = s.user_id WHERE t.lookup_hash = ?",
                (lookup,),
            )
            if row is None:
                return await _spent_of(tx, family, client_id, when)
            session = _from_row(row)
            if session.client_id != client_id:
                return RefreshResult("wrong_client")
            if session.revoked_at is not None:
                return RefreshResult("revoked", session)
            if row[8] is not None:
                await _revoke(tx, session.id, when, "refresh_token_reused")
                return RefreshResult("reused", session)
            if to_micros(session.expires_at) <= when:
                return RefreshResult("expired", session)
            if idle_us is not None and to_micros(as_time(row[10])) + idle_us <= when:
                return RefreshResult("expired", session)
            if row[9] is not None:
                return RefreshResult("user", session)
            await require_fingerprint(tx, self._keyring.fingerprint)
            if family is not None:
                await tx.execute("DELETE FROM refresh_tokens WHERE lookup_hash = ?", (lookup,))
            else:
                await tx.execute(
                    "UPDATE refresh_tokens SET used_at = ? WHERE lookup_hash = ?", (when, lookup)
                )
            successor = self._new_token(session.id)
            await tx.execute(
                "INSERT INTO refresh_tokens (lookup_hash, session_id, created_at, used_at)"
                " VALUES (?, ?, ?, NULL)",
                (self._keyring.lookup_hash(successor), session.id, when),
            )
            return RefreshResult("ok", session, successor)

        return await self._db.transaction(spend)

    async def revoke(
        self, session_id: str, *, reason: str = "revoked", now: datetime | None = None
    ) -> bool:
        """Revoke a session: its refresh tokens and access tokens stop at once."""
        when = to_micros(now or utcnow())
        return await self._db.transaction(lambda tx: _revoke(tx, session_id, when, reason))

    async def revoke_access_token(
        self, jti: str, expires_at: datetime, *, now: datetime | None = None
    ) -> None:
        """Deny the access token ``jti`` until it expires, and revoke the access keys
        minted with it."""
        when = to_micros(now or utcnow())

        async def insert(tx: Tx) -> None:
            await tx.execute(
                "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (?, ?)"
                " ON CONFLICT (jti) DO NOTHING",
                (jti, to_micros(expires_at)),
            )
            await revoke_minted(tx, "token", jti, when)

        await self._db.transaction(insert)

    async def prune(self, *, now: datetime | None = None) -> int:
        """Delete sessions past their cap (with their tokens) and expired revocations."""
        when = to_micros(now or utcnow())

        async def delete(tx: Tx) -> int:
            gone = await tx.execute("DELETE FROM oauth_sessions WHERE expires_at <= ?", (when,))
            await tx.execute("DELETE FROM revoked_access_tokens WHERE expires_at <= ?", (when,))
            return gone

        return await self._db.transaction(delete)


async def _spent_of(tx: Tx, family: str | None, client_id: str, when_us: int) -> RefreshResult:
    """A token without a row: ``unknown``, unless its tag names a session, whose token it
    was (spent, its row deleted at the rotation): then as a spent token with a row,
    ``wrong_client``, ``revoked`` or ``reused`` (the session is revoked now)."""
    row = None
    if family is not None:
        row = await tx.fetch_one(f"SELECT {_COLUMNS} FROM oauth_sessions WHERE id = ?", (family,))
    if row is None:
        return RefreshResult("unknown")
    session = _from_row(row)
    if session.client_id != client_id:
        return RefreshResult("wrong_client")
    if session.revoked_at is not None:
        return RefreshResult("revoked", session)
    await _revoke(tx, session.id, when_us, "refresh_token_reused")
    return RefreshResult("reused", session)


async def _end_oldest(tx: Tx, user_id: str, kept: str, most: int, when_us: int) -> None:
    """Delete ``user_id``'s oldest sessions beyond ``most`` (revoked ones and those past
    their cap included: each is a row), revoking what was minted with them; never
    ``kept``, the session just started (another host's clock may date older ones later)."""
    row = await tx.fetch_one("SELECT count(*) FROM oauth_sessions WHERE user_id = ?", (user_id,))
    extra = 0 if row is None else as_int(row[0]) - most
    if extra <= 0:
        return
    oldest = await tx.fetch_all(
        "SELECT id FROM oauth_sessions WHERE user_id = ? AND id <> ?"
        " ORDER BY created_at, id LIMIT ?",
        (user_id, kept, extra),
    )
    for (session_id,) in oldest:
        await revoke_minted(tx, "session", as_str(session_id), when_us)
        await tx.execute("DELETE FROM oauth_sessions WHERE id = ?", (as_str(session_id),))


async def _revoke(tx: Tx, session_id: str, when_us: int, reason: str) -> bool:
    """Revoke a session and the access keys minted with its tokens (sign-out, reuse)."""
    changed = await tx.execute(
        "UPDATE oauth_sessions SET revoked_at = ?, revoked_reason = ?"
        " WHERE id = ? AND revoked_at IS NULL",
        (when_us, reason, session_id),
    )
    await revoke_minted(tx, "session", session_id, when_us)
    return changed == 1
