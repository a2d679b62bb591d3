"""The filesystem backend's cache of current-version rows (``MetaDB.object``): exact.

Two backends on one data directory stand for two worker processes (each has its own
connections, its own group committer and its own cache). What one writes, the other's
next read must show, whatever it had read before: a cached row outliving a commit would
serve an overwritten body's metadata, or a deleted object.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backends.errors import BackendError
from backends.filesystem import FilesystemBackend
from backends.types import CopySource, ObjectMeta
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
    assert await mine.head_object("bk", "k") == first
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
    with pytest.raises(BackendError) as gone:
        await mine.head_object("bk", "k")
    assert gone.value.code == "NoSuchKey"


async def test_a_write_transaction_reads_its_own_changes_and_leaves_no_trace(
    workers: tuple[FilesystemBackend, FilesystemBackend],
) -> None:
    mine, _ = workers
    await mine.put_object("bk", "k", body(b"data"), ObjectMeta())
    before = mine.db.object("bk", b"k")
    assert before is not None and mine.db.object("bk", b"k") == before  # cached now

    class Undo(Exception):
        pass

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
