"""Switching a SQLite database to WAL when several processes open it at once.

``PRAGMA journal_mode = WAL`` on a database another connection is creating or switching
can answer "database is locked" at once, without waiting out the busy timeout (seen with
``--workers N`` opening a new data directory together). Every store the project keeps in
SQLite (the filesystem backend's metadata, the identity store) switches through here.
"""

from __future__ import annotations

import sqlite3
import time

__all__ = ["journal_mode_wal"]


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
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
