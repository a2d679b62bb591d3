"""The filesystem backend's caches of reads: current-version rows (``MetaDB.object``,
exact) and inline bodies by data id (``MetaDB.inline``, ``InlineCache``).

Two backends on one data directory stand for two worker processes (each has its own
connections, its own group committer and its own caches). What one writes, the other's
next read must show, whatever it had read before: a cached row outliving a commit would
serve an overwritten body's metadata, or a deleted object; a cached body under the wrong
id would serve another object's bytes.
"""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import pytest

from backends.errors import BackendError
from backends.filesystem import FilesystemBackend
from backends.filesystem.inline import (
    _ENTRY_COST,
    InlineCache,
    inline_bytes,
    new_inline_id,
    store,
)
from backends.types import ByteRange, CopySource, ObjectMeta
from tests.backends.fs_helpers import body, read_all

KEYS = ("a", "b", "c")


@pytest.fixture
async def workers(tmp_path: Path) -> AsyncIterator[tuple[FilesystemBackend, FilesystemBackend]]:
    first = FilesystemBackend(tmp_path, fsync=False)
    await first.start()
    second = FilesystemBackend(tmp_path, fsync=False)
    await second.start()
    await first.create_bucket("bk")
    yield first, second
    await second.close()
    await first.close()


class Undo(Exception):
    """Raised inside a write transaction to roll it back."""


async def _no_such_key(read: Awaitable[object]) -> None:
    with pytest.raises(BackendError) as gone:
        await read
    assert gone.value.code == "NoSuchKey"


def _object_selects(b: FilesystemBackend) -> list[str]:
    statements: list[str] = []
    b.db.conn.set_trace_callback(statements.append)
    return statements


async def test_a_row_is_reused_until_another_worker_commits(
    workers: tuple[FilesystemBackend, FilesystemBackend],
) -> None:
    mine, other = workers
    await mine.put_object("bk", "k", body(b"first"), ObjectMeta(user_metadata={"v": "1"}))
    first = await mine.head_object("bk", "k")
    statements = _object_selects(mine)
    assert await mine.head_object("bk", "k") is first  # the row kept, decoded once
    assert not [s for s in statements if "FROM objects" in s]  # served from the cache

    await other.put_object("bk", "k", body(b"second!"), ObjectMeta(user_metadata={"v": "2"}))
    second = await mine.head_object("bk", "k")
    assert (second.etag, second.size, second.meta.user_metadata) != (
        first.etag,
        first.size,
        first.meta.user_metadata,
    )
    assert await read_all(await mine.get_object("bk", "k")) == b"second!"

    await other.put_object_tagging("bk", "k", (("team", "blue"),))
    assert (await mine.get_object_tagging("bk", "k")).tags == (("team", "blue"),)

    await other.copy_object(
        CopySource("bk", "k"), "bk", "k", meta=ObjectMeta(user_metadata={"v": "3"})
    )
    assert (await mine.head_object("bk", "k")).meta.user_metadata == {"v": "3"}

    await other.delete_object("bk", "k")
    await _no_such_key(mine.head_object("bk", "k"))


async def test_a_write_transaction_reads_its_own_changes_and_leaves_no_trace(
    workers: tuple[FilesystemBackend, FilesystemBackend],
) -> None:
    mine, _ = workers
    await mine.put_object("bk", "k", body(b"data"), ObjectMeta())
    before = mine.db.object("bk", b"k")
    assert before is not None and mine.db.object("bk", b"k") == before  # cached now

    with pytest.raises(Undo), mine.db.write() as conn:
        conn.execute("UPDATE objects SET etag = 'changed' WHERE key = ?", (b"k",))
        inside = mine.db.object("bk", b"k")
        assert inside is not None and inside.etag == "changed"
        raise Undo
    assert mine.db.object("bk", b"k") == before  # rolled back: nothing of it was kept


async def test_every_cached_read_equals_a_query(
    workers: tuple[FilesystemBackend, FilesystemBackend],
) -> None:
    """Writes by either worker in a random order; after each, every key read through
    each worker's cache equals the same read as a query."""
    rng = random.Random(17)
    pair = workers
    for step in range(150):
        writer = rng.choice(pair)
        key = rng.choice(KEYS)
        action = rng.randrange(4)
        try:
            if action == 0:
                await writer.put_object(
                    "bk", key, body(rng.randbytes(rng.randrange(1, 64))), ObjectMeta()
                )
            elif action == 1:
                await writer.delete_object("bk", key)
            elif action == 2:
                await writer.put_object_tagging("bk", key, (("step", str(step)),))
            else:
                await writer.copy_object(CopySource("bk", rng.choice(KEYS)), "bk", key)
        except BackendError as exc:
            assert exc.code == "NoSuchKey"  # tagging or copying a key deleted before
        for reader in pair:
            for name in KEYS:
                encoded = name.encode()
                queried = reader.db._object("bk", encoded)
                assert reader.db.object("bk", encoded) == queried  # a miss, or a kept row
                assert reader.db.object("bk", encoded) == queried  # kept now: a hit
                if queried is None:
                    with pytest.raises(BackendError):
                        await reader.get_object("bk", name)
                    continue
                for _ in range(2):  # decoded, then perhaps remembered: the same answer
                    assert await reader.head_object("bk", name) == queried.to_info("bk")
                stored = inline_bytes(reader.db.conn, queried.data_id)
                for _ in range(2):  # a body read, then perhaps kept: the same bytes
                    assert await read_all(await reader.get_object("bk", name)) == stored


async def test_an_inline_body_is_read_from_the_database_once_per_worker(
    workers: tuple[FilesystemBackend, FilesystemBackend],
) -> None:
    mine, other = workers
    await mine.put_object("bk", "k", body(b"small body"), ObjectMeta())
    statements = _object_selects(mine)
    assert await read_all(await mine.get_object("bk", "k")) == b"small body"
    assert [s for s in statements if "FROM inline_data" in s]  # the first read queries
    statements.clear()
    assert await read_all(await mine.get_object("bk", "k")) == b"small body"
    assert await read_all(await mine.get_object("bk", "k", byte_range=ByteRange(0, 4))) == b"small"
    assert not [s for s in statements if "FROM inline_data" in s]  # then it is kept

    await other.put_object("bk", "k", body(b"replaced by the other worker"), ObjectMeta())
    assert await read_all(await mine.get_object("bk", "k")) == b"replaced by the other worker"
    await other.copy_object(CopySource("bk", "k"), "bk", "copy")
    await other.put_object("bk", "k", body(b"third"), ObjectMeta())
    assert await read_all(await mine.get_object("bk", "copy")) == b"replaced by the other worker"
    assert await read_all(await mine.get_object("bk", "k")) == b"third"
    await other.delete_object("bk", "k")
    await _no_such_key(mine.get_object("bk", "k"))


async def test_inline_bytes_of_a_write_transaction_are_not_kept(
    workers: tuple[FilesystemBackend, FilesystemBackend],
) -> None:
    mine, _ = workers
    data_id = new_inline_id()

    with pytest.raises(Undo), mine.db.write() as conn:
        store(conn, data_id, b"never committed")
        assert mine.db.inline(data_id) == b"never committed"  # its own write
        raise Undo
    assert mine.db.inline(data_id) is None  # rolled back, and nothing of it was kept


def test_the_inline_cache_keeps_at_most_its_bytes_the_least_recently_read_going_first() -> None:
    entry = _ENTRY_COST
    cache = InlineCache(max_bytes=2 * (40 + entry) + 20)
    cache.put("a", b"a" * 40)
    cache.put("b", b"b" * 40)
    assert cache.get("a") == b"a" * 40  # now "b" is the least recently read
    cache.put("c", b"c" * 40)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (b"a" * 40, None, b"c" * 40)
    assert cache.size == 2 * (40 + entry) and len(cache) == 2
    cache.put("big", b"x" * 300)  # larger than the whole cache: not kept, nothing dropped
    assert cache.get("big") is None and len(cache) == 2
    cache.put("empty", b"")  # an empty object's body is kept too, and charged for
    assert cache.get("empty") == b"" and cache.size == 40 + 2 * entry
    for n in range(50):
        cache.put(f"k{n}", b"z" * 30)
    assert cache.size <= 2 * (40 + entry) + 20 and len(cache) == 2


async def test_rows_and_metadata_kept_for_reads_are_bounded_in_bytes(
    workers: tuple[FilesystemBackend, FilesystemBackend],
) -> None:
    """Objects whose system headers are as long as HTTP lets them be (8 KiB each) are
    read again and again without the worker keeping them: the caches count entries, and
    2,048 rows plus 4,096 decoded metadata texts of 40 KiB each held hundreds of MiB."""
    writer, reader = workers
    count, field = 256, 8000

    def meta(n: int) -> ObjectMeta:
        tag = f"{n:05d}"
        return ObjectMeta(
            content_type="a/" + tag + "t" * field,
            content_disposition=tag + "d" * field,
            cache_control=tag + "c" * field,
            content_language=tag + "l" * field,
            content_encoding=tag + "e" * field,
        )

    for n in range(count):
        await writer.put_object("bk", f"k{n}", body(b"x"), meta(n))
    tracemalloc.start()
    try:
        for _ in range(2):
            for n in range(count):
                info = await reader.head_object("bk", f"k{n}")
                assert info.meta.content_disposition == meta(n).content_disposition
        del info
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Kept, the rows and their decoded metadata come to about 100 KiB an object (25 MiB)
    assert kept < 4 * 1024 * 1024, kept


async def test_a_scan_over_thousands_of_keys_is_served_from_the_cache(
    workers: tuple[FilesystemBackend, FilesystemBackend],
) -> None:
    """HEADs of 5,000 keys in turn, twice: the second pass reads no row from the database
    (rows of typical size: the cache holds ``ROW_CACHE_ENTRIES`` of them; at 2,048 it
    held too few for such a scan and every read queried) and decodes none again."""
    mine, _ = workers
    keys = [f"key-{n:05d}" for n in range(5000)]
    for key in keys:
        await mine.put_object("bk", key, body(b"x"), ObjectMeta(user_metadata={"n": key}))
    first = [await mine.head_object("bk", key) for key in keys]
    statements = _object_selects(mine)
    again = [await mine.head_object("bk", key) for key in keys]
    mine.db.conn.set_trace_callback(None)
    assert not [s for s in statements if "FROM objects" in s]
    assert all(a is b for a, b in zip(again, first, strict=True))
