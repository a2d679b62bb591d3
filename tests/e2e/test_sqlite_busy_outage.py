"""The SQLite state store held locked by another process is an outage in the log.

A write lock another process holds past the busy timeout is the one SQLite failure that
answers 503 (``StoreUnavailable``: try again soon); it logged nothing of its own, while
PostgreSQL's outages log a line when they start and one when they end
(``backends.outage``). Now SQLite's do too (and what kept asking meanwhile, the
rate limiter and the flushers, logs the same shape), never a traceback. Real gateway
process, REST over real sockets, the lock taken by this test's own SQLite connection.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.e2e.gateway_process import start_gateway
from tests.e2e.rest_util import call, make_key


def _lines(log: str, what: str) -> tuple[list[str], list[str]]:
    lines = log.splitlines()
    return (
        [line for line in lines if f"{what} unavailable: " in line],
        [line for line in lines if f"{what} available again after " in line],
    )


def test_a_lock_held_past_the_busy_timeout_is_logged_as_an_outage(tmp_path: Path) -> None:
    gw = start_gateway(tmp_path / "data")
    try:
        make_key(gw, scopes=["read:buckets"])
        holder = sqlite3.connect(tmp_path / "data" / "identity.db", isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            status, _, body = call(
                gw,
                "POST",
                "/v1/access-keys",
                headers={"Authorization": f"Bearer {gw.secret_key}"},
                body={"name": "while-locked", "scopes": ["read:buckets"]},
            )
            assert status == 503, body
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        make_key(gw, scopes=["read:buckets"])  # its commit ends the outage
    finally:
        gw.stop()
    log = gw.log()
    assert "Traceback" not in log, log
    starts, ends = _lines(log, "the SQLite state store")
    assert len(starts) == 1 and len(ends) == 1, log
    assert log.index(starts[0]) < log.index(ends[0])
