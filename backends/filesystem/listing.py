"""S3 listing over an ordered index: prefix, delimiter roll-up, marker, page size.

Everything works on UTF-8 bytes. The cost of a page is one indexed range query per run of
plain keys plus one per common prefix (the query after a roll-up seeks past the whole
group), never a scan of the bucket.

Semantics (the same for objects and multipart uploads): the entries of a listing are the
keys under ``prefix`` that do not contain ``delimiter`` after the prefix, plus one common
prefix per group of keys that do, all in byte order. A page holds the entries strictly
greater than ``marker`` -- so a marker that is a common prefix, or any key inside a group,
skips the rest of that group -- up to ``max_keys`` of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from sigv4.records import record

T = TypeVar("T")


@record
class Cursor:
    """Where a seek starts: after ``lower`` (or at it when ``inclusive``).

    ``after_id`` refines an exclusive bound for indexes with several items per key
    (multipart uploads): resume after (``lower``, ``after_id``) instead of after every
    item of ``lower``.
    """

    lower: bytes
    inclusive: bool
    after_id: str | None = None


Seek = Callable[[Cursor, bytes | None, int], Sequence[T]]
"""``seek(cursor, upper, limit)``: up to ``limit`` items from ``cursor`` with
``key < upper`` (no bound when None), in index order."""


def upper_bound(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``prefix``.

    ``None`` when there is none (empty prefix, or only 0xFF bytes -- impossible in UTF-8).
    """
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


def common_prefix(key: bytes, prefix: bytes, delimiter: bytes | None) -> bytes | None:
    """The common prefix ``key`` rolls up into, or None if it is listed as itself."""
    if not delimiter or not key.startswith(prefix):
        return None
    at = key.find(delimiter, len(prefix))
    return None if at < 0 else key[: at + len(delimiter)]


@record
class Page(Generic[T]):
    items: tuple[T, ...]
    common_prefixes: tuple[bytes, ...]
    entries: tuple[T | bytes, ...]
    """Items and common prefixes interleaved in listing order."""
    is_truncated: bool


def start_after(prefix: bytes, delimiter: bytes | None, marker: bytes | None) -> Cursor | None:
    """Where the listing resumes, or None if nothing remains."""
    if marker is None or marker < prefix:
        return Cursor(prefix, True)
    group = common_prefix(marker, prefix, delimiter)
    if group is None:
        return Cursor(marker, False)
    bound = upper_bound(group)
    return None if bound is None else Cursor(bound, True)


def list_page(
    seek: Seek[T],
    key_of: Callable[[T], bytes],
    *,
    prefix: bytes,
    delimiter: bytes | None,
    marker: bytes | None,
    max_keys: int,
    id_of: Callable[[T], str] | None = None,
    start: Cursor | None = None,
) -> Page[T]:
    """One page of the listing described in the module docstring.

    ``id_of`` names items that share a key (uploads); ``start`` overrides the cursor
    derived from ``marker``.
    """
    items: list[T] = []
    prefixes: list[bytes] = []
    entries: list[T | bytes] = []
    if max_keys <= 0:
        return Page((), (), (), False)
    upper = upper_bound(prefix)
    position = start if start is not None else start_after(prefix, delimiter, marker)
    while position is not None and len(entries) < max_keys:
        batch = seek(position, upper, max_keys - len(entries) + 1)
        if not batch:
            position = None
            break
        last: T | None = None
        for item in batch:
            key = key_of(item)
            group = None if not delimiter else common_prefix(key, prefix, delimiter)
            if group is None:
                items.append(item)
                entries.append(item)
                last = item
            else:
                prefixes.append(group)
                entries.append(group)
                last = None
                bound = upper_bound(group)
                position = None if bound is None else Cursor(bound, True)
                break  # seek past the group with a fresh query
            if len(entries) >= max_keys:
                break
        if last is not None:
            position = Cursor(key_of(last), False, None if id_of is None else id_of(last))
    truncated = position is not None and len(entries) >= max_keys and bool(seek(position, upper, 1))
    return Page(tuple(items), tuple(prefixes), tuple(entries), truncated)
