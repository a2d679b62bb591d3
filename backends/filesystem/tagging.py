"""Object tagging of the filesystem backend (mixed into ``FilesystemBackend``): each
version's tag set is its row's ``tags`` column (schema version 3, ``migrations.py``), so
changing it touches neither the data nor the version."""

from __future__ import annotations

from backends.filesystem.columns import tags_from_json, tags_to_json
from backends.filesystem.metadb import ObjectRow
from backends.filesystem.versioning import VersioningMixin, delete_marker_refused
from backends.filesystem.versions import VersionRow, locate, no_such_version, set_tags
from backends.types import ObjectTagging, Tags

__all__ = ["TaggingMixin"]


class TaggingMixin(VersioningMixin):
    def _taggable(self, bucket: str, key: str, version_id: str | None) -> ObjectRow | VersionRow:
        """The row of the version a tagging request names (in the caller's transaction,
        if any): the latest version or the one named; never a delete marker."""
        if version_id is None:
            return self.find(bucket, key)
        found = locate(self.db.conn, bucket, key.encode("utf-8"), version_id)
        if found is None:
            self.db.require_bucket(bucket)
            raise no_such_version(key, version_id)
        if isinstance(found, VersionRow) and found.marker:
            raise delete_marker_refused(found)
        return found

    async def get_object_tagging(
        self, bucket: str, key: str, *, version_id: str | None = None
    ) -> ObjectTagging:
        row = self._taggable(bucket, key, version_id)
        return ObjectTagging(tags_from_json(row.tags), row.version_id)

    async def put_object_tagging(
        self, bucket: str, key: str, tags: Tags, *, version_id: str | None = None
    ) -> str | None:
        with self.db.write() as conn:
            row = self._taggable(bucket, key, version_id)
            set_tags(conn, bucket, row, tags_to_json(tags))
        return row.version_id
