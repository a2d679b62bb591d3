"""Filesystem-specific versioning: the version-id format and order, concurrent writes
through the group commit, data files of removed versions, and a ListObjectVersions page
that costs the same however many versions a key has."""

from __future__ import annotations

import asyncio
import random
import re
import secrets
import signal
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backends.filesystem import FilesystemBackend, versions
from backends.filesystem.columns import now_us
from backends.filesystem.metadb import ObjectRow
from backends.filesystem.versions import bucket_state, rank_of, write_version
from backends.types import ObjectMeta
from tests.backends import fs_helpers
from tests.backends.fs_helpers import stored_data
from tests.backends.test_contract import payload, read_all

ID = re.compile(r"^[-0-9A-Za-z_]{16}$")


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[FilesystemBackend]:
    fs = FilesystemBackend(tmp_path / "data", fsync=False)
    await fs.start()
    await fs.create_bucket("vb")
    await fs.put_bucket_versioning("vb", "Enabled")
    try:
        yield fs
    finally:
        await fs.close()


async def put(fs: FilesystemBackend, key: str, data: bytes) -> str:
    info = await fs.put_object("vb", key, payload(data), ObjectMeta())
    assert info.version_id is not None
    return info.version_id


async def test_ids_are_url_safe_and_sort_newest_first(backend: FilesystemBackend) -> None:
    ids = [await put(backend, "k", str(i).encode()) for i in range(50)]
    assert all(ID.match(v) for v in ids)
    assert ids[::-1] == sorted(ids)  # the id order is the listing order
    ranks = [rank_of(v) for v in ids]
    assert ranks == sorted(ranks, reverse=True)  # type: ignore[type-var]
    assert rank_of("null") is None and rank_of("x" * 15) is None and rank_of("!" * 16) is None


def _reference_id(rank: int, suffix: int) -> str:
    """The id format by its definition: 11 digits of the rank then 5 of the suffix, base
    64 in the alphabet's order, most significant first."""
    alphabet = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
    value = (rank << 30) | suffix
    return "".join(alphabet[(value >> (6 * (15 - i))) & 63] for i in range(16))


def test_id_codec_is_the_documented_format(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids written by any version of the backend keep decoding to their rank."""
    rng = random.Random(7)
    top = (1 << 63) - 1
    for rank in [0, 1, top, *(rng.randrange(top) for _ in range(500))]:
        suffix = rng.randrange(1 << 30)
        monkeypatch.setattr(secrets, "randbits", lambda bits, s=suffix: s)
        made = versions._id_of(rank)
        assert made == _reference_id(rank, suffix)
        assert rank_of(made) == rank
    assert rank_of(_reference_id(top + 1, 0)) is None  # above any rank issued
    for bad in ("+" * 16, "/" * 16, "=" * 16, "é" * 16, "A" * 15 + " ", "A" * 17):
        assert rank_of(bad) is None


async def test_a_write_after_an_undelete_is_the_newest(backend: FilesystemBackend) -> None:
    """The latest row's own rank stands for the key's newest (no older one is read): it
    holds after that row came back from ``versions`` too."""
    first = await put(backend, "k", b"1")
    second = await put(backend, "k", b"2")
    await backend.delete_object("vb", "k", version_id=second)
    third = await put(backend, "k", b"3")
    page = await backend.list_object_versions("vb")
    assert [v.info.version_id for v in page.versions] == [third, first]
    assert rank_of(third) < rank_of(first)  # type: ignore[operator]


async def test_order_survives_a_clock_step_backwards(backend: FilesystemBackend) -> None:
    """Rows stamped earlier than the key's newest version still become the newest."""
    first = await put(backend, "k", b"now")
    earlier = now_us() - 3_600_000_000
    ids = []
    for n, data_id in enumerate(("a" * 32, "b" * 32)):
        backend.files.object_path(data_id).parent.mkdir(parents=True, exist_ok=True)
        backend.files.object_path(data_id).write_bytes(b"past")
        row = ObjectRow(b"k", 4, "e", earlier - n, "{}", "{}", None, data_id)
        with backend.db.write() as conn:
            state = bucket_state(conn, "vb")
            assert state is not None
            version_id, _ = write_version(conn, "vb", state, row, None)
        assert version_id is not None
        ids.append(version_id)
    page = await backend.list_object_versions("vb")
    assert [v.info.version_id for v in page.versions] == [ids[1], ids[0], first]


async def test_concurrent_puts_each_make_a_version(backend: FilesystemBackend) -> None:
    ids = await asyncio.gather(*(put(backend, "hot", str(i).encode()) for i in range(60)))
    assert len(set(ids)) == 60
    page = await backend.list_object_versions("vb")
    listed = [str(v.info.version_id) for v in page.versions]
    assert sorted(listed) == sorted(ids) and listed == sorted(listed)
    assert [v.is_latest for v in page.versions] == [True] + [False] * 59
    latest = await backend.get_object("vb", "hot")
    assert latest.info.version_id == listed[0]
    await read_all(latest)
    assert len(stored_data(backend)) == 60


async def test_removed_versions_leave_no_files(backend: FilesystemBackend) -> None:
    ids = [await put(backend, "k", str(i).encode()) for i in range(5)]
    marker = (await backend.delete_object("vb", "k")).delete_marker_version_id
    assert len(stored_data(backend)) == 5
    for version_id in [*ids, marker]:
        await backend.delete_object("vb", "k", version_id=version_id)
    assert stored_data(backend) == []
    assert (await backend.list_object_versions("vb")).versions == ()
    await backend.delete_bucket("vb")
    assert await backend.recover() == 0


async def test_suspended_writes_do_not_leak_files(backend: FilesystemBackend) -> None:
    await put(backend, "k", b"kept")
    await backend.put_bucket_versioning("vb", "Suspended")
    for i in range(5):
        await backend.put_object("vb", "k", payload(str(i).encode()), ObjectMeta())
    assert len(stored_data(backend)) == 2  # the kept version and the one null version


def _statements(fs: FilesystemBackend) -> list[str]:
    seen: list[str] = []
    fs.db.conn.set_trace_callback(seen.append)
    return seen


async def test_a_page_costs_the_same_for_10_or_3000_versions(backend: FilesystemBackend) -> None:
    """The same page over a key with 10 versions and one with 3,000: the same statements,
    each an index range scan (no scan of the key's history, no sort)."""
    for key, count in (("few", 10), ("many", 3000)):
        rows = []
        for i in range(count):
            row = ObjectRow(key.encode(), 1, "e", now_us() + i, "{}", "{}", None, f"{key}{i:028d}")
            rows.append(row)
        with backend.db.write() as conn:
            state = bucket_state(conn, "vb")
            assert state is not None
            for row in rows:
                write_version(conn, "vb", state, row, None)
    plans = []
    costs = []
    for key in ("few", "many"):
        first = await backend.list_object_versions("vb", prefix=key, max_keys=3)
        seen = _statements(backend)
        await backend.list_object_versions(
            "vb",
            prefix=key,
            key_marker=first.next_key_marker,
            version_id_marker=first.next_version_id_marker,
            max_keys=3,
        )
        backend.db.conn.set_trace_callback(None)
        costs.append(len(seen))
        for sql in seen:
            if sql.lstrip().upper().startswith("SELECT"):
                plan = backend.db.conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
                plans.append(" ".join(str(step[-1]) for step in plan))
    assert costs[0] == costs[1]
    assert plans and all("SCAN" not in p and "TEMP B-TREE" not in p for p in plans), plans


async def test_first_versioning_of_a_large_bucket_names_its_null_versions_in_batches(
    backend: FilesystemBackend,
) -> None:
    """The first PutBucketVersioning names every earlier object's null version, a batch
    per transaction with the event loop free between them: one UPDATE over a bucket of
    millions of rows held the write lock and the worker's loop for seconds (about 1 s per
    million) and grew the WAL by the bucket's whole table."""
    count = 2 * versions.NULL_VERSION_BATCH + 500
    await backend.create_bucket("big")
    rows = [
        ObjectRow(f"k{i:05d}".encode(), 1, "e", now_us(), "{}", "{}", None, f"{i:032d}")
        for i in range(count)
    ]
    with backend.db.write() as conn:
        state = bucket_state(conn, "big")
        assert state is not None and state.versioning is None
        for row in rows:
            write_version(conn, "big", state, row, None)
    assert (await backend.head_object("big", "k00000")).version_id is None

    task = asyncio.create_task(backend.put_bucket_versioning("big", "Enabled"))
    await asyncio.sleep(0)  # the task's first step: the state and the first batch
    seen_meanwhile: set[str | None] = set()
    while not task.done():
        # the loop is free while the rows are marked: reads are answered meanwhile
        seen_meanwhile.add((await backend.head_object("big", f"k{count - 1:05d}")).version_id)
        await asyncio.sleep(0)
    await task
    # the last batch was still to come while this coroutine ran (one UPDATE: never)
    assert None in seen_meanwhile

    for key in ("k00000", f"k{versions.NULL_VERSION_BATCH:05d}", f"k{count - 1:05d}"):
        assert (await backend.head_object("big", key)).version_id == "null"
    left = backend.db.conn.execute(
        "SELECT count(*) FROM objects WHERE bucket = 'big' AND version_id IS NULL"
    ).fetchone()[0]
    assert left == 0


_STOPPED_MIDWAY = """
import asyncio, os, signal, sqlite3, sys
from pathlib import Path
from backends.filesystem import FilesystemBackend
from backends.filesystem.metadb import ObjectRow
from backends.filesystem.columns import now_us
from backends.filesystem.versions import bucket_state, write_version

async def main():
    b = FilesystemBackend(Path(sys.argv[1]), fsync=False, temp_sweep_interval=0)
    b.null_version_batch = 10
    await b.start()
    await b.create_bucket("big")
    with b.db.write() as conn:
        state = bucket_state(conn, "big")
        for i in range(1000):
            row = ObjectRow(f"k{i:05d}".encode(), 1, "e", now_us(), "{}", "{}", None, f"i{i:032d}")
            write_version(conn, "big", state, row, None)
    watch = sqlite3.connect(b.db.path)
    task = asyncio.create_task(b.put_bucket_versioning("big", "Enabled"))
    while True:  # between two batches (the loop is free then): the process dies
        await asyncio.sleep(0)
        named = watch.execute(
            "SELECT count(*) FROM objects WHERE version_id = 'null'"
        ).fetchone()[0]
        if named >= 30:
            os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


async def test_a_naming_of_null_versions_stopped_midway_goes_on_at_the_next_start(
    tmp_path: Path,
) -> None:
    """The first PutBucketVersioning names the null versions a batch per transaction; a
    process killed between two batches used to leave the later keys unnamed for good
    (no ``x-amz-version-id: null``). Where it stopped is recorded with each batch, and
    the next process to start names the rest."""
    sibling = fs_helpers.sibling(_STOPPED_MIDWAY, tmp_path)
    sibling.wait(timeout=60)
    assert sibling.returncode == -signal.SIGKILL
    b = FilesystemBackend(tmp_path, fsync=False, temp_sweep_interval=0)
    db = tmp_path / "meta" / "meta.sqlite3"
    conn = sqlite3.connect(db)
    try:
        named, pending = conn.execute(
            "SELECT (SELECT count(*) FROM objects WHERE version_id = 'null'),"
            " (SELECT count(*) FROM objects WHERE version_id IS NULL)"
        ).fetchone()
        assert named >= 30 and pending > 0  # stopped midway
        assert conn.execute("SELECT bucket FROM null_naming").fetchall() == [("big",)]
    finally:
        conn.close()
    b.null_version_batch = 10
    await b.start()
    try:
        assert b._naming is not None
        await b._naming  # started by start(), in the background
        for key in ("k00000", "k00500", "k00999"):
            assert (await b.head_object("big", key)).version_id == "null"
        left = b.db.conn.execute(
            "SELECT count(*) FROM objects WHERE version_id IS NULL"
        ).fetchone()[0]
        assert left == 0
        assert b.db.conn.execute("SELECT count(*) FROM null_naming").fetchone()[0] == 0
    finally:
        await b.close()


async def test_a_pending_naming_of_a_bucket_deleted_and_made_again_names_nothing(
    backend: FilesystemBackend,
) -> None:
    """A record left for a bucket that was deleted and made again, never versioned, goes
    without naming its objects (a never-versioned bucket answers no version id)."""
    await backend.create_bucket("again")
    await backend.put_object("again", "k", payload(b"x"), ObjectMeta())
    with backend.db.write() as conn:
        versions.start_null_naming(conn, "again")
    await backend.name_pending_null_versions()
    assert (await backend.head_object("again", "k")).version_id is None
    assert backend.db.conn.execute("SELECT count(*) FROM null_naming").fetchone()[0] == 0


def _whole_listing(
    history: dict[str, list[tuple[str, bool]]], prefix: str, delimiter: str | None
) -> tuple[list[tuple[str, str, bool, bool]], list[str]]:
    """What S3's ListObjectVersions, paged to its end, lists of ``history`` (key -> its
    versions newest first, as (version id, is a delete marker)): every version of every
    key under ``prefix`` once, keys in byte order and newest first within a key, the
    newest ``IsLatest``; keys rolled up at ``delimiter`` into common prefixes, once each."""
    versions: list[tuple[str, str, bool, bool]] = []
    prefixes: list[str] = []
    for key in sorted(history, key=str.encode):
        if not key.startswith(prefix):
            continue
        if delimiter:
            at = key.find(delimiter, len(prefix))
            if at >= 0:
                rolled = key[: at + len(delimiter)]
                if rolled not in prefixes:
                    prefixes.append(rolled)
                continue
        for n, (version_id, marker) in enumerate(history[key]):
            versions.append((key, version_id, marker, n == 0))
    return versions, prefixes


@pytest.mark.parametrize("seed", range(3))
async def test_paged_listings_list_every_version_once(
    backend: FilesystemBackend, seed: int
) -> None:
    """Paged ListObjectVersions, with and without a prefix and a delimiter, at page sizes
    that end pages inside a key's versions and between keys, against a model of S3's
    listing. (A prefix's upper bound and the page's last key were once bound to each
    other's placeholders: a full page of noncurrent versions then left out the current
    version of its last key and called an older one the latest.)"""
    rng = random.Random(seed)
    keys = sorted(
        {"".join(rng.choice("ab/-") for _ in range(rng.randint(1, 4))) for _ in range(30)}
    )
    history: dict[str, list[tuple[str, bool]]] = {}
    for _ in range(80):
        key = rng.choice(keys)
        if key in history and rng.random() < 0.2:
            result = await backend.delete_object("vb", key)
            assert result.delete_marker_version_id is not None
            history[key].insert(0, (result.delete_marker_version_id, True))
        else:
            history.setdefault(key, []).insert(0, (await put(backend, key, b"x"), False))
    for prefix in ("", "a", "a/", "b-", "/", "ab"):
        for delimiter in (None, "/", "-", "a/"):
            for max_keys in (1, 2, 3, 7, 1000):
                versions: list[tuple[str, str, bool, bool]] = []
                prefixes: list[str] = []
                key_marker = version_marker = None
                for _ in range(500):
                    page = await backend.list_object_versions(
                        "vb",
                        prefix=prefix,
                        delimiter=delimiter,
                        key_marker=key_marker,
                        version_id_marker=version_marker,
                        max_keys=max_keys,
                    )
                    assert len(page.versions) + len(page.common_prefixes) <= max_keys
                    versions += [
                        (v.info.key, str(v.info.version_id), v.delete_marker, v.is_latest)
                        for v in page.versions
                    ]
                    prefixes += page.common_prefixes
                    if not page.is_truncated:
                        break
                    key_marker, version_marker = page.next_key_marker, page.next_version_id_marker
                else:
                    raise AssertionError("the listing never ended")
                expected = _whole_listing(history, prefix, delimiter)
                assert (versions, prefixes) == expected, (prefix, delimiter, max_keys)
