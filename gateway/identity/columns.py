"""Column conversions and small helpers shared by the OAuth sub-stores."""

from __future__ import annotations

import json
import secrets
import string
from datetime import datetime

from gateway.identity.models import from_micros

__all__ = ["as_int", "as_opt_time", "as_str", "as_time", "json_strs", "new_id"]

_ID_ALPHABET = string.ascii_uppercase + string.digits


def new_id(prefix: str) -> str:
    """``prefix`` + 20 uppercase letters/digits (~103 random bits)."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(20))


def as_int(value: object) -> int:
    if not isinstance(value, int):
        raise TypeError(f"expected an integer column, got {type(value).__name__}")
    return value


def as_str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a text column, got {type(value).__name__}")
    return value


def as_time(value: object) -> datetime:
    return from_micros(as_int(value))


def as_opt_time(value: object) -> datetime | None:
    return None if value is None else from_micros(as_int(value))


def json_strs(value: object) -> tuple[str, ...]:
    items = json.loads(as_str(value))
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise TypeError("expected a JSON array of strings")
    return tuple(items)
