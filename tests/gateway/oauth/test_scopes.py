"""``scope`` parameter parsing (RFC 6749 3.3): space-delimited, unknown names refused."""

from __future__ import annotations

import pytest

from gateway.oauth.errors import OAuthError
from gateway.oauth.scopes import resolve_scopes

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
