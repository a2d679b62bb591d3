"""``sigv4.request``: the one check of a SigV4 header given twice (``repeated_header``);
every copy counts, a blank one too."""

from __future__ import annotations

import pytest

from sigv4 import repeated_header

NAMES = frozenset({"authorization", "x-amz-date"})


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ((("Host", "h"), ("X-Amz-Date", "1")), None),
        ((("Host", "h"), ("Host", "h")), None),  # not one of the names
        ((("x-amz-date", "1"), ("X-AMZ-DATE", "2")), "X-AMZ-DATE"),  # as spelled
        ((("X-Amz-Date", "1"), ("Authorization", "a"), ("authorization", "b")), "authorization"),
        ((("Authorization", "a"), ("Authorization", " ")), "Authorization"),  # blank counts
        ((("Authorization", ""), ("Authorization", "a")), "Authorization"),
    ],
)
def test_repeated_header_names_the_first_header_given_twice(
    headers: tuple[tuple[str, str], ...], expected: str | None
) -> None:
    assert repeated_header(headers, NAMES) == expected
