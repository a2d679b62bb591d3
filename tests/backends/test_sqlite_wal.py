"""Opening a new SQLite store from several processes at once: the switch to WAL waits
for the lock instead of failing (a ``--workers N`` start on a new data directory)."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pytest

from backends.filesystem.metadb import MetaDB
from backends.sqlite_wal import journal_mode_wal


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
