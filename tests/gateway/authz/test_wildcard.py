"""IAM wildcard patterns and policy variables."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.authz.wildcard import VariableError, parse_glob


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("abc", "abc", True),
        ("abc", "abcd", False),
        ("a*", "a", True),
        ("a*", "a/b/c", True),
        ("*c", "abc", True),
        ("a*c", "ab/c", True),
        ("a*c", "abd", False),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("a?c", "a/c", True),
        ("*", "", True),
        ("?", "", False),
        ("a.b", "axb", False),
        ("a[b]", "a[b]", True),
        ("a\\b", "a\\b", True),
        ("(x)+", "(x)+", True),
        ("a\nb*", "a\nbc", True),
        # runs between stars never overlap one another, nor the first or last run
        ("*ab*ab*", "xab", False),
        ("*ab*ab*", "abab", True),
        ("*ab*ba*", "aba", False),
        ("*ab*ba*", "abba", True),
        ("ab*ba", "aba", False),
        ("a*ab*b", "ab", False),
        ("*a?*?a*", "aba", False),
    ],
)
def test_glob(pattern: str, value: str, matches: bool) -> None:
    assert parse_glob(pattern).matches(value) is matches


def test_ignore_case() -> None:
    assert parse_glob("s3:Get*", ignore_case=True).matches("S3:GETOBJECT")
    assert not parse_glob("s3:Get*").matches("S3:GETOBJECT")


def test_literal_mode_takes_wildcards_literally() -> None:
    glob = parse_glob("a*?", wildcards=False)
    assert glob.matches("a*?")
    assert not glob.matches("abc")
    assert glob.is_fixed


def test_variables() -> None:
    glob = parse_glob("home/${aws:username}/*", variables=True)
    assert glob.variables == ("aws:username",)
    assert not glob.is_fixed
    assert glob.matches("home/alice/x", lambda name: {"aws:username": "alice"}.get(name))
    assert not glob.matches("home/alice/x", lambda name: None)
    assert not glob.matches("home/alice/x")
    assert glob.widened().matches("home/anyone/x")


def test_escapes_are_literal() -> None:
    glob = parse_glob("${*}${?}${$}", variables=True)
    assert glob.matches("*?$")
    assert not glob.matches("ab$")
    assert glob.is_fixed


def test_without_variables_dollar_braces_are_text() -> None:
    assert parse_glob("${aws:username}").matches("${aws:username}")


def test_unknown_variable() -> None:
    with pytest.raises(VariableError):
        parse_glob("${aws:nope}", variables=True, is_known_variable=lambda name: False)
    with pytest.raises(VariableError):
        parse_glob("${}", variables=True)


@pytest.mark.parametrize(
    ("pattern", "prefix", "possible"),
    [
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/", True),
        ("arn:aws:s3:::b", "arn:aws:s3:::b/", False),
        ("arn:aws:s3:::*", "arn:aws:s3:::b/", True),
        ("arn:aws:s3:::b?", "arn:aws:s3:::b/", True),  # "b/" itself
        ("arn:aws:s3:::bc?", "arn:aws:s3:::b/", False),
        ("arn:aws:s3:::b??", "arn:aws:s3:::b/", True),
        ("arn:aws:s3:::other/*", "arn:aws:s3:::b/", False),
        ("arn:aws:s3:::b*x", "arn:aws:s3:::b/", True),
        ("arn:aws:s3:::${aws:username}", "arn:aws:s3:::b/", True),
    ],
)
def test_could_match_prefix(pattern: str, prefix: str, possible: bool) -> None:
    assert parse_glob(pattern, variables=True).could_match_prefix(prefix) is possible


def _reference(pattern: str, value: str) -> bool:
    """A matcher written independently: recursion over both strings."""

    @cache
    def go(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(value)
        if pattern[i] == "*":
            return go(i + 1, j) or (j < len(value) and go(i, j + 1))
        if j == len(value):
            return False
        return (pattern[i] == "?" or pattern[i] == value[j]) and go(i + 1, j + 1)

    return go(0, 0)


ALPHABET = st.sampled_from("ab/*?.")


@given(st.text(ALPHABET, max_size=8), st.text(st.sampled_from("ab/.*?"), max_size=8))
def test_glob_agrees_with_a_reference_matcher(pattern: str, value: str) -> None:
    assert parse_glob(pattern).matches(value) is _reference(pattern, value)


@given(st.text(ALPHABET, max_size=5), st.text(st.sampled_from("ab/."), max_size=6))
def test_could_match_prefix_agrees_with_matching(pattern: str, prefix: str) -> None:
    """Some value with the prefix matches iff ``could_match_prefix`` says so. A pattern
    of n characters over ``ab/.*?`` that can match a completion can match one of at most
    n more characters over ``ab/.``, so enumerating those decides it."""
    glob = parse_glob(pattern)
    suffixes = [""]
    for _ in range(len(pattern)):
        suffixes = list(dict.fromkeys(suffixes + [s + c for s in suffixes for c in "ab/."]))
    witnessed = any(glob.matches(prefix + s) for s in suffixes)
    assert glob.could_match_prefix(prefix) is witnessed


@given(
    st.text(ALPHABET, max_size=6),
    st.text(st.sampled_from("ab/."), max_size=3),
    st.text(ALPHABET, max_size=4),
    st.text(st.sampled_from("ab/.*?"), max_size=10),
)
def test_a_resolved_variable_matches_as_its_literal_text(
    before: str, name: str, after: str, value: str
) -> None:
    """A variable's value joins the literal runs (``str.find``) as any literal text does:
    the same answers as the pattern with that text written in."""
    glob = parse_glob(before + "${v}" + after, variables=True)
    assert glob.matches(value, {"v": name}.get) is _reference(before + name + after, value)


@given(st.text(ALPHABET, max_size=8), st.text(st.sampled_from("aAbB/.*?"), max_size=8))
def test_ignore_case_agrees_with_the_reference_on_lowered_text(pattern: str, value: str) -> None:
    glob = parse_glob(pattern.upper(), ignore_case=True)
    assert glob.matches(value) is _reference(pattern, value.lower())
