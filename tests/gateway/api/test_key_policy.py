"""Bucket pattern containment: conservative, never claims a wider pattern fits."""

from __future__ import annotations

import fnmatch
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.api.key_policy import pattern_within


@pytest.mark.parametrize(
    ("inner", "outer", "expected"),
    [
        ("a", "a", True),
        ("a", "a*", True),
        ("abc", "a*", True),
        ("ab*", "a*", True),
        ("a*", "a*", True),
        ("a*", "ab*", False),
        ("*", "a*", False),
        ("b", "a*", False),
        ("x?", "x*", True),
        ("x[ab]", "x*", True),
        ("[ab]x", "a*", False),
        ("anything*", "*", True),
        ("a?c", "a?c", True),
        ("abc", "a?c", True),
        ("a*c", "a?c", False),
        ("a*", "a", False),
    ],
)
def test_pattern_within(inner: str, outer: str, expected: bool) -> None:
    assert pattern_within(inner, outer) is expected


_CHARS = string.ascii_lowercase[:3] + "*?"


@given(
    st.text(_CHARS, min_size=1, max_size=5),
    st.text(_CHARS, min_size=1, max_size=5),
    st.text(string.ascii_lowercase[:3], min_size=1, max_size=6),
)
def test_containment_is_sound(inner: str, outer: str, name: str) -> None:
    """If ``inner`` is judged within ``outer``, no name matches inner but not outer."""
    if pattern_within(inner, outer) and fnmatch.fnmatchcase(name, inner):
        assert fnmatch.fnmatchcase(name, outer)
