"""``gateway.auth.credentials``: the one rule of a credential header given twice, blank
copies aside (an empty ``X-API-Key`` or ``Authorization`` is no credential), for both
listeners' Bearer / ``X-API-Key`` and OAuth's Basic client authentication."""

from __future__ import annotations

import pytest

from gateway.auth.credentials import given, repeated


@pytest.mark.parametrize(
    ("values", "twice", "read"),
    [
        ((), False, None),
        (("a",), False, "a"),
        (("",), False, ""),  # given blank: read as sent, and no credential
        (("a", " "), False, "a"),  # a blank copy is none
        (("", "a"), False, "a"),  # first or second
        (("  ", ""), False, "  "),
        (("a", "b"), True, "a"),
        (("", "a", "b"), True, "a"),
    ],
)
def test_a_credential_header_given_twice_blank_copies_aside(
    values: tuple[str, ...], twice: bool, read: str | None
) -> None:
    assert (repeated(values), given(values)) == (twice, read)
