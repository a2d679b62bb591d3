"""The JSON columns a filesystem write stores (``meta``, ``checksums``, ``lock``,
``tags``) are written by one C encoder built once (``columns._one_shot``): the text is
the same, character for character, as ``json.JSONEncoder.encode`` with the columns'
settings writes, and as the metadata column's former field-by-field spelling, for every
kind of value they hold (non-ASCII, quotes, backslashes, control characters, every field
set or none)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import pytest

from backends.filesystem.columns import (
    checksums_to_json,
    lock_to_json,
    meta_from_json,
    meta_to_json,
    tags_to_json,
)
from backends.types import ObjectLock, ObjectMeta

COMPACT = json.JSONEncoder(separators=(",", ":"))
COMPACT_UNICODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
AWKWARD = 'a"b\\c\n\t\x00\x1f\x7f é ü 日本 \U0001f600 \u2028 </x> \ud800'

METAS = {
    "plain": ObjectMeta(),
    "typed": ObjectMeta(content_type="text/plain", user_metadata={}, storage_class="STANDARD"),
    "every field": ObjectMeta(
        content_type="text/html; charset=utf-8",
        content_encoding="gzip",
        content_disposition='attachment; filename="x.txt"',
        content_language="de-DE",
        cache_control="no-cache",
        expires="Thu, 01 Dec 1994 16:00:00 GMT",
        user_metadata={"a": "1", "b": AWKWARD, AWKWARD: ""},
        storage_class="STANDARD_IA",
        server_side_encryption="aws:kms",
        sse_customer_algorithm="AES256",
        sse_customer_key_md5="bWQ1",
        sse_customer_key_hmac="aG1hYw==",
        missing_meta=3,
    ),
    "read-only metadata": ObjectMeta(user_metadata=MappingProxyType({"k": AWKWARD})),
}


def _former_meta_to_json(meta: ObjectMeta) -> str:
    values = {f.name: getattr(meta, f.name) for f in dataclasses.fields(ObjectMeta)}
    values["user_metadata"] = dict(meta.user_metadata)
    return COMPACT.encode({k: v for k, v in values.items() if v is not None})


@pytest.mark.parametrize("name", list(METAS))
def test_meta_column_as_before(name: str) -> None:
    meta = METAS[name]
    text = meta_to_json(meta)
    assert text == _former_meta_to_json(meta)
    assert meta_from_json(text) == dataclasses.replace(
        meta, user_metadata=MappingProxyType(dict(meta.user_metadata))
    )


VALUES: list[Any] = [
    {},
    [],
    {"CRC32": "AAAAAA=="},
    {"CRC64NVME": "AAAAAAAAAAA=", "SHA256": "x" * 44},
    {AWKWARD: AWKWARD, "n": None, "t": True, "f": False, "i": -12, "big": 10**30},
    {"nested": {"list": [1, "two", [AWKWARD]]}},
    [["k", AWKWARD], ["", ""]],
    {"float": 1.5, "nan": float("nan"), "inf": float("inf")},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_columns_as_json_encoder_writes_them(value: Any) -> None:
    if isinstance(value, dict):
        assert checksums_to_json(value) == COMPACT.encode(value)
    if isinstance(value, list) and all(isinstance(pair, list) for pair in value):
        tags = tuple((str(k), str(v)) for k, v in value)
        assert tags_to_json(tags) == (
            COMPACT_UNICODE.encode([list(p) for p in tags]) if tags else None
        )


def test_lock_column_as_before() -> None:
    until = datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    for lock in (
        ObjectLock(mode="COMPLIANCE", retain_until=until, legal_hold=True),
        ObjectLock(legal_hold=False),
        ObjectLock(mode="GOVERNANCE", retain_until=until),
    ):
        text = lock_to_json(lock)
        assert text is not None and text == COMPACT.encode(json.loads(text))
