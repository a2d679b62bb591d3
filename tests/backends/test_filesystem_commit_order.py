"""Writes of one key by two workers: versions' times follow their commit order.

A write's last-modified time is taken inside the transaction that commits it
(``GroupCommitter.commit``, ``commit_object``, a completion), which holds the database's
write lock: before, it was taken when the body ended, and a write timed later could commit
first (its group's fsyncs were quicker, another worker's group waited), so a key's newer
version carried an older time, and its ownership row (ordered by that time) sorted below
the older version's. Two backends on one data directory stand for two worker processes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from backends.filesystem import FilesystemBackend
from backends.types import ObjectMeta
from tests.backends.fs_helpers import body


async def test_times_follow_commit_order_across_workers(tmp_path: Path) -> None:
    """480 versions of one key written by two workers, four at a time each: listed newest
    first, no version is later than the one listed before it (the old timing failed this
    in every one of three runs)."""
    first = FilesystemBackend(tmp_path, fsync=True, inline_max=0)
    await first.start()
    second = FilesystemBackend(tmp_path, fsync=True, inline_max=0)
    await second.start()
    try:
        await first.create_bucket("bk")
        await first.put_bucket_versioning("bk", "Enabled")

        async def writes(b: FilesystemBackend, tag: bytes) -> None:
            for n in range(60):
                await asyncio.gather(
                    *(
                        b.put_object("bk", "k", body(tag * (4096 + n + i)), ObjectMeta())
                        for i in range(4)
                    )
                )

        await asyncio.gather(writes(first, b"a"), writes(second, b"b"))
        page = await first.list_object_versions("bk", max_keys=1000)
        times = [v.info.last_modified for v in page.versions]
        assert len(times) == 480
        # newest first: each version no later than the one listed before it
        out_of_order = [i for i in range(1, len(times)) if times[i] > times[i - 1]]
        assert out_of_order == []
    finally:
        await second.close()
        await first.close()
