"""How many buckets, access keys, users and OAuth clients one account may have.

An account's admin (a tenant) creates these through ``/v1`` (buckets through S3 too);
without a bound one admin key could grow the state store without end. Buckets are
counted by ``BucketSettingsStore.claim_owner`` (their owner settings), the rest here:
the creating transaction counts the account's rows first (``<table>_by_account``
index) and refuses past the limit, so the count is exact: under SQLite's writer lock,
and ``SERIALIZABLE`` on PostgreSQL, where a creation racing another one fails to
serialise and is retried. Only what can still act counts: keys neither revoked nor
expired; users and clients until deleted.

The operator's own paths (``nfyio-gateway keys create``, the bootstrap root key, an
account's first admin key) pass no limit. Cost: one indexed count per creation.
"""

from __future__ import annotations

from gateway.identity.db import Tx

__all__ = ["AccountLimitReached", "check_room"]

_COUNTS = {
    "access keys": (
        "SELECT count(*) FROM access_keys WHERE account_id = ? AND revoked_at IS NULL"
        " AND (expires_at IS NULL OR expires_at > ?)"
    ),
    "users": "SELECT count(*) FROM users WHERE account_id = ?",
    "OAuth clients": "SELECT count(*) FROM oauth_clients WHERE account_id = ?",
}
"""What is counted, by the name an error gives it; the parameters are the account's id
and, for keys, the instant they are judged expired at (``check_room``'s ``params``)."""


class AccountLimitReached(Exception):
    """A creation refused: the account has ``most`` of ``what`` already. The API answers
    409 ``Conflict`` (``gateway/api/errors.py``); CreateBucket ``TooManyBuckets``."""

    def __init__(self, what: str, most: int) -> None:
        super().__init__(f"the account has {most} {what} already, as many as it may")
        self.what = what
        self.most = most


async def check_room(tx: Tx, what: str, most: int | None, *params: str | int) -> None:
    """Raise :class:`AccountLimitReached` when the account has ``most`` of ``what``
    (``params``: those ``_COUNTS[what]`` takes). ``most`` None: no limit."""
    if most is None:
        return
    row = await tx.fetch_one(_COUNTS[what], params)
    if row is not None and int(row[0]) >= most:
        raise AccountLimitReached(what, most)
