"""Which credential minted an access key, and the cascade that revokes what it minted.

A key minted through the API records its parent credential in ``access_key_parents``
(one row per link, ``(kind, parent_id, key_id)``):

- minted with an access key: link ``key``; expires no later than that key (or than the
  grace period of the rotated-out secret it was presented with);
- minted with a user's access token (password or refresh grant): links ``user``,
  ``client``, ``session`` (the refresh family, ``sid``) and ``token`` (``jti``); expires
  no later than the family (``oauth_sessions.expires_at``);
- minted with a client-credentials token: links ``client`` and ``token``; expires no
  later than the token's own ``exp`` (it has no family).

Revoking a parent revokes every key linked to it and, through ``key`` links, what those
keys minted in turn (:func:`revoke_minted`, inside the revoking transaction). Rotation is
not revocation: a rotated key keeps its id and its children. Expiry needs no cascade: a
child never expires later than its parent (:func:`check_parent` at minting).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from gateway.identity.db import Tx
from gateway.identity.models import MAX_MICROS, to_micros
from gateway.principal import Principal

__all__ = [
    "Lineage",
    "ParentBoundError",
    "ParentInactiveError",
    "ParentKind",
    "check_parent",
    "record_parent",
    "revoke_minted",
]

ParentKind = Literal["key", "user", "client", "session", "token"]

# Every key linked to (kind, parent_id), then the keys those keys minted, transitively.
# Recursion goes through revoked keys too: their children must not survive either.
_MINTED = (
    "WITH RECURSIVE minted(id) AS ("
    " SELECT key_id FROM access_key_parents WHERE kind = ? AND parent_id = ?"
    " UNION SELECT p.key_id FROM access_key_parents AS p"
    " JOIN minted AS m ON p.kind = 'key' AND p.parent_id = m.id)"
)


class ParentInactiveError(Exception):
    """The credential minting a key was revoked, expired, disabled or deleted meanwhile."""


class ParentBoundError(ValueError):
    """The requested ``expires_at`` is later than the minting credential's lifetime."""

    def __init__(self, bound: datetime) -> None:
        super().__init__("a key cannot outlive the credential that mints it")
        self.bound = bound


@dataclass(frozen=True, slots=True)
class Lineage:
    """The credential a key is minted with: its links, and for a token whose lifetime is
    not stored (client credentials) that lifetime (``not_after``)."""

    links: tuple[tuple[ParentKind, str], ...]
    not_after: datetime | None = None

    @classmethod
    def of(cls, principal: Principal) -> Lineage:
        """The lineage of a key minted by ``principal``. A user's token is bounded by its
        refresh family (read from the session row when minting); a token without a family
        by its own ``exp``."""
        if principal.kind == "key":
            # ``expires_at`` is the key's, or a rotated-out secret's grace end (sooner)
            return cls((("key", principal.key_id or principal.subject),), principal.expires_at)
        links: list[tuple[ParentKind, str]] = []
        not_after = principal.expires_at
        if principal.kind == "user":
            links.append(("user", principal.subject))
            if principal.session_id is not None:
                links.append(("session", principal.session_id))
                not_after = None
        elif principal.kind != "client":
            raise ValueError("an anonymous caller cannot mint a key")
        if principal.client_id is not None:
            links.append(("client", principal.client_id))
        if principal.token_id is not None:
            links.append(("token", principal.token_id))
        return cls(tuple(links), not_after)


async def check_parent(tx: Tx, lineage: Lineage, now_us: int) -> int | None:
    """Inside the minting transaction: raise :class:`ParentInactiveError` unless every
    linked credential is still valid at ``now_us``; return the latest expiry (in
    microseconds) a key minted with it may have (``None``: unbounded).

    Reading the parents' rows in the same serializable transaction as the insert means a
    concurrent revocation either sees the new key (and revokes it) or makes this fail."""
    bound = None if lineage.not_after is None else to_micros(lineage.not_after)
    if bound is not None and bound <= now_us:
        raise ParentInactiveError("the minting token has expired")
    for kind, parent_id in lineage.links:
        limit = await _parent_expiry(tx, kind, parent_id, now_us)
        if limit is not None and (bound is None or limit < bound):
            bound = limit
    return bound


async def _parent_expiry(tx: Tx, kind: ParentKind, parent_id: str, now_us: int) -> int | None:
    if kind == "key":
        row = await tx.fetch_one(
            "SELECT expires_at, revoked_at FROM access_keys WHERE id = ?", (parent_id,)
        )
        return _active_until(row, now_us, kind)
    if kind == "session":
        row = await tx.fetch_one(
            "SELECT expires_at, revoked_at FROM oauth_sessions WHERE id = ?", (parent_id,)
        )
        return _active_until(row, now_us, kind)
    if kind == "user":
        row = await tx.fetch_one("SELECT disabled_at FROM users WHERE id = ?", (parent_id,))
        if row is None or row[0] is not None:
            raise ParentInactiveError("the minting user is disabled or deleted")
    elif kind == "client":
        if await tx.fetch_one("SELECT 1 FROM oauth_clients WHERE id = ?", (parent_id,)) is None:
            raise ParentInactiveError("the minting client is deleted")
    elif await tx.fetch_one("SELECT 1 FROM revoked_access_tokens WHERE jti = ?", (parent_id,)):
        raise ParentInactiveError("the minting token is revoked")
    return None


def _active_until(row: tuple[object, ...] | None, now_us: int, kind: str) -> int | None:
    if row is None or row[1] is not None:
        raise ParentInactiveError(f"the minting {kind} is revoked or gone")
    expires = row[0]
    if expires is None:
        return None
    if not isinstance(expires, int) or expires <= now_us:
        raise ParentInactiveError(f"the minting {kind} has expired")
    # A parent row holding an out-of-range instant (read clamped everywhere) must not pass
    # it on: the child gets the last representable instant instead.
    return min(expires, MAX_MICROS)


async def record_parent(tx: Tx, key_id: str, lineage: Lineage) -> None:
    await tx.executemany(
        "INSERT INTO access_key_parents (key_id, kind, parent_id) VALUES (?, ?, ?)",
        [(key_id, kind, parent_id) for kind, parent_id in lineage.links],
    )


async def revoke_minted(tx: Tx, kind: ParentKind, parent_id: str, when_us: int) -> int:
    """Revoke (and delete the secrets of) every key minted with the credential
    ``(kind, parent_id)``, and transitively what those keys minted. Returns how many keys
    were active and are revoked now."""
    revoked = await tx.execute(
        f"{_MINTED} UPDATE access_keys SET revoked_at = ?"
        " WHERE revoked_at IS NULL AND id IN (SELECT id FROM minted)",
        (kind, parent_id, when_us),
    )
    await tx.execute(
        f"{_MINTED} DELETE FROM access_key_secrets WHERE key_id IN (SELECT id FROM minted)",
        (kind, parent_id),
    )
    return revoked
