"""The response headers the renderer sends: ``checked_headers`` gives, for every kind of
header set, what checking each header on its own gives (its all-at-once path for the
usual answer must not let through, drop or change anything the per-header rule would
not), and ``object_headers`` answers a remembered object exactly as it describes it
afresh."""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import pytest

from backends.types import ObjectInfo, ObjectLock, ObjectMeta
from gateway.s3 import headers as headers_module
from gateway.s3.headers import HEADER_NAME, _describe, checked_headers, object_headers
from gateway.text import is_sendable_header_value


def _one_by_one(headers: Mapping[str, Any]) -> dict[str, str]:
    """The rule, header by header (the function as it was before its fast path)."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        text = str(value)
        if HEADER_NAME.fullmatch(name) is not None and is_sendable_header_value(text):
            out[name] = text
    return out


class Mode(str, enum.Enum):  # noqa: UP042  (str() of it is "Mode.ON", not its value)
    ON = "ENABLED"


HEAD = {
    "x-amz-request-id": "0123456789ABCDEF",
    "x-amz-id-2": "c2FtcGxlIGhvc3QgaWQgb2YgMzIgY2hhcnM=",
    "Server": "nfyio",
    "ETag": '"0123456789abcdef0123456789abcdef"',
    "Last-Modified": "Sun, 06 Dec 2026 01:25:33 GMT",
    "Content-Type": "binary/octet-stream",
    "Accept-Ranges": "bytes",
    "Content-Length": "4096",
}
CASES: dict[str, Mapping[str, Any]] = {
    "usual": HEAD,
    "empty": {},
    "empty value": {**HEAD, "x-amz-meta-e": ""},
    "space": {**HEAD, "Content-Disposition": 'attachment; filename="a b"'},
    "tab": {**HEAD, "x-amz-meta-t": "a\tb"},
    "CR LF": {**HEAD, "x-amz-meta-split": "a\r\nSet-Cookie: x"},
    "DEL": {**HEAD, "x-amz-meta-d": "a\x7fb"},
    "NUL": {**HEAD, "x-amz-meta-n": "a\x00"},
    "non-ASCII": {**HEAD, "Content-Type": "text/plain; name=é"},
    "surrogate": {**HEAD, "x-amz-meta-s": "a\udcff"},
    "line separator": {**HEAD, "x-amz-meta-u": "a\u2028b"},
    "bad name": {**HEAD, "bad name": "v"},
    "colon name": {**HEAD, "x-amz-meta-a:b": "v"},
    "non-ASCII name": {**HEAD, "x-amz-meta-é": "v"},
    "never seen name": {**HEAD, "x-amz-meta-checked-headers-new": "v"},
    "integer value": {**HEAD, "Content-Length": 4096},
    "str enum value": {**HEAD, "x-amz-checksum-mode": Mode.ON},
    "read-only mapping": MappingProxyType(HEAD),
}


@pytest.mark.parametrize("case", list(CASES))
def test_checked_headers_as_one_by_one(case: str, caplog: pytest.LogCaptureFixture) -> None:
    headers = CASES[case]
    want = _one_by_one(headers)
    for _ in range(2):  # the names then seen before
        with caplog.at_level(logging.WARNING, logger="nfyio.s3"):
            caplog.clear()
            got = checked_headers(headers)
        assert got == want and list(got) == list(want)
        assert all(type(value) is str for value in got.values())
        assert len(caplog.records) == len(headers) - len(want)  # each one left out: a line
        assert got is not headers


LAST_MODIFIED = datetime(2026, 12, 6, 1, 2, 3, 456789, tzinfo=UTC)
INFOS = {
    "plain": ObjectInfo("b", "k", 4096, "e" * 32, LAST_MODIFIED),
    "described": ObjectInfo(
        "b",
        "k",
        10,
        "f" * 32 + "-3",
        LAST_MODIFIED,
        meta=ObjectMeta(
            content_type="text/plain",
            cache_control="no-cache",
            user_metadata=MappingProxyType({"a": "1", "é": "ü"}),
            storage_class="STANDARD_IA",
            missing_meta=2,
            server_side_encryption="AES256",
        ),
        checksums=MappingProxyType({"CRC32": "AAAAAA==-3"}),
        version_id="v1",
        parts_count=3,
        lock=ObjectLock(mode="GOVERNANCE", retain_until=LAST_MODIFIED, legal_hold=True),
        tag_count=2,
    ),
}
FLAGS = [(False, False), (False, True), (True, True), (True, False)]  # each flag alone changes


@pytest.mark.parametrize("name", list(INFOS))
def test_remembered_object_headers_are_the_described_ones(name: str) -> None:
    info = INFOS[name]
    for _ in range(2):
        for checksums, parts in FLAGS:
            want = _describe(info, checksums, parts)
            got = object_headers(info, with_checksums=checksums, with_parts_count=parts)
            assert got == want and list(got) == list(want)
            got["x-amz-meta-a"] = "changed by a handler"  # the caller's own copy
            del got["ETag"]
    assert object_headers(info) == _describe(info, False, False)
    overrides = {"Content-Type": "text/html", "Expires": "never"}
    assert object_headers(info, overrides=overrides) == {
        **_describe(info, False, False),
        **overrides,
    }
    assert object_headers(info) == _describe(info, False, False)  # overrides not remembered


def test_another_object_of_equal_fields_is_described_afresh() -> None:
    first = INFOS["plain"]
    object_headers(first)
    other = ObjectInfo("b", "k", 4096, "d" * 32, LAST_MODIFIED)
    assert object_headers(other)["ETag"] == f'"{"d" * 32}"'


def test_a_freed_objects_identity_does_not_answer_for_its_successor() -> None:
    """Each ``ObjectInfo`` is dropped after its read, so the next one may be made at the
    same address (the same ``id``): the memo must not answer with the dropped one's."""
    for n in range(200):
        info = ObjectInfo("b", "k", n, f"{n:032x}", LAST_MODIFIED)
        assert object_headers(info)["ETag"] == f'"{n:032x}"'
        del info


def test_large_object_headers_are_not_remembered() -> None:
    """Headers over ``OBJECT_HEADERS_MAX_CHARS`` (an object the row cache does not keep,
    whose ``ObjectInfo`` is made afresh for every read) are described, not kept."""
    meta = ObjectMeta(
        cache_control="c" * 4000, content_disposition="d" * 4000, user_metadata={"u": "v" * 2000}
    )
    large = ObjectInfo("b", "k" * 1000, 1, "e" * 32, LAST_MODIFIED, meta=meta)
    assert sum(map(len, _describe(large, False, False).values())) > (
        headers_module.OBJECT_HEADERS_MAX_CHARS
    )
    assert object_headers(large) == _describe(large, False, False)
    assert id(large) not in headers_module._described.entries
    small = ObjectInfo("b", "k", 1, "e" * 32, LAST_MODIFIED, meta=ObjectMeta(cache_control="c"))
    assert object_headers(small) == _describe(small, False, False)
    assert headers_module._described.entries[id(small)][0] is small


def test_remembered_object_headers_are_bounded() -> None:
    for n in range(headers_module.OBJECT_HEADERS_ENTRIES + 100):
        object_headers(ObjectInfo("b", f"k{n}", n, "e" * 32, LAST_MODIFIED))
    assert len(headers_module._described.entries) <= headers_module.OBJECT_HEADERS_ENTRIES
