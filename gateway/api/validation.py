"""Request bodies and query parameters of the ``/v1`` API, checked field by field.

Rules (documented in ``docs/api.md``):

- A body is JSON: a ``Content-Type`` other than ``application/json``, or a
  ``Content-Encoding`` other than ``identity`` (bodies are never decompressed here), is 415
  ``UnsupportedMediaType``; a body that is not UTF-8 (UTF-16 and UTF-32, which Python's
  parser would take, included; a UTF-8 byte order mark is ignored), that does not
  parse (including ``NaN``/``Infinity``
  and nesting deeper than the parser's recursion limit), is not an object, or names a
  member twice at any depth (parsers disagree on which one wins), is 400
  ``InvalidRequest``.
- Strings are Unicode text: an escaped unpaired surrogate (``"\\ud800"``), which no
  UTF-8 encoder accepts, is 400 ``ValidationError`` naming the top-level field that holds
  it, before any handler sees it.
- A field of the wrong type or value is 400 ``ValidationError`` with ``details.field``.
- Unknown fields are rejected (``ValidationError`` naming the field): a misspelt
  ``"scope"`` or ``"bucket"`` must not silently produce a key with more rights than meant.
- A ``PATCH`` whose body changes nothing (no member, or only ``null`` members where
  ``null`` means "unchanged") is 400 ``ValidationError`` "Nothing to update" with
  ``details.fields`` (:func:`nothing_to_update`), on every update route alike: a 200
  would record a successful change that never happened in the audit log.
- Error messages never echo a submitted value (it might be a secret pasted by mistake).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from gateway.api.errors import ApiError
from gateway.identity.models import parse_instant
from gateway.text import is_header_text

__all__ = [
    "check_identity_encoding",
    "header_text",
    "invalid",
    "nothing_to_update",
    "optional_bool",
    "optional_datetime",
    "optional_int",
    "optional_str_list",
    "query_bool",
    "query_limit",
    "read_json_object",
    "required_str",
]


def invalid(field: str, message: str) -> ApiError:
    return ApiError(400, "ValidationError", message, {"field": field})


def nothing_to_update(fields: Iterable[str]) -> ApiError:
    """The answer to an update whose body names none of the route's ``fields``."""
    names = sorted(fields)
    return ApiError(
        400,
        "ValidationError",
        f"Nothing to update: give at least one of {', '.join(names)}",
        {"fields": names},
    )


def _not_json(constant: str) -> Any:
    """``NaN`` and ``Infinity``, which Python's parser accepts and JSON does not."""
    raise ValueError(f"{constant} is not JSON")


class _DuplicateMember(ValueError):
    """An object names a member twice."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise _DuplicateMember
    return members


def _is_text(value: str) -> bool:
    """Whether ``value`` is Unicode text: no unpaired surrogate (JSON's ``\\ud800``)."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _as_text(name: str) -> str:
    """``name`` as an answer may name it: each byte of an unpaired surrogate's UTF-8 as
    U+FFFD, as a query parameter's name is read. Echoed as it came, ``"\\ud800"`` made
    the error's own JSON no Unicode text (strict parsers, such as Rust's serde_json,
    refuse it)."""
    if _is_text(name):
        return name
    return name.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _holds_non_text(value: Any) -> bool:
    """Whether a string anywhere in ``value`` (member names included) is not text.
    Iterative: the parser already accepted nesting as deep as the recursion limit."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not _is_text(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def header_text(request: web.Request, name: str) -> str:
    """The header's value, stripped (``""`` when absent), if it is UTF-8 text without
    control characters; else 400 ``ValidationError`` naming the header. A value kept and
    answered back later (an upload's ``Content-Type``) must be text that can be stored
    and sent again as it came: ``gateway.text.is_header_text``, as S3's stored headers."""
    value = request.headers.get(name, "").strip()
    if not is_header_text(value):
        raise invalid(name, f"{name} must be UTF-8 text without control characters")
    return value


def check_identity_encoding(request: web.Request) -> None:
    """415 for a body with a ``Content-Encoding`` (other than ``identity``): the API
    listener never decompresses, and a compressed body taken as it is would be another
    body than the one the client meant."""
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        raise ApiError(
            415,
            "UnsupportedMediaType",
            "Request bodies are not decompressed here: send them without Content-Encoding",
            {"field": "Content-Encoding"},
        )


async def read_json_object(
    request: web.Request, *, allowed: Iterable[str], optional_body: bool = False
) -> dict[str, Any]:
    """The request body as a JSON object whose keys are all in ``allowed``.

    ``optional_body``: an empty body (any or no content type) reads as ``{}``.
    """
    raw = await request.read()
    if optional_body and not raw.strip():
        return {}
    if request.content_type != "application/json":
        raise ApiError(
            415,
            "UnsupportedMediaType",
            "The request body must be JSON (Content-Type: application/json)",
        )
    check_identity_encoding(request)
    try:
        # UTF-8 only (RFC 8259 8.1): json.loads(bytes) also takes UTF-16 and UTF-32,
        # which a proxy or a log reader reading UTF-8 sees as another body. A UTF-8
        # byte order mark may be ignored (8.1), and is.
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise ApiError(400, "InvalidRequest", "The request body must be UTF-8 JSON") from None
    try:
        body = json.loads(text, parse_constant=_not_json, object_pairs_hook=_object)
    except _DuplicateMember:
        raise ApiError(
            400, "InvalidRequest", "The request body names a member of an object twice"
        ) from None
    except (ValueError, RecursionError):
        raise ApiError(400, "InvalidRequest", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "InvalidRequest", "The request body must be a JSON object")
    known = set(allowed)
    for name in body:
        if name not in known:
            raise invalid(
                _as_text(name), f"Unknown field; expected one of: {', '.join(sorted(known))}"
            )
    for name, value in body.items():
        if _holds_non_text(value):
            raise invalid(name, f"'{name}' must be Unicode text (no unpaired surrogates)")
    return body


def required_str(body: Mapping[str, Any], field: str) -> str:
    value = body.get(field)
    if value is None:
        raise invalid(field, f"'{field}' is required")
    if not isinstance(value, str):
        raise invalid(field, f"'{field}' must be a string")
    return value


def optional_str_list(body: Mapping[str, Any], field: str) -> list[str] | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid(field, f"'{field}' must be an array of strings")
    return value


def optional_bool(body: Mapping[str, Any], field: str) -> bool | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise invalid(field, f"'{field}' must be true or false")
    return value


def optional_int(body: Mapping[str, Any], field: str, *, minimum: int, maximum: int) -> int | None:
    value = body.get(field)
    if value is None:
        return None
    # JSON Schema counts 5.0 as an integer; so do we.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, f"'{field}' must be an integer")
    if not minimum <= value <= maximum:
        raise invalid(field, f"'{field}' must be between {minimum} and {maximum}")
    return value


def optional_datetime(body: Mapping[str, Any], field: str) -> datetime | None:
    """An RFC 3339 timestamp with a time zone (``2030-01-01T00:00:00Z``), in UTC, within
    the years 1 to 9999 once in UTC (``9999-12-31T23:59:59-14:00`` is the year 10000)."""
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(field, f"'{field}' must be an RFC 3339 date-time with a time zone")
    try:
        return parse_instant(value, f"'{field}'")
    except ValueError as exc:  # our own message: the value is never echoed
        raise invalid(field, str(exc)) from None


def query_bool(request: web.Request, name: str) -> bool:
    raw = request.query.get(name)
    if raw is None or raw == "false":
        return False
    if raw == "true":
        return True
    raise invalid(name, f"'{name}' must be true or false")


def query_limit(request: web.Request, *, default: int, maximum: int) -> int:
    raw = request.query.get("limit")
    if raw is None:
        return default
    # Digits past the maximum's length are out of range however many: int() itself
    # refuses more than 4,300 (a ValueError that was a 500).
    significant = raw.lstrip("0")
    if (
        not raw.isascii()
        or not raw.isdigit()
        or len(significant) > len(str(maximum))
        or not 1 <= int(significant or "0") <= maximum
    ):
        raise invalid("limit", f"'limit' must be an integer from 1 to {maximum}")
    return int(significant)
