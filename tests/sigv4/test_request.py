"""``sigv4.request``: the one check of a header given twice (``repeated_header``), which
SigV4's single headers and the S3 listener's ``X-API-Key`` both go through."""

from __future__ import annotations

import pytest

from sigv4 import repeated_header

NAMES = frozenset({"authorization", "x-amz-date"})


@pytest.mark.parametrize(
    ("headers", "ignore_blank", "expected"),
    [
        ((("Host", "h"), ("X-Amz-Date", "1")), False, None),
        ((("Host", "h"), ("Host", "h")), False, None),  # not one of the names
        ((("x-amz-date", "1"), ("X-AMZ-DATE", "2")), False, "X-AMZ-DATE"),  # as spelled
        (
            (("X-Amz-Date", "1"), ("Authorization", "a"), ("authorization", "b")),
            False,
            "authorization",
        ),
        ((("Authorization", "a"), ("Authorization", " ")), False, "Authorization"),
        ((("Authorization", "a"), ("Authorization", " ")), True, None),  # a blank copy is none
        (
            (("Authorization", ""), ("Authorization", "a"), ("Authorization", "b")),
            True,
            "Authorization",
        ),
    ],
)
def test_repeated_header_names_the_first_header_given_twice(
    headers: tuple[tuple[str, str], ...], ignore_blank: bool, expected: str | None
) -> None:
    assert repeated_header(headers, NAMES, ignore_blank=ignore_blank) == expected
