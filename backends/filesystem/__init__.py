"""The embedded default backend: SQLite metadata, object bytes in files named by id."""

from backends.filesystem.backend import FilesystemBackend

__all__ = ["FilesystemBackend"]
