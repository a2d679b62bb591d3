"""POST policy documents: parsing one and checking a form against it. Pure, no I/O.

A policy is base64 JSON ``{"expiration": "<ISO 8601>", "conditions": [...]}``. Each
condition is one of:

- ``{"field": "value"}``: exact match (several names in one object: several matches);
- ``["eq", "$field", "value"]``: the same;
- ``["starts-with", "$field", "prefix"]`` (``""``: any value; for ``Content-Type`` a
  comma-separated list must have every item start with the prefix);
- ``["content-length-range", min, max]``: the file's size in bytes, checked while it
  streams.

Field names compare case-insensitively; values exactly. ``bucket`` is matched against
the bucket the form was posted to. A field the form does not send reads as ``""``.

**Every form field is hostile until a condition names it**: a field other than
``policy``, ``file``, the signature fields and ``x-ignore-*`` that no condition names is
refused (``Invalid according to Policy: Extra input fields``), so nothing unsigned can
reach the stored object. Errors are AWS's: ``InvalidPolicyDocument`` (400) for a document
that cannot be read, ``AccessDenied`` (403) ``Invalid according to Policy: ...`` for a
form the policy does not allow.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.s3.errors import S3Error
from gateway.s3.numbers import decimal

__all__ = ["Condition", "PostPolicy", "check_policy", "parse_policy"]

_EXPIRATION = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z")
_MAX_SIZE = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Condition:
    operation: str
    """``eq``, ``starts-with`` or ``content-length-range``."""
    field: str
    """Lower-case form field name (``content-length-range``: empty)."""
    value: str = ""
    low: int = 0
    high: int = _MAX_SIZE
    text: str = ""
    """The condition as written in the policy, for error messages."""


@dataclass(frozen=True, slots=True)
class PostPolicy:
    expiration: datetime
    conditions: tuple[Condition, ...]

    @property
    def length_range(self) -> tuple[int, int] | None:
        """The allowed file sizes (the intersection of every ``content-length-range``)."""
        ranges = [c for c in self.conditions if c.operation == "content-length-range"]
        if not ranges:
            return None
        return max(c.low for c in ranges), min(c.high for c in ranges)

    def names(self) -> frozenset[str]:
        return frozenset(c.field for c in self.conditions if c.field)


def _invalid(message: str) -> S3Error:
    return S3Error("InvalidPolicyDocument", f"Invalid Policy: {message}")


def _expiration(value: object) -> datetime:
    found = _EXPIRATION.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        raise _invalid(f"Invalid 'expiration' value: '{value}'")
    year, month, day, hour, minute, second = (int(g) for g in found.groups()[:6])
    fraction = found.group(7) or "0"
    try:
        return datetime(
            year, month, day, hour, minute, second, int(fraction[:6].ljust(6, "0")), tzinfo=UTC
        )
    except ValueError:
        raise _invalid(f"Invalid 'expiration' value: '{value}'") from None


def _size(value: object) -> int:
    if isinstance(value, bool):
        raise _invalid("Invalid content-length-range values")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = decimal(value)
    else:
        raise _invalid("Invalid content-length-range values")
    if not 0 <= number <= _MAX_SIZE:
        raise _invalid("Invalid content-length-range values")
    return number


def _text(item: Any) -> str:
    return json.dumps(item, separators=(", ", ": "), ensure_ascii=False)


def _conditions_of(item: object) -> list[Condition]:
    if isinstance(item, dict):
        if not item:
            raise _invalid("Invalid Simple-Condition: empty")
        found = []
        for name, value in item.items():
            if not isinstance(value, str):
                raise _invalid("Invalid Simple-Condition: value must be a string.")
            field = name.lower().removeprefix("$")
            found.append(Condition("eq", field, value, text=_text({name: value})))
        return found
    if not isinstance(item, list) or not item or not isinstance(item[0], str):
        raise _invalid("Invalid Condition: conditions must be objects or arrays")
    operation = item[0].lower()
    if operation == "content-length-range":
        if len(item) != 3:
            raise _invalid("Invalid content-length-range: expected [min, max]")
        low, high = _size(item[1]), _size(item[2])
        if low > high:
            raise _invalid("Invalid content-length-range: minimum above maximum")
        return [Condition(operation, "", low=low, high=high, text=_text(item))]
    if operation not in ("eq", "starts-with"):
        raise _invalid(f"Invalid Condition: unknown operation '{item[0]}'")
    if len(item) != 3 or not isinstance(item[1], str) or not isinstance(item[2], str):
        raise _invalid(f'Invalid {item[0]} condition: expected [operation, "$field", "value"]')
    if not item[1].startswith("$") or len(item[1]) < 2:
        raise _invalid(f"Invalid {item[0]} condition: the field must start with '$'")
    return [Condition(operation, item[1][1:].lower(), item[2], text=_text(item))]


def parse_policy(encoded: str) -> PostPolicy:
    """The ``policy`` form field, decoded; ``InvalidPolicyDocument`` for anything else."""
    try:
        raw = base64.b64decode("".join(encoded.split()), validate=True)
        document = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: nesting past the interpreter's limit (a few KB of "["), which
        # json raises instead of a ValueError (tests/security/test_nested_json.py)
        raise _invalid("Invalid JSON.") from None
    if not isinstance(document, dict):
        raise _invalid("Invalid JSON.")
    if "expiration" not in document:
        raise _invalid("Policy missing expiration.")
    expiration = _expiration(document["expiration"])
    conditions = document.get("conditions")
    if conditions is None:
        raise _invalid("Policy missing conditions.")
    if not isinstance(conditions, list):
        raise _invalid("Invalid 'conditions' value: must be a list")
    unknown = set(document) - {"expiration", "conditions"}
    if unknown:
        raise _invalid(f"Unexpected field '{sorted(unknown)[0]}'")
    parsed: list[Condition] = []
    for item in conditions:
        parsed.extend(_conditions_of(item))
    return PostPolicy(expiration, tuple(parsed))


def _denied(reason: str) -> S3Error:
    return S3Error("AccessDenied", f"Invalid according to Policy: {reason}")


def _holds(condition: Condition, value: str) -> bool:
    if condition.operation == "eq":
        return value == condition.value
    if condition.field == "content-type" and "," in value:
        return all(part.strip().startswith(condition.value) for part in value.split(","))
    return value.startswith(condition.value)


def check_policy(
    policy: PostPolicy,
    fields: Mapping[str, str],
    *,
    bucket: str,
    now: datetime,
    exempt: frozenset[str],
) -> None:
    """``AccessDenied`` unless the policy is unexpired, every condition holds for
    ``fields`` (lower-case names, as sent) and every field but ``exempt`` and
    ``x-ignore-*`` is named by a condition. The file's size is checked as it streams
    (:attr:`PostPolicy.length_range`)."""
    if now >= policy.expiration:
        raise _denied("Policy expired.")
    for condition in policy.conditions:
        if condition.operation == "content-length-range":
            continue
        value = bucket if condition.field == "bucket" else fields.get(condition.field, "")
        if not _holds(condition, value):
            raise _denied(f"Policy Condition failed: {condition.text}")
    named = policy.names()
    extra = sorted(
        name
        for name in fields
        if name not in exempt and name not in named and not name.startswith("x-ignore-")
    )
    if extra:
        raise _denied(f"Extra input fields: {', '.join(extra)}")
