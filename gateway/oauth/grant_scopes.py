"""Which scopes a token gets: requested ∩ the user's ∩ the client's.

Decision: on a new grant (password, client_credentials) the token gets the intersection,
as the design says: a requested scope the user or the client does not hold is left out,
and the response's ``scope`` tells the client what it got (RFC 6749 3.3 and 5.1).
``invalid_scope`` answers an unknown scope name, an empty ``scope`` or an empty
intersection. On a refresh (``strict``) a scope outside the original grant is an error,
as RFC 6749 section 6 requires. Without ``scope``, the token gets every scope both the
user and the client hold. ``admin`` grants every scope and ``write:objects``
includes ``delete:objects``, exactly as for access keys.

The ``scope`` parameter is split on spaces only (RFC 6749 3.3: space-delimited tokens of
printable ASCII); a tab or other whitespace is part of a token, so an unknown scope.
Repeated or surrounding spaces are tolerated.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.oauth.errors import OAuthError
from gateway.scopes import ALL_SCOPES, grants

__all__ = ["grantable", "held", "resolve_scopes"]


def held(scopes: Iterable[str], *holders: Iterable[str]) -> frozenset[str]:
    """The scopes of ``scopes`` that every one of ``holders`` grants (a grant narrowed to
    what its user and client hold now: refresh, introspection, a token's live scopes)."""
    sets = [frozenset(h) for h in holders]
    return frozenset(s for s in scopes if all(grants(h, s) for h in sets))


def grantable(*holders: Iterable[str]) -> frozenset[str]:
    """Every scope that all of ``holders`` grant."""
    sets = [frozenset(h) for h in holders]
    return held(frozenset().union(*sets) if sets else frozenset(), *sets)


def resolve_scopes(
    requested: str | None, *holders: Iterable[str], strict: bool = False
) -> frozenset[str]:
    """The scopes to grant, or ``invalid_scope``. ``strict``: refuse (rather than drop)
    requested scopes the holders do not grant."""
    if requested is None:
        result = grantable(*holders)
        if not result:
            raise OAuthError("invalid_scope", "No scope is granted to both the user and client")
        return result
    names = frozenset(name for name in requested.split(" ") if name)
    if not names:
        raise OAuthError("invalid_scope", "The scope parameter is empty")
    unknown = sorted(names - ALL_SCOPES)
    if unknown:
        # named by what may be asked, never by what was sent (a secret pasted into the
        # wrong field must not come back: docs/api.md)
        raise OAuthError(
            "invalid_scope", f"Unknown scope; the scopes are: {' '.join(sorted(ALL_SCOPES))}"
        )
    holder_sets = [frozenset(h) for h in holders]
    refused = sorted(s for s in names if not all(grants(h, s) for h in holder_sets))
    if refused and strict:
        raise OAuthError("invalid_scope", f"Scopes not granted: {' '.join(refused)}")
    granted = names.difference(refused)
    if not granted:
        raise OAuthError("invalid_scope", "None of the requested scopes can be granted")
    return granted
