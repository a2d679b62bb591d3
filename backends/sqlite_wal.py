"""Switching a SQLite database to WAL when several processes open it at once, and telling
a lock held elsewhere from a fault.

``PRAGMA journal_mode = WAL`` on a database another connection is creating or switching
can answer "database is locked" at once, without waiting out the busy timeout (seen with
``--workers N`` opening a new data directory together). Every store the project keeps in
SQLite (the filesystem backend's metadata, the identity store) switches through here.
"""

from __future__ import annotations

import sqlite3
import time

__all__ = ["journal_mode_wal", "lock_busy"]


def lock_busy(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite refused for a lock another connection holds ("database is locked",
    "database table is locked", SQLITE_BUSY): a wait, not a broken database."""
    text = str(exc)
    return "locked" in text or "busy" in text


def journal_mode_wal(conn: sqlite3.Connection, timeout: float) -> str:
    """``PRAGMA journal_mode = WAL`` retried while the lock it needs is held, for at most
    ``timeout`` seconds (the connection's busy timeout, like any other wait for the lock).
    Returns the mode SQLite reports (``"wal"`` unless the file cannot do WAL)."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
        except sqlite3.OperationalError as exc:
            if not lock_busy(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
