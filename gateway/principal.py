"""The authenticated caller, whatever credential it presented."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from gateway.scopes import grants

PrincipalKind = Literal["key", "user", "client", "anonymous"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an access key, an OAuth user or client (via JWT), or nobody.

    ``subject`` is the key id (``ak_...``), user id or client id. ``key_id`` is set when
    the credential was an access key. ``buckets`` limits the principal to those bucket
    names or ``*`` patterns; ``None`` means no limit. For an OAuth access token,
    ``token_id`` is its ``jti`` and ``session_id`` its refresh family (``sid``; ``None``
    for a client-credentials token): what a key minted with the token records as parent.
    """

    kind: PrincipalKind
    subject: str
    scopes: frozenset[str]
    key_id: str | None = None
    buckets: tuple[str, ...] | None = None
    expires_at: datetime | None = None
    client_id: str | None = None
    session_id: str | None = None
    token_id: str | None = None

    def has_scope(self, scope: str) -> bool:
        return grants(self.scopes, scope)

    def allows_bucket(self, bucket: str) -> bool:
        if self.buckets is None:
            return True
        return any(fnmatch.fnmatchcase(bucket, pattern) for pattern in self.buckets)


ANONYMOUS = Principal(kind="anonymous", subject="anonymous", scopes=frozenset())
