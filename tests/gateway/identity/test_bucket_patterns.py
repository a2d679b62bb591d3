"""A key's bucket patterns (``key_rules.validate_buckets``) mean what they say to fnmatch,
which enforces them (``gateway.principal``, ``gateway.authz.decide``): a pattern fnmatch
would read as limiting the key to nothing, or to other buckets than written, is refused.

Before: ``[z-a]x`` was accepted (201), yet fnmatch drops a reversed range without a word,
so the key could reach no bucket (and ``[!z-a]x`` any bucket ending in ``x``).
"""

from __future__ import annotations

import fnmatch
import itertools
import re
import string

import pytest

from gateway.identity import key_rules

NAME_CHARS = string.ascii_lowercase + string.digits + ".-"
"""What a bucket name may hold."""
ALPHABET = "-.09amz"
"""Set members to combine: the ends and the middle of each kind of name character."""


def _refused(pattern: str) -> bool:
    try:
        key_rules.validate_buckets([pattern])
    except ValueError:
        return True
    return False


def _matched(pattern: str) -> set[str]:
    """The name characters fnmatch's reading of a one-character ``pattern`` matches."""
    compiled = re.compile(fnmatch.translate(pattern))
    return {c for c in NAME_CHARS if compiled.fullmatch(c)}


@pytest.mark.parametrize(
    "pattern",
    [
        "[z-a]x",  # the audit's case: matches nothing
        "logs-[z-a]",
        "[!z-a]x",  # fnmatch reads it as ?x: any bucket ending in x
        "[9-0]",
        "[.--]",  # "." (U+002E) is after "-" (U+002D)
        "[a--]",  # a range from "a" down to "-" for fnmatch, not "a", "-", "-"
        "[az-b]",  # matches "a" alone: z-b is dropped
        "[a-cz-b]",
        "[!-.0-9a-z]",  # every name character negated
        "[!--z]",  # "-" to "z" holds them all
        "logs-[!--z]*",
    ],
)
def test_a_set_with_a_reversed_range_or_no_name_character_is_refused(pattern: str) -> None:
    assert _refused(pattern)


@pytest.mark.parametrize(
    "pattern",
    ["[a-z]x", "[--a]", "[a-c-e]", "[-.]", "[!x]", "[!-]", "[0-9a-f]", "[.-z]", "[a-a]"],
)
def test_ascending_sets_of_name_characters_are_patterns(pattern: str) -> None:
    assert key_rules.validate_buckets([pattern]) == (pattern,)


def _sets() -> list[str]:
    return [
        f"[{negated}{''.join(members)}]"
        for size in range(1, 5)
        for members in itertools.product(ALPHABET, repeat=size)
        for negated in ("", "!")
    ]


def test_no_accepted_set_matches_nothing() -> None:
    """Every set of up to four members over ``ALPHABET``: a set fnmatch reads as matching
    no name character is refused (a key limited by it could reach no bucket)."""
    for pattern in _sets():
        if not _matched(pattern):
            assert _refused(pattern), pattern


def test_no_accepted_set_loses_a_member_it_writes() -> None:
    """A set with no reversed range matches each character written in it (a hyphen may
    be a range's operator); one whose written character fnmatch does not match lost a
    range fnmatch dropped (``[az-b]`` matches ``a`` alone), and is refused, negated or
    not."""
    for pattern in _sets():
        if pattern.startswith("[!"):
            continue
        written = set(pattern[1:-1]) - {"-"}
        if not written <= _matched(pattern):
            assert _refused(pattern), pattern
            assert _refused(f"[!{pattern[1:]}"), pattern


def test_an_accepted_set_is_read_as_fnmatch_reads_it() -> None:
    """Hyphens: ``x-y`` is a range whenever a character follows the hyphen, so
    ``[--a]`` is every character from ``-`` to ``a`` (fnmatch's reading, which enforces the
    limit), not ``-`` and ``a``."""
    assert _matched("[--a]") == set("-.0123456789a")
    assert not _refused("[--a]")
    assert _matched("[a-c-e]") == set("abc-e")
    assert not _refused("[a-c-e]")
