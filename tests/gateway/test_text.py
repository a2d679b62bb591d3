"""``gateway.text``: the character classes, side by side. They differ on purpose: a tab
is header text but not URL text, a space likewise, a lone surrogate (header bytes that
are not UTF-8) is sendable as it came but not kept."""

from __future__ import annotations

import pytest

from gateway.text import is_header_text, is_sendable_header_value, is_url_text


@pytest.mark.parametrize(
    ("value", "header_text", "sendable", "url_text"),
    [
        ("text/plain", True, True, True),
        ("", True, True, True),
        ("a b", True, True, False),  # a space
        ("a\tb", True, True, False),  # a tab
        ("caf\u00e9 \u2603", True, True, False),
        ("caf\u00e9", True, True, True),  # non-ASCII: percent-encoded when sent
        ("a\rb", False, False, False),
        ("a\nb", False, False, False),
        ("a\x00b", False, False, False),
        ("a\x1fb", False, False, False),
        ("a\x7fb", False, False, False),
        ("a\udcffb", False, True, True),  # a header byte that is not UTF-8
    ],
)
def test_each_class_admits_what_its_name_says(
    value: str, header_text: bool, sendable: bool, url_text: bool
) -> None:
    got = (is_header_text(value), is_sendable_header_value(value), is_url_text(value))
    assert got == (header_text, sendable, url_text)
