"""Caches whose keys a client chooses stay bounded, whatever the client sends.

The class of bug: a per-worker cache keyed by object ids, keys or credentials that
grows with every distinct value a client makes the gateway read, until the worker runs
out of memory. Each cache on the request path charges what it keeps against a fixed
bound; an entry that costs nothing by its own measure (an empty body) must still count.
"""

from __future__ import annotations

from pathlib import Path

from backends.filesystem.encryption import MODE_MANAGED, OPENED_KEYS, KeySet, Sealer, unwrapper
from backends.filesystem.inline import _ENTRY_COST, InlineCache
from backends.sqlite_wal import ExactCache
from gateway.identity.cache import LookupCache
from tests.backends.test_sqlite_wal import watched_db


def test_empty_inline_bodies_are_charged_for() -> None:
    """Ten thousand empty objects, each read once, must not keep ten thousand entries."""
    cache = InlineCache(max_bytes=100 * _ENTRY_COST)
    for n in range(10_000):
        cache.put(f"empty{n}", b"")
    assert len(cache) == 100 and cache.size == 100 * _ENTRY_COST
    assert cache.get("empty9999") == b"" and cache.get("empty0") is None


def test_the_row_cache_keeps_at_most_its_entries(tmp_path: Path) -> None:
    with watched_db(tmp_path / "db.sqlite") as (_, watch):
        cache: ExactCache[str, int] = ExactCache(watch, max_entries=50)
        for n in range(5_000):
            _, marker = cache.get(f"key{n}")
            cache.put(f"key{n}", marker, n)
        assert len(cache) == 50


def test_the_key_lookup_cache_keeps_at_most_its_entries() -> None:
    cache: LookupCache[str, int] = LookupCache(60.0, max_entries=50)
    for n in range(5_000):
        cache.put(f"AKIA{n}", None, n)
    assert len(cache._entries) == 50
    assert cache.get("AKIA4999", None) == 4999 and cache.get("AKIA0", None) is None


def test_opened_data_keys_are_bounded() -> None:
    """Each SSE-S3 object has its own data key: reading many keeps at most the bound."""
    keys = KeySet(bytes(32))
    unwrap = unwrapper(keys, None)
    kek = keys.managed_kek(keys.current_id)
    headers = [
        Sealer(kek, mode=MODE_MANAGED, key_id=keys.current_id).header
        for _ in range(OPENED_KEYS + 500)
    ]
    for header in headers:
        unwrap(header)
    assert len(keys._opened) == OPENED_KEYS
    assert keys.opened(headers[-1]) is not None and keys.opened(headers[0]) is None
