"""Who may see and manage which access keys, and what a caller may mint.

The rule: no request yields a credential with more rights than its caller, and no request
reaches into another account.

- A key belongs to its creator's account; nobody sees or manages another account's keys
  (they answer 404 like keys that do not exist). Inside an account, ``admin`` sees and
  manages every key of the account; anyone else the keys it created (``owner`` = its key
  id or user id) and the key it is calling with.
- Scopes: every requested scope must be granted by the caller's scopes (``admin`` grants
  all; ``write:objects`` grants ``delete:objects``).
- Buckets: a caller limited to bucket patterns mints only keys limited to patterns inside
  them; omitting ``buckets`` inherits the caller's limits.
- Expiry: no key outlives the credential that mints it (``lifetime``: an access key's
  ``expires_at``, a user token's refresh family's ``expires_at``, a client-credentials
  token's ``exp``); omitting ``expires_at`` inherits that bound. The state store checks
  the bound again, and records the parent so that revoking it revokes the key
  (:mod:`gateway.identity.lineage`).
- Rotation hands out a new secret, so it is checked like minting that key again.
- The root key belongs to the environment: never revoked or rotated through the API.
- Users and OAuth clients have no bucket limits and no expiry, so only a credential
  with neither creates them or widens one (its scopes, password, roles, re-enabling):
  a bucket-limited or expiring ``admin`` key would otherwise make a user whose password
  it knows and sign in as it, unlimited and for ever (``check_unbounded``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from datetime import datetime

from gateway.api.errors import ApiError, insufficient_scope
from gateway.identity.models import AccessKey
from gateway.principal import Principal
from gateway.scopes import ADMIN

__all__ = [
    "Grant",
    "can_see",
    "check_grant",
    "check_rotatable",
    "check_unbounded",
    "listed_owner",
    "outlives_parent",
    "pattern_within",
]

_WILDCARDS = frozenset("*?[")


def can_see(principal: Principal, key: AccessKey) -> bool:
    if key.account_id != principal.account_id:
        return False
    if principal.has_scope(ADMIN):
        return True
    return key.owner == principal.subject or key.id == principal.key_id


def listed_owner(principal: Principal) -> str | None:
    """Whose keys of the account a listing shows: every key (None) for ``admin``, else
    the caller's."""
    return None if principal.has_scope(ADMIN) else principal.subject


def pattern_within(inner: str, outer: str) -> bool:
    """Whether every bucket ``inner`` matches is also matched by ``outer`` (conservative:
    ``False`` when unsure). Handles names, equal patterns and ``prefix*`` outers."""
    if inner == outer or outer == "*":
        return True
    if not _WILDCARDS & set(inner):
        return fnmatch.fnmatchcase(inner, outer)
    if outer.endswith("*") and not _WILDCARDS & set(outer[:-1]):
        literal = inner[: min(inner.index(c) for c in _WILDCARDS if c in inner)]
        return literal.startswith(outer[:-1])
    return False


class Grant:
    """The buckets and expiry a new key gets once checked against its creator."""

    __slots__ = ("buckets", "expires_at")

    def __init__(self, buckets: tuple[str, ...] | None, expires_at: datetime | None) -> None:
        self.buckets = buckets
        self.expires_at = expires_at


def check_grant(
    principal: Principal,
    scopes: Sequence[str],
    buckets: Sequence[str] | None,
    expires_at: datetime | None,
    *,
    lifetime: datetime | None,
) -> Grant:
    """Refuse (403) a key the caller could not hold itself; fill inherited limits.
    ``lifetime`` is when the caller's credential ends (``None``: never)."""
    for scope in sorted(scopes):
        if not principal.has_scope(scope):
            message = f"You cannot grant the '{scope}' scope: your credential does not hold it"
            raise ApiError(
                403,
                "ScopeRequired",
                message,
                {"required_scope": scope, "field": "scopes"},
                headers=insufficient_scope(scope, message),
            )
    effective_buckets = None if buckets is None else tuple(buckets)
    if principal.buckets is not None:
        if effective_buckets is None:
            effective_buckets = principal.buckets
        outside = [
            b
            for b in effective_buckets
            if not any(pattern_within(b, mine) for mine in principal.buckets)
        ]
        if outside:
            raise ApiError(
                403,
                "AccessDenied",
                "The requested buckets are outside your credential's bucket limits",
                {"field": "buckets"},
            )
    effective_expiry = expires_at
    if lifetime is not None:
        if effective_expiry is None:
            effective_expiry = lifetime
        elif effective_expiry > lifetime:
            raise outlives_parent()
    return Grant(effective_buckets, effective_expiry)


def outlives_parent() -> ApiError:
    return ApiError(
        403,
        "AccessDenied",
        "A key cannot outlive the credential that creates it",
        {"field": "expires_at"},
    )


def check_rotatable(principal: Principal, key: AccessKey, *, lifetime: datetime | None) -> None:
    """Rotating gives the caller ``key``'s new secret: refuse what minting would refuse."""
    if key.is_root:
        raise ApiError(
            409,
            "Conflict",
            "The root key is managed by the environment (NFYIO_ROOT_ACCESS_KEY / "
            "NFYIO_ROOT_SECRET_KEY) and cannot be rotated through the API",
        )
    grant = check_grant(
        principal, sorted(key.scopes), key.buckets, key.expires_at, lifetime=lifetime
    )
    if key.buckets is None and grant.buckets is not None:
        raise ApiError(
            403,
            "AccessDenied",
            "The key is not limited to your buckets; you cannot rotate it",
            {"field": "buckets"},
        )
    if key.expires_at is None and grant.expires_at is not None:
        raise ApiError(
            403,
            "AccessDenied",
            "The key outlives your credential; you cannot rotate it",
            {"field": "expires_at"},
        )


def check_unbounded(principal: Principal, what: str) -> None:
    """Refuse (403) to create or widen a user or OAuth client for a caller whose rights
    are narrower than what it would make: a bucket-limited credential (users and clients
    reach every bucket of the account) or an access key that expires (they do not)."""
    if principal.buckets is not None:
        raise ApiError(
            403,
            "AccessDenied",
            f"A bucket-limited credential cannot create or change {what}: they are not"
            " limited to buckets",
            {"field": "buckets"},
        )
    if principal.kind == "key" and principal.expires_at is not None:
        raise ApiError(
            403,
            "AccessDenied",
            f"An expiring access key cannot create or change {what}: they do not expire",
            {"field": "expires_at"},
        )
