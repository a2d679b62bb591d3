"""The gateway's own source as text, for the accounting tests: a name botocore's S3 model
can send (a header, a query parameter, a body element) counts as read where it appears,
quoted, in the code that serves requests. The routing tables of
``gateway/s3/operations.py`` do not count: naming a parameter there is not reading it."""

from __future__ import annotations

import functools
import re
from pathlib import Path

__all__ = ["quoted_in_source"]

REPO = Path(__file__).resolve().parents[2]


@functools.cache
def _source() -> str:
    return "\n".join(
        path.read_text()
        for package in ("gateway", "backends", "sigv4")
        for path in (REPO / package).rglob("*.py")
        if path.name != "operations.py"
    )


@functools.cache
def _lower_source() -> str:
    return _source().lower()


def quoted_in_source(name: str, *, case_sensitive: bool = True) -> bool:
    """Whether ``name`` appears in quotes in the serving code (header names are compared
    in lower case: HTTP names are case-insensitive)."""
    text = _source() if case_sensitive else _lower_source()
    return re.search(rf"[\"']{re.escape(name)}[\"']", text) is not None
