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

__all__ = ["NUMBER_CAP", "decimal"]

NUMBER_CAP = 10**19
"""Larger than any 64-bit value: what a number of more than 19 significant digits reads as."""


def decimal(text: str) -> int:
    """The value of ``text``, ASCII digits with an optional sign (the caller matched
    them), capped at ``NUMBER_CAP`` in magnitude."""
    negative = text.startswith("-")
    significant = text.lstrip("+-").lstrip("0")
    value = NUMBER_CAP if len(significant) > 19 else int(significant or "0")
    return -value if negative else value
