"""Helpers shared by the filesystem backend tests (bodies, fixtures' building blocks)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from backends.filesystem import FilesystemBackend
from backends.filesystem.inline import inline_bytes, is_inline
from backends.types import ObjectRead


class Body:
    """A ``PayloadStream`` over chunks; optionally raises after ``fail_after`` chunks."""

    def __init__(
        self,
        chunks: Iterable[bytes],
        *,
        checksums: Mapping[str, str] | None = None,
        fail_after: int | None = None,
    ) -> None:
        self._chunks = chunks
        self._checksums = dict(checksums or {})
        self._fail_after = fail_after

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        for i, chunk in enumerate(self._chunks):
            if self._fail_after is not None and i >= self._fail_after:
                raise RuntimeError("client went away")
            yield chunk

    @property
    def checksums(self) -> Mapping[str, str]:
        return self._checksums


def body(data: bytes, chunk: int = 65536, **kwargs: object) -> Body:
    return Body([data[i : i + chunk] for i in range(0, len(data), chunk)] or [b""], **kwargs)  # type: ignore[arg-type]


@asynccontextmanager
async def bucket_backend(root: Path, **settings: Any) -> AsyncIterator[FilesystemBackend]:
    """A started ``FilesystemBackend(root, **settings)`` with the bucket ``bk``, closed
    after."""
    b = FilesystemBackend(root, **settings)
    await b.start()
    try:
        await b.create_bucket("bk")
        yield b
    finally:
        await b.close()


async def read_all(read: ObjectRead) -> bytes:
    out = bytearray()
    async for chunk in read.body:
        out += chunk
    return bytes(out)


REPO = Path(__file__).resolve().parents[2]


def sibling(script: str, data_dir: Path) -> subprocess.Popen[str]:
    """A real sibling process on ``data_dir`` running ``script`` (``sys.argv[1]`` is the
    data directory; it imports the tree under test), its stdout a text pipe."""
    return subprocess.Popen(
        [sys.executable, "-c", script, str(data_dir)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def stored_data(fs: FilesystemBackend) -> list[bytes]:
    """Every object body the backend holds, data files and inline rows alike (sorted): what
    a test of "nothing left behind" counts."""
    files = [p.read_bytes() for p in fs.files.objects_dir.rglob("*") if p.is_file()]
    rows = [bytes(r[0]) for r in fs.db.conn.execute("SELECT data FROM inline_data")]
    return sorted(files + rows)


def stored_bytes(fs: FilesystemBackend, bucket: str, key: str) -> bytes:
    """The bytes as stored (ciphertext for an encrypted object) of ``key``'s current
    version: its data file's, or its inline row's."""
    data_id = fs.find(bucket, key).data_id
    if is_inline(data_id):
        found = inline_bytes(fs.db.conn, data_id)
        assert found is not None
        return found
    return fs.files.object_path(data_id).read_bytes()


_unlinks: list[tuple[int, str]] | None = None
"""(thread id, path) of every ``os.remove`` event while ``unlinked`` records; else None."""


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _unlinks is not None and event == "os.remove":
        _unlinks.append((threading.get_ident(), str(args[0])))


sys.addaudithook(_audit)  # hooks stay for the process: this one costs a test of None


async def unlinked(
    action: Awaitable[object], *, then: Callable[[], object] | None = None
) -> list[tuple[int, str]]:
    """The (thread, path) of every unlink made while ``action`` ran (Python's audit event
    ``os.remove``, which ``os.unlink`` and ``shutil.rmtree`` raise)."""
    global _unlinks
    _unlinks = []
    try:
        await action
        if then is not None:  # e.g. waiting for a background removal to end
            then()
        return _unlinks
    finally:
        _unlinks = None


def on_loop(seen: list[tuple[int, str]]) -> list[str]:
    """The paths of ``seen`` unlinked on this (the event loop's) thread."""
    loop_thread = threading.get_ident()
    return [path for thread, path in seen if thread == loop_thread]
