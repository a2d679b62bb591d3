"""Writes ``datadir-v0/storage``: a filesystem-backend data directory of schema version 0.

Kept for the record: it was run once with the backend of commit ``db741e1`` (before
versioning) and its output is checked in, so the migration tests start from bytes the
old code wrote. Running it with newer code would write a newer schema.

    python tests/backends/testdata/make_datadir_v0.py
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from backends.filesystem import FilesystemBackend  # noqa: E402
from backends.types import CopySource, ObjectMeta  # noqa: E402
from tests.backends import legacy_data as spec  # noqa: E402


class Body:
    def __init__(self, data: bytes, checksums: Mapping[str, str]) -> None:
        self.data = data
        self._checksums = dict(checksums)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        yield self.data

    @property
    def checksums(self) -> Mapping[str, str]:
        return self._checksums


async def main() -> None:
    target = Path(__file__).resolve().parent / "datadir-v0" / "storage"
    shutil.rmtree(target, ignore_errors=True)
    backend = FilesystemBackend(target, fsync=False, min_part_size=spec.PART_SIZE)
    await backend.start()
    for bucket, region in spec.BUCKETS.items():
        await backend.create_bucket(bucket, region=region)
    for obj in spec.OBJECTS:
        meta = ObjectMeta(
            content_type=obj.content_type,
            user_metadata=obj.user_metadata,
            cache_control=obj.cache_control,
            content_disposition=obj.content_disposition,
        )
        sums = {"CRC32": spec.crc32(obj.data)} if obj.checksum else {}
        await backend.put_object(obj.bucket, obj.key, Body(obj.data, sums), meta)
    bucket, key, source = spec.COPIED
    await backend.copy_object(CopySource(bucket, source), bucket, key)
    bucket, key, parts = spec.MULTIPART
    upload = await backend.create_multipart_upload(bucket, key, ObjectMeta())
    listed = []
    for number, data in enumerate(parts, start=1):
        part = await backend.upload_part(bucket, key, upload.upload_id, number, Body(data, {}))
        listed.append((number, part.etag))
    await backend.complete_multipart_upload(bucket, key, upload.upload_id, listed)
    bucket, key, data = spec.PENDING_UPLOAD
    pending = await backend.create_multipart_upload(bucket, key, ObjectMeta())
    await backend.upload_part(bucket, key, pending.upload_id, 1, Body(data, {}))
    bucket, key = spec.DELETED
    await backend.put_object(bucket, key, Body(b"deleted before the migration", {}), ObjectMeta())
    await backend.delete_object(bucket, key)
    await backend.close()
    (target / "meta" / "lock").unlink()


if __name__ == "__main__":
    asyncio.run(main())
