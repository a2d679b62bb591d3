"""Listing semantics of the filesystem backend, checked against a naive model of S3."""

from __future__ import annotations

import asyncio
import bisect
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.errors import BackendError
from backends.filesystem import FilesystemBackend
from backends.filesystem.listing import Cursor, list_page, upper_bound
from backends.types import ListPage, ObjectMeta
from tests.backends.fs_helpers import body, bucket_backend


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[FilesystemBackend]:
    async with bucket_backend(tmp_path, fsync=False) as b:
        yield b


async def put_keys(b: FilesystemBackend, keys: Sequence[str], bucket: str = "bk") -> None:
    for key in keys:
        await b.put_object(bucket, key, body(b"x"), ObjectMeta())


def model(
    keys: Sequence[str], prefix: str, delimiter: str | None, marker: str | None
) -> list[tuple[str, bool]]:
    """Every entry of the listing (key or common prefix, is_prefix), S3 semantics."""
    entries: list[tuple[str, bool]] = []
    for key in sorted(set(keys), key=lambda k: k.encode()):
        if not key.startswith(prefix):
            continue
        entry, is_prefix = key, False
        if delimiter:
            at = key.find(delimiter, len(prefix))
            if at >= 0:
                entry, is_prefix = key[: at + len(delimiter)], True
        if marker is not None and entry.encode() <= marker.encode():
            continue
        if entries and entries[-1][0] == entry:
            continue
        entries.append((entry, is_prefix))
    return entries


def page_entries(page: ListPage) -> list[tuple[str, bool]]:
    items = [(o.key, False) for o in page.objects] + [(p, True) for p in page.common_prefixes]
    return sorted(items, key=lambda e: e[0].encode())


def test_upper_bound_increments_last_byte_with_carry() -> None:
    assert upper_bound(b"a/") == b"a0"
    assert upper_bound(b"a\xff") == b"b"
    assert upper_bound(b"") is None
    assert upper_bound(b"\xff\xff") is None


async def test_keys_sort_by_utf8_bytes_not_code_units(backend: FilesystemBackend) -> None:
    # U+1F600 is a surrogate pair in UTF-16 (sorts before U+E000 there) but F0... in UTF-8.
    keys = ["\U0001f600", "\ue000", "z", "\u00e9", "A"]
    await put_keys(backend, keys)
    page = await backend.list_objects("bk")
    assert [o.key for o in page.objects] == sorted(keys, key=lambda k: k.encode())
    assert [o.key for o in page.objects][-2:] == ["\ue000", "\U0001f600"]


async def test_delimiter_rollup_counts_prefixes_toward_max_keys(backend: FilesystemBackend) -> None:
    await put_keys(backend, ["a/1", "a/2", "b", "c/1", "d"])
    page = await backend.list_objects("bk", delimiter="/", max_keys=2)
    assert [o.key for o in page.objects] == ["b"]
    assert page.common_prefixes == ("a/",)
    assert page.is_truncated and page.next_marker == "b"
    page = await backend.list_objects("bk", delimiter="/", max_keys=2, marker="b")
    assert page.common_prefixes == ("c/",) and [o.key for o in page.objects] == ["d"]
    assert not page.is_truncated and page.next_marker == "d"


async def test_marker_that_is_a_common_prefix_skips_its_group(backend: FilesystemBackend) -> None:
    await put_keys(backend, ["a/1", "a/2", "a/3", "a0", "b"])
    page = await backend.list_objects("bk", delimiter="/", max_keys=1)
    assert page.common_prefixes == ("a/",) and page.next_marker == "a/" and page.is_truncated
    page = await backend.list_objects("bk", delimiter="/", marker="a/")
    assert [o.key for o in page.objects] == ["a0", "b"] and page.common_prefixes == ()


async def test_non_slash_and_multi_character_delimiters(backend: FilesystemBackend) -> None:
    await put_keys(backend, ["x-1-a", "x-1-b", "x-2", "xy", "p::q::r", "p::s"])
    page = await backend.list_objects("bk", prefix="x-", delimiter="-")
    assert page.common_prefixes == ("x-1-",) and [o.key for o in page.objects] == ["x-2"]
    page = await backend.list_objects("bk", prefix="p", delimiter="::")
    assert page.common_prefixes == ("p::",)
    page = await backend.list_objects("bk", prefix="p::", delimiter="::")
    assert page.common_prefixes == ("p::q::",) and [o.key for o in page.objects] == ["p::s"]


async def test_prefix_bounds_and_marker_before_prefix(backend: FilesystemBackend) -> None:
    await put_keys(backend, ["a", "a/", "a/b", "ab", "b"])
    page = await backend.list_objects("bk", prefix="a/", marker="0")
    assert [o.key for o in page.objects] == ["a/", "a/b"]
    page = await backend.list_objects("bk", prefix="a", marker="a/")
    assert [o.key for o in page.objects] == ["a/b", "ab"]
    page = await backend.list_objects("bk", prefix="a", marker="zzz")
    assert page.objects == () and not page.is_truncated and page.next_marker is None


async def test_max_keys_zero_is_an_empty_untruncated_page(backend: FilesystemBackend) -> None:
    await put_keys(backend, ["a"])
    page = await backend.list_objects("bk", max_keys=0)
    assert page.objects == () and page.common_prefixes == ()
    assert not page.is_truncated and page.next_marker is None


async def test_list_unknown_bucket(backend: FilesystemBackend) -> None:
    with pytest.raises(BackendError) as err:
        await backend.list_objects("nope")
    assert err.value.code == "NoSuchBucket"


async def test_group_skip_uses_few_queries(backend: FilesystemBackend) -> None:
    """A common prefix costs one seek, however many keys it holds."""
    await put_keys(backend, [f"big/{i:04d}" for i in range(300)] + ["c", "d"])
    calls: list[Cursor] = []
    original = backend.db.objects_from

    def counting(bucket: str, cursor: Cursor, upper: bytes | None, limit: int):  # type: ignore[no-untyped-def]
        calls.append(cursor)
        return original(bucket, cursor, upper, limit)

    backend.db.objects_from = counting  # type: ignore[method-assign]
    page = await backend.list_objects("bk", delimiter="/")
    assert page.common_prefixes == ("big/",) and [o.key for o in page.objects] == ["c", "d"]
    assert len(calls) <= 3


# -- property tests ------------------------------------------------------------------------

ALPHABET = st.sampled_from(["a", "b", "/", "-", "\u00e9", "\ue000", "\U0001f600", "\x01"])
KEYS = st.lists(st.text(ALPHABET, min_size=1, max_size=5), max_size=25)
DELIMITERS = st.sampled_from([None, "/", "-", "a/", "\U0001f600"])
PREFIXES = st.sampled_from(["", "a", "a/", "\u00e9", "/"])
MARKERS = st.one_of(st.none(), st.text(ALPHABET, max_size=4))


@settings(max_examples=300, deadline=None)
@given(
    keys=KEYS,
    prefix=PREFIXES,
    delimiter=DELIMITERS,
    marker=MARKERS,
    max_keys=st.integers(0, 6),
)
def test_list_page_matches_model(
    keys: list[str], prefix: str, delimiter: str | None, marker: str | None, max_keys: int
) -> None:
    index = sorted({k.encode() for k in keys})

    def seek(cursor: Cursor, upper: bytes | None, limit: int) -> list[bytes]:
        pos = (bisect.bisect_left if cursor.inclusive else bisect.bisect_right)(index, cursor.lower)
        out: list[bytes] = []
        for key in index[pos:]:
            if (upper is not None and key >= upper) or len(out) >= limit:
                break
            out.append(key)
        return out

    page = list_page(
        seek,
        lambda k: k,
        prefix=prefix.encode(),
        delimiter=delimiter.encode() if delimiter else None,
        marker=marker.encode() if marker is not None else None,
        max_keys=max_keys,
    )
    expected = model(keys, prefix, delimiter, marker)
    got = [(e.decode(), e in page.common_prefixes) for e in page.entries]
    assert got == expected[:max_keys]
    assert page.is_truncated == (max_keys > 0 and len(expected) > max_keys)


@settings(max_examples=25, deadline=None)
@given(keys=KEYS, prefix=PREFIXES, delimiter=DELIMITERS, max_keys=st.integers(1, 4))
def test_backend_pagination_matches_model(
    keys: list[str], prefix: str, delimiter: str | None, max_keys: int
) -> None:
    async def scenario() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            b = FilesystemBackend(Path(tmp), fsync=False)
            await b.start()
            try:
                await b.create_bucket("bk")
                await put_keys(b, sorted(set(keys)))
                seen: list[tuple[str, bool]] = []
                marker: str | None = None
                for _ in range(100):
                    page = await b.list_objects(
                        "bk", prefix=prefix, delimiter=delimiter, marker=marker, max_keys=max_keys
                    )
                    entries = page_entries(page)
                    assert len(entries) <= max_keys
                    seen += entries
                    if entries:
                        assert page.next_marker == entries[-1][0]
                    if not page.is_truncated:
                        break
                    marker = page.next_marker
                assert seen == model(keys, prefix, delimiter, None)
            finally:
                await b.close()

    asyncio.run(scenario())
