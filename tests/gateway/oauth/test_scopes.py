"""``scope`` parameter parsing (RFC 6749 3.3): space-delimited, unknown names refused."""

from __future__ import annotations

import pytest

from gateway.oauth.errors import OAuthError
from gateway.oauth.grant_scopes import resolve_scopes

HOLDER = ["admin"]


def test_scopes_are_split_on_spaces_only() -> None:
    assert resolve_scopes("  read:objects   write:objects ", HOLDER) == {
        "read:objects",
        "write:objects",
    }
    # A tab (or any whitespace other than a space) is not a delimiter: the token is unknown,
    # as OpenAPI's pattern for `scope` says (found by schemathesis' negative tests).
    for requested in ("read:objects\twrite:objects", "read:objects\nadmin", "admin\u2003"):
        with pytest.raises(OAuthError) as caught:
            resolve_scopes(requested, HOLDER)
        assert caught.value.error == "invalid_scope"


def test_only_spaces_is_an_empty_scope() -> None:
    with pytest.raises(OAuthError) as caught:
        resolve_scopes("   ", HOLDER)
    assert caught.value.error == "invalid_scope"


def test_a_new_grant_gets_the_intersection() -> None:
    """requested ∩ user's ∩ client's: scopes one side lacks are left out, not refused."""
    user = ["read:objects", "write:objects", "read:buckets"]
    client = ["read:objects", "read:buckets"]
    granted = resolve_scopes("read:objects write:objects admin", user, client)
    assert granted == {"read:objects"}
    # write:objects implies delete:objects for both holders
    assert resolve_scopes("delete:objects", ["write:objects"], ["admin"]) == {"delete:objects"}


def test_an_empty_intersection_is_invalid_scope() -> None:
    with pytest.raises(OAuthError) as caught:
        resolve_scopes("admin", ["read:objects"], ["read:objects"])
    assert caught.value.error == "invalid_scope"


def test_a_refresh_may_not_widen_the_grant() -> None:
    """RFC 6749 section 6: strict mode refuses a scope outside the original grant."""
    with pytest.raises(OAuthError) as caught:
        resolve_scopes("read:objects write:objects", ["read:objects"], strict=True)
    assert caught.value.error == "invalid_scope"
    assert resolve_scopes("read:objects", ["read:objects"], strict=True) == {"read:objects"}
