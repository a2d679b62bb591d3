"""The filesystem backend stores retain-until dates to the millisecond, the precision
``backends.locks`` fixes for every date (a client's, at parse; a default retention's, where
it is counted): the stored date is the date answered and compared. A default retention
runs from the version's creation time, which has microseconds."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from backends.filesystem import FilesystemBackend
from backends.types import DefaultRetention, ObjectLockConfig, ObjectMeta
from tests.backends.test_contract import payload


async def test_a_default_retention_is_stored_to_the_millisecond(tmp_path: Path) -> None:
    fs = FilesystemBackend(tmp_path / "data", fsync=False)
    await fs.start()
    try:
        await fs.create_bucket("lb", object_lock=True)
        default = ObjectLockConfig(DefaultRetention("GOVERNANCE", days=1))
        await fs.put_object_lock_configuration("lb", default)
        answered = []
        for i in range(5):  # a creation time on a whole millisecond: 1 in 1,000
            await fs.put_object("lb", f"k{i}", payload(b"x"), ObjectMeta())
            answered.append((await fs.get_object_lock("lb", f"k{i}")).retain_until)
    finally:
        await fs.close()
    with sqlite3.connect(tmp_path / "data" / "meta" / "meta.sqlite3") as conn:
        rows = conn.execute("SELECT lock FROM objects WHERE bucket = 'lb' ORDER BY key").fetchall()
    stored = [json.loads(lock)["until"] for (lock,) in rows]
    assert len(stored) == 5
    assert [us % 1000 for us in stored] == [0] * 5
    assert [d is not None and d.microsecond % 1000 for d in answered] == [0] * 5
