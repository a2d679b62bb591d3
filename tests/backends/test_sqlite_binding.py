"""``bytes`` and ``None`` parameters bind without the adaptation probe
(``backends/sqlite_binding.py``), and bind exactly as before."""

from __future__ import annotations

import sqlite3

import backends.filesystem.metadb  # noqa: F401  (imports the binding)
import gateway.identity.db_sqlite  # noqa: F401
from backends.sqlite_binding import installed


def test_the_stores_install_the_identity_adapters() -> None:
    assert installed()


def test_values_bind_as_before() -> None:
    class Key(bytes):
        """A subclass still goes through the probe (adapters are looked up by type)."""

    conn = sqlite3.connect(":memory:")
    try:
        row = conn.execute(
            "SELECT ?, typeof(?), ?, typeof(?), ?, typeof(?)",
            (b"k\x00", b"k\x00", None, None, Key(b"s"), Key(b"s")),
        ).fetchone()
    finally:
        conn.close()
    assert row == (b"k\x00", "blob", None, "null", b"s", "blob")
