"""The full-disk reserve (``meta/reserve``): a delete that finds the disk full gives it
back and retries, and no refill - by a removal thread of the same process or by a sibling
worker - takes that room back before the retry used it.

``keep_reserve`` runs on I/O and background removal threads after every delete that freed
files, and in every worker; it used to be able to run between a delete's
``release_reserve`` and its retried transaction, allocate the room again, and the delete
failed on the full disk after all. The disk here is a small tmpfs mounted in a private
mount namespace (``unshare --mount --map-root-user``, as ``tests/security/
test_full_filesystem.py`` does), and the refill runs exactly in that window: the schedule
the race needs, made deterministic.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backends.filesystem import FilesystemBackend
from backends.filesystem.files import RESERVE
from backends.filesystem.metadb import truncate_wal

REPO = Path(__file__).resolve().parents[2]

_FULL_DISK_DELETE = """
import asyncio, os, sqlite3, sys, threading
from pathlib import Path
from backends import BackendError
from backends.errors import storage_full
from backends.filesystem import FilesystemBackend
from backends.types import ObjectMeta
from tests.backends.fs_helpers import body

async def main():
    b = FilesystemBackend(Path(sys.argv[1]), fsync=True, temp_sweep_interval=0)
    await b.start()
    files = b.files
    await b.create_bucket("bk")
    n = 0
    for size in (1 << 20, 128 << 10, 16 << 10, 1 << 10):  # data files, then inline rows
        while True:
            n += 1
            try:
                await b.put_object("bk", f"fill-{n}", body(os.urandom(size)), ObjectMeta())
            except (BackendError, OSError, sqlite3.Error) as exc:
                assert storage_full(exc) or getattr(exc, "code", "") == "ServiceUnavailable"
                break
    release = files.release_reserve
    refilled = []

    def release_then_refill():
        released = release()
        # an earlier delete's removal thread refills now, before the retried transaction
        refill = threading.Thread(target=files.keep_reserve)
        refill.start()
        refill.join()
        refilled.append((files.meta_dir / "reserve").exists())
        return released

    files.release_reserve = release_then_refill
    try:
        # every object at once: more WAL frames than the failed last PUT left written
        # in the WAL (uncommitted frames the next transaction reuses), so that the
        # first try finds the disk full whatever the schema's exact page counts
        await b.delete_objects("bk", [(f"fill-{i}", None) for i in range(1, n)])
    except (BackendError, OSError, sqlite3.Error) as exc:
        print("failed", repr(exc), refilled, flush=True)
    else:
        print("deleted", refilled, flush=True)
    await b.close()

asyncio.run(main())
"""


def test_a_refill_leaves_a_full_disk_delete_the_room_it_released(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    script = 'mount -t tmpfs -o size=24m,mode=0700 tmpfs "$0" && exec "$@"'
    on_own_tmpfs = ["unshare", "--mount", "--map-root-user", "sh", "-c", script, str(data)]
    done = subprocess.run(
        [*on_own_tmpfs, sys.executable, "-c", _FULL_DISK_DELETE, str(data)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    # the delete released the reserve once (the disk was full), the refill in between
    # left it missing, and the retry had the room
    assert done.stdout.splitlines() == ["deleted [False]"], done.stdout + done.stderr


_SIBLING_REFILL = """
import sys
from pathlib import Path
from backends.filesystem.files import DataStore

files = DataStore(Path(sys.argv[1]), fsync=False)
files.create_dirs()  # its own temp directory, as a worker has
files.keep_reserve()
files.close()
"""


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[FilesystemBackend]:
    b = FilesystemBackend(tmp_path, fsync=False, temp_sweep_interval=0)
    await b.start()
    yield b
    await b.close()


def _sibling_refills(data_dir: Path) -> None:
    subprocess.run(
        [sys.executable, "-c", _SIBLING_REFILL, str(data_dir)],
        cwd=REPO,
        check=True,
        timeout=60,
    )


async def test_a_sibling_worker_does_not_refill_a_released_reserve(
    backend: FilesystemBackend, tmp_path: Path
) -> None:
    reserve = backend.files.meta_dir / RESERVE
    assert reserve.exists()
    with backend.files.reserve_released() as released:
        assert released and not reserve.exists()
        _sibling_refills(tmp_path)  # another process, its own descriptor on the lock
        assert not reserve.exists()
    with backend.files.reserve_released() as released:
        assert not released  # none to give: the caller's retry does not happen
    _sibling_refills(tmp_path)  # once the delete is done, refills work again
    assert reserve.exists()


_INLINE_DELETES = """
import asyncio, os, sqlite3, sys
from pathlib import Path
from backends import BackendError
from backends.errors import storage_full
from backends.filesystem import FilesystemBackend
from backends.types import ObjectMeta
from tests.backends.fs_helpers import body

def free():
    st = os.statvfs(sys.argv[1])
    return st.f_bavail * st.f_frsize

async def fill(b, size, prefix, until=0):
    n = 0
    while free() > until:
        n += 1
        try:
            await b.put_object("bk", f"{prefix}{n}", body(os.urandom(size)), ObjectMeta())
        except (BackendError, OSError, sqlite3.Error) as exc:
            assert storage_full(exc) is not None, repr(exc)
            return

async def main():
    b = FilesystemBackend(Path(sys.argv[1]), fsync=True, temp_sweep_interval=0)
    await b.start()
    reserve = b.files.meta_dir / "reserve"
    await b.create_bucket("bk")
    await fill(b, 1 << 20, "f", until=600 << 10)  # data files, to some room left
    await fill(b, 16 << 10, "k")  # then inline objects, to a full disk
    await fill(b, 1 << 10, "s")
    await b.delete_object("bk", "k1")  # released the reserve, then made it again
    print("after one", reserve.exists(), flush=True)
    await b.delete_object("bk", "k2")  # the reserve was there: nothing released
    print("after two", reserve.exists(), flush=True)
    await b.close()

asyncio.run(main())
"""


def _on_own_tmpfs(data: Path, size: str) -> list[str]:
    script = f'mount -t tmpfs -o size={size},mode=0700 tmpfs "$0" && exec "$@"'
    return ["unshare", "--mount", "--map-root-user", "sh", "-c", script, str(data)]


def test_deleting_inline_objects_on_a_full_disk_makes_the_reserve_again(tmp_path: Path) -> None:
    # their pages stay in the database (free for its next writes); the WAL's room, given
    # back by a checkpoint, makes the reserve again, so the next delete finds one too.
    # It used to stay missing: only a delete that unlinked data files refilled it. The
    # reserve (1/64 of 64 MiB) is more than the checkpoint adds to the database here: the
    # WAL holds under 600 KiB of new pages (with a reserve smaller than that, the refill
    # finds no room; the default's 16 MiB is more than the WAL's usual 4 MB).
    data = tmp_path / "data"
    data.mkdir()
    done = subprocess.run(
        [*_on_own_tmpfs(data, "64m"), sys.executable, "-c", _INLINE_DELETES, str(data)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["after one True", "after two True"], (
        done.stdout + done.stderr
    )


_TOO_LARGE = """
import asyncio, os, sqlite3, sys
from pathlib import Path
from backends import BackendError
from backends.errors import storage_full
from backends.filesystem import FilesystemBackend
from backends.types import ObjectMeta
from tests.backends.fs_helpers import body

async def main():
    b = FilesystemBackend(Path(sys.argv[1]), fsync=True, temp_sweep_interval=0)
    await b.start()
    await b.create_bucket("bk")
    n = 0
    while True:
        n += 1
        try:
            await b.put_object("bk", f"k{n}", body(os.urandom(60 << 10)), ObjectMeta())
        except (BackendError, OSError, sqlite3.Error) as exc:
            assert storage_full(exc) is not None, repr(exc)
            break
    try:  # far more than the reserve holds: secure_delete rewrites every page
        await b.delete_objects("bk", [(f"k{i}", None) for i in range(1, n)])
    except (BackendError, OSError, sqlite3.Error) as exc:
        print("refused", storage_full(exc) is not None, flush=True)
    await b.close()

asyncio.run(main())
"""


def test_a_delete_too_large_for_the_reserve_is_refused_as_a_full_disk(tmp_path: Path) -> None:
    # SQLite rolls a transaction back itself on SQLITE_FULL; the second ROLLBACK raised
    # "cannot rollback - no transaction is active" over it: a 500, not the 503
    data = tmp_path / "data"
    data.mkdir()
    done = subprocess.run(
        [*_on_own_tmpfs(data, "24m"), sys.executable, "-c", _TOO_LARGE, str(data)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["refused True"], done.stdout + done.stderr


def test_the_wal_truncation_waits_as_long_as_storage_busy_timeout(tmp_path: Path) -> None:
    """``truncate_wal`` (the room a delete of inline objects gives the reserve) waits for
    another connection's write as long as ``storage.busy_timeout`` says, as every
    connection to the database does; it used to give up after a fixed 1 s and leave the
    WAL, and the reserve missing. Here a write holds the lock 3 s under 60 s configured."""
    db = tmp_path / "meta.db"
    writer = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("CREATE TABLE t (v BLOB)")
    writer.execute("INSERT INTO t VALUES (zeroblob(100000))")
    wal = tmp_path / "meta.db-wal"
    assert wal.stat().st_size > 100_000
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES (1)")
    release = threading.Timer(3, writer.execute, ("COMMIT",))
    release.start()
    try:
        truncate_wal(db, busy_timeout_ms=60_000)
    finally:
        release.join()
    try:
        assert wal.stat().st_size == 0
    finally:
        writer.close()
