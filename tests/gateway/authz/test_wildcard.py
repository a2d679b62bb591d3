"""IAM wildcard patterns and policy variables."""

from __future__ import annotations

from collections.abc import Callable
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


# --- policy variables with a default value: ${key, 'default'} ------------------------------


def _names(**values: str) -> Callable[[str], str | None]:
    """A resolver reading keys case-insensitively, as the policy's does (``lookup_key``)."""
    lowered = {name.lower(): value for name, value in values.items()}
    return lambda name: lowered.get(name.lower())


def test_a_default_stands_for_a_variable_without_a_value() -> None:
    glob = parse_glob("home/${aws:username, 'guest'}/*", variables=True)
    assert glob.variables == ("aws:username",)
    assert glob.defaults == ("guest",)
    assert not glob.is_fixed
    # The request's value when it has one; the default only when it has none.
    alice = _names(**{"aws:username": "alice"})
    assert glob.matches("home/alice/x", alice)
    assert not glob.matches("home/guest/x", alice)
    assert glob.matches("home/guest/x", lambda name: None)
    assert not glob.matches("home/alice/x", lambda name: None)
    assert glob.matches("home/guest/x")  # no resolver: no value either
    assert not glob.matches("home/Guest/x")  # the default keeps its case


def test_the_key_of_a_variable_with_a_default_is_any_case() -> None:
    glob = parse_glob("${AWS:UserName, 'guest'}", variables=True, is_known_variable=_known)
    assert glob.variables == ("AWS:UserName",)
    assert glob.matches("alice", _names(**{"aws:username": "alice"}))
    assert glob.matches("guest", _names())


def _known(name: str) -> bool:
    return name.lower() in ("aws:username", "aws:userid")


@pytest.mark.parametrize(
    ("pattern", "default"),
    [
        ("${aws:username, 'guest'}", "guest"),
        ("${aws:username,'guest'}", "guest"),
        ("${ aws:username ,  'guest'  }", "guest"),
        ("${aws:username, ''}", ""),
        ("${aws:username, 'it''s'}", "it's"),
        ("${aws:username, ''''}", "'"),
        ("${aws:username, 'a''''b'}", "a''b"),
        ("${aws:username, 'a b, c'}", "a b, c"),
        ("${aws:username, 'a}b'}", "a}b"),
        ("${aws:username, '${aws:userid}'}", "${aws:userid}"),
        ("${aws:username, '${*}'}", "${*}"),
        ("${aws:username, '*?'}", "*?"),
        ("${aws:username, 'Guest'}", "Guest"),
    ],
)
def test_default_forms(pattern: str, default: str) -> None:
    """Spaces around the key and the quoted default are ignored, ``''`` is one quote, and
    the rest of the default is literal text: one round of substitution, no wildcard."""
    glob = parse_glob("x/" + pattern + "/y", variables=True, is_known_variable=_known)
    assert glob.defaults == (default,)
    assert glob.matches(f"x/{default}/y")
    assert not glob.matches(f"x/{default}z/y")


@pytest.mark.parametrize("wildcards", [True, False])
def test_a_star_in_a_default_is_literal(wildcards: bool) -> None:
    """``StringLike`` (wildcards) and ``StringEquals`` alike: the default is text."""
    glob = parse_glob("home/${aws:username, 'a*?'}/k", variables=True, wildcards=wildcards)
    assert glob.matches("home/a*?/k")
    assert not glob.matches("home/abc/k")
    assert not glob.matches("home/a*x/k")
    assert not glob.matches("home/a/b/k")


def test_defaults_follow_their_variables() -> None:
    glob = parse_glob(
        "${aws:username}/${aws:userid, 'nobody'}/${aws:username, 'x'}*", variables=True
    )
    assert glob.variables == ("aws:username", "aws:userid", "aws:username")
    assert glob.defaults == (None, "nobody", "x")
    both = _names(**{"aws:username": "al", "aws:userid": "u1"})
    assert glob.matches("al/u1/al-more", both)
    only_name = _names(**{"aws:username": "al"})
    assert glob.matches("al/nobody/al", only_name)
    assert not glob.matches("al/u1/al", only_name)
    # The first variable has no default: without its value nothing matches.
    assert not glob.matches("x/nobody/x", _names())


def test_an_ignore_case_pattern_compares_its_default_without_case() -> None:
    glob = parse_glob("${aws:username, 'Guest'}", variables=True, ignore_case=True)
    assert glob.matches("GUEST")
    assert glob.matches("guest")


@pytest.mark.parametrize(
    "pattern",
    [
        "${aws:username, 'guest}",  # unterminated quote
        "${aws:username, 'guest''}",  # the quote escaped, then unterminated
        "${aws:username, guest}",  # no quotes
        '${aws:username, "guest"}',  # double quotes
        "${aws:username, 'guest' x}",  # text after the closing quote
        "${aws:username, 'guest''x}",
        "${aws:username, 'a', 'b'}",
        "${aws:username, }",
        "${aws:username,}",
        "${, 'guest'}",  # empty key
        "${ , 'guest'}",
        "${*, 'guest'}",  # an escape takes no default
        "${aws:nope, 'guest'}",  # an unknown key, default or not
    ],
)
def test_malformed_defaults_are_refused(pattern: str) -> None:
    with pytest.raises(VariableError):
        parse_glob("home/" + pattern + "/*", variables=True, is_known_variable=_known)


def test_without_variables_a_default_is_text() -> None:
    """2008-10-17 policies: ``${...}`` is plain text, a default's quotes too."""
    glob = parse_glob("${aws:username, 'guest'}")
    assert glob.matches("${aws:username, 'guest'}")
    assert glob.is_fixed


def test_a_default_widens_as_its_variable() -> None:
    """A variable with a default takes its default or any value: ``*`` for the checks of
    what a resource can name."""
    glob = parse_glob("arn:aws:s3:::b/home/${aws:username, 'guest'}/*", variables=True)
    wide = glob.widened()
    assert wide.matches("arn:aws:s3:::b/home/guest/x")
    assert wide.matches("arn:aws:s3:::b/home/anyone/x")
    assert glob.could_match_prefix("arn:aws:s3:::b/")
    assert parse_glob("arn:aws:s3:::${aws:username, 'b'}", variables=True).could_match_prefix(
        "arn:aws:s3:::other/"
    )


def test_patterns_differing_in_their_default_differ() -> None:
    one = parse_glob("${aws:username, 'a'}", variables=True)
    assert one != parse_glob("${aws:username, 'b'}", variables=True)
    assert one == parse_glob("${aws:username, 'a'}", variables=True)
    assert hash(one) == hash(parse_glob("${aws:username, 'a'}", variables=True))


@given(
    st.text(ALPHABET, max_size=6),
    st.text(st.sampled_from("ab/.*?'"), max_size=4),
    st.text(ALPHABET, max_size=4),
    st.text(st.sampled_from("ab/.*?'"), max_size=10),
)
def test_a_default_matches_as_its_literal_text(
    before: str, default: str, after: str, value: str
) -> None:
    """The default, quoted with ``''`` for each ``'``, matches as the pattern with that
    text written in with its ``*`` and ``?`` escaped: exactly as a variable's value."""
    quoted = default.replace("'", "''")
    glob = parse_glob(before + "${v, '" + quoted + "'}" + after, variables=True)
    assert glob.defaults == (default,)
    escaped = "".join("${" + c + "}" if c in "*?" else c for c in default)
    written = parse_glob(before + escaped + after, variables=True)
    assert glob.matches(value) is written.matches(value)
    assert glob.matches(value, {"v": default}.get) is written.matches(value)
