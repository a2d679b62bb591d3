"""Opening a new SQLite store from several processes at once: the switch to WAL waits
for the lock instead of failing (a ``--workers N`` start on a new data directory); and
``CommitWatch``, which must move whenever SQLite itself says a database changed (an exact
cache trusts it to see every revocation)."""

from __future__ import annotations

import multiprocessing
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from backends.filesystem.metadb import MetaDB
from backends.sqlite_wal import CommitWatch, ExactCache, journal_mode_wal


def _locked(path: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def test_waits_while_another_connection_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    holder = _locked(path)
    conn = sqlite3.connect(path, isolation_level=None, timeout=0, check_same_thread=False)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        conn.execute("PRAGMA journal_mode = WAL")  # without the retry: fails at once
    release = threading.Timer(0.3, holder.execute, args=("COMMIT",))
    release.start()
    try:
        assert journal_mode_wal(conn, 5.0) == "wal"
    finally:
        release.join()
        holder.close()
        conn.close()


def test_gives_up_after_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    holder = _locked(path)
    conn = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            journal_mode_wal(conn, 0.2)
    finally:
        holder.execute("COMMIT")
        holder.close()
        conn.close()


def _open_metadb(path: Path, start: threading.Barrier) -> None:
    start.wait()
    MetaDB(path).conn.close()


def test_metadata_databases_opened_together(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    path = tmp_path / "meta.db"
    for _round in range(5):
        path.unlink(missing_ok=True)
        start = context.Barrier(4)
        processes = [context.Process(target=_open_metadb, args=(path, start)) for _ in range(4)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(30)
        assert [p.exitcode for p in processes] == [0, 0, 0, 0]
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        conn.close()


def _wal_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    assert journal_mode_wal(conn, 5.0) == "wal"
    conn.execute("CREATE TABLE t (x)")
    return conn


@contextmanager
def watched_db(path: Path) -> Iterator[tuple[sqlite3.Connection, CommitWatch]]:
    """A WAL database with a table ``t``, its owning connection and its usable watch;
    the connection closed before the watch (the watch's lifetime rule)."""
    owner = _wal_db(path)
    watch = CommitWatch.open(path)
    assert watch is not None and watch.usable
    try:
        yield owner, watch
    finally:
        owner.close()
        watch.close()


def _commit_elsewhere(path: Path, sql: str) -> None:
    """``sql`` committed by another process, as another worker or the CLI would."""
    script = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute(sys.argv[2])\n"
        "c.close()\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path), sql], check=True)


def test_commit_watch_moves_whenever_sqlite_sees_a_change(tmp_path: Path) -> None:
    """Each step below runs, then both signals are read: SQLite's ``data_version`` on a
    reader connection, and the watch. Whenever the first moved, the watch must show a
    value never seen before; when nothing was committed, it must stay (else the cache
    it serves would never hit)."""
    path = tmp_path / "db.sqlite"
    owner = _wal_db(path)
    other = sqlite3.connect(path, isolation_level=None)
    reader = sqlite3.connect(path, isolation_level=None)
    watch = CommitWatch.open(path)
    assert watch is not None and watch.usable

    def data_version() -> int:
        return int(reader.execute("PRAGMA data_version").fetchone()[0])

    def rolled_back() -> None:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (0)")
        other.execute("ROLLBACK")

    steps: list[tuple[str, Callable[[], object], bool | None]] = [
        ("a read", lambda: owner.execute("SELECT count(*) FROM t").fetchone(), False),
        ("a commit by this process", lambda: other.execute("INSERT INTO t VALUES (1)"), True),
        ("a rolled-back write", rolled_back, False),
        (
            "a commit by another process",
            lambda: _commit_elsewhere(path, "INSERT INTO t VALUES (2)"),
            True,
        ),
        ("a passive checkpoint", lambda: other.execute("PRAGMA wal_checkpoint(PASSIVE)"), False),
        ("a commit after it", lambda: other.execute("INSERT INTO t VALUES (3)"), True),
        ("a truncating checkpoint", lambda: other.execute("PRAGMA wal_checkpoint(TRUNCATE)"), None),
        # the WAL starts over: the same frame count as before, new salts
        (
            "a commit into the restarted WAL",
            lambda: other.execute("INSERT INTO t VALUES (4)"),
            True,
        ),
        (
            "another process, restarted WAL",
            lambda: _commit_elsewhere(path, "UPDATE t SET x = x + 1"),
            True,
        ),
        ("a schema change", lambda: other.execute("CREATE INDEX i ON t (x)"), True),
        ("a delete", lambda: other.execute("DELETE FROM t WHERE x = 2"), True),
        ("a read again", lambda: reader.execute("SELECT * FROM t").fetchall(), False),
    ]
    seen = {watch.marker()}
    version = data_version()
    try:
        for name, step, changes in steps:
            before = watch.marker()
            step()
            now_version, marker = data_version(), watch.marker()
            if now_version != version:
                assert marker not in seen, f"{name}: SQLite saw a change the watch did not"
            if changes is not None:
                assert (marker != before) == changes, name
            seen.add(marker)
            version = now_version
        for _ in range(50):  # many small commits in a row, each its own marker
            other.execute("INSERT INTO t VALUES (5)")
            marker = watch.marker()
            assert marker not in seen
            seen.add(marker)
    finally:
        for conn in (reader, other, owner):
            conn.close()
        watch.close()  # after the connections (the lifetime rule)


def test_commit_watch_declines_what_it_cannot_read(tmp_path: Path) -> None:
    """No WAL index (rollback journal, no file): no watch. One not in the known format:
    a watch that is not ``usable`` (the store asks SQLite: ``PRAGMA data_version``),
    which still keeps its descriptor until closed (the lifetime rule)."""
    missing = tmp_path / "missing.sqlite"
    assert CommitWatch.open(missing) is None
    journal = tmp_path / "journal.sqlite"
    conn = sqlite3.connect(journal, isolation_level=None)
    conn.execute("CREATE TABLE t (x)")
    try:
        assert CommitWatch.open(journal) is None
    finally:
        conn.close()
    owner = _wal_db(tmp_path / "copy.sqlite")
    try:
        header = (tmp_path / "copy.sqlite-shm").read_bytes()[:96]
    finally:
        owner.close()
    one = header[:48]
    assert header == one + one  # the file as SQLite leaves it: two equal copies
    forged = tmp_path / "forged.sqlite"
    for name, shm in [
        ("short", one[:40]),
        ("the copies differ", one + bytes(48)),
        ("another version", 2 * ((3007001).to_bytes(4, sys.byteorder) + one[4:])),
        ("not initialised", 2 * (one[:12] + b"\x00" + one[13:])),
        ("as SQLite writes it", header),
    ]:
        Path(f"{forged}-shm").write_bytes(shm.ljust(32768, b"\x00") if len(shm) >= 96 else shm)
        watch = CommitWatch.open(forged)
        assert watch is not None
        try:
            assert watch.usable == (name == "as SQLite writes it"), name
        finally:
            watch.close()


_DMS_HELD = """
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
# F_GETLK for a write lock on the byte SQLite's unix VFS read-locks while the shared
# memory is in use (its "dead man switch", offset 128 of the -shm file)
probe = struct.pack("@hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 128, 1, 0)
held = struct.unpack("@hhqqi4x", fcntl.fcntl(fd, fcntl.F_GETLK, probe))[0]
print("held" if held != fcntl.F_UNLCK else "free")
"""


def _dms_lock(path: Path) -> str:
    probe = [sys.executable, "-c", _DMS_HELD, f"{path}-shm"]
    return subprocess.run(probe, check=True, capture_output=True, text=True).stdout.strip()


def test_a_watch_never_drops_the_locks_sqlite_holds(tmp_path: Path) -> None:
    """POSIX record locks belong to the process: closing any descriptor of the ``-shm``
    file would drop SQLite's lock on it, and the next process to open the database would
    reset the shared memory under this process (a worker died of SIGBUS that way when a
    watch closed the descriptor it had mapped). Another process checks the lock."""
    path = tmp_path / "db.sqlite"
    owner = _wal_db(path)
    try:
        assert _dms_lock(path) == "held"  # SQLite's, with the connection open
        watch = CommitWatch.open(path)
        assert watch is not None and watch.usable
        assert _dms_lock(path) == "held"
        _commit_elsewhere(path, "INSERT INTO t VALUES (1)")  # a second process comes and goes
        assert _dms_lock(path) == "held"
        watch.marker()  # the mapping is still good
    finally:
        owner.close()
    watch.close()


def test_exact_cache_keeps_answers_only_while_nothing_is_committed(tmp_path: Path) -> None:
    with watched_db(tmp_path / "db.sqlite") as (owner, watch):
        cache: ExactCache[str, int] = ExactCache(watch, max_entries=2, max_weight=100)
        found, marker = cache.get("a")
        assert found is None
        cache.put("a", marker, 1, 1)
        assert cache.get("a") == (1, marker)

        owner.execute("INSERT INTO t VALUES (1)")  # a commit: every answer goes
        found, marker = cache.get("a")
        assert found is None and len(cache) == 0

        # a reader whose answer predates a commit that another reader has seen since
        # (threads, or a read with an await in it): that answer is not kept
        _, first_marker = cache.get("a")
        owner.execute("INSERT INTO t VALUES (2)")
        _, marker = cache.get("b")
        cache.put("a", first_marker, 2, 1)
        assert cache.get("a")[0] is None
        cache.put("a", marker, 3, 1)
        assert cache.get("a")[0] == 3

        cache.put("b", marker, 4, 1)
        cache.put("c", marker, 5, 1)  # bounded: the oldest goes
        assert (cache.get("a")[0], cache.get("b")[0], cache.get("c")[0]) == (None, 4, 5)
