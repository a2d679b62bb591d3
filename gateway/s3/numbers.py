"""Decimal numbers a request writes out in full, read without ``int()`` failing on them.

Python refuses ``int()`` of a string of more than 4,300 digits (``ValueError``, the guard
against its quadratic conversion), and a header or query value of 8 KB holds 8,000: a
``Range``, ``partNumber``, copy range, lifecycle period or POST policy size of 5,000
digits answered 500 with a traceback (``tests/security/test_long_numbers.py``). Every
limit S3 applies to such a number is far below 19 digits, so a longer value is read as
``NUMBER_CAP`` (signed): it then gets the answer any out-of-range value gets (a range
past the end, ``InvalidArgument``, ``InvalidPolicyDocument``), and nothing converts more
than 19 digits.
"""

from __future__ import annotations

__all__ = ["NUMBER_CAP", "decimal", "xml_integer"]

NUMBER_CAP = 10**19
"""Larger than any 64-bit value: what a number of more than 19 significant digits reads as."""


def decimal(text: str) -> int:
    """The value of ``text``, ASCII digits with an optional sign (the caller matched
    them), capped at ``NUMBER_CAP`` in magnitude."""
    negative = text.startswith("-")
    significant = text.lstrip("+-").lstrip("0")
    value = NUMBER_CAP if len(significant) > 19 else int(significant or "0")
    return -value if negative else value


def xml_integer(text: str) -> int | None:
    """An integer element's text as S3 reads it: XML whitespace around an optional sign
    and ASCII digits (capped as :func:`decimal`); None for anything else. Python's
    ``int()`` also takes ``1_0`` (10) and other scripts' digits (``\u0661\u0660``, 10):
    a completion listing part ``1_0`` completed part 10, and an Object Lock ``Days`` of
    ``\u0661`` set one day, where S3 refuses both."""
    value = text.strip(" \t\r\n")
    digits = value[1:] if value[:1] in "+-" else value
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    return decimal(value)
