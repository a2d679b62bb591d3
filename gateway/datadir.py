"""The data directory is private: 0700 directories and 0600 files, whatever the umask.

Everything under the data directory is either secret (the master key, the identity
database) or the users' data (object bytes, the metadata database that names every key).
So the server process works with umask 077 (:func:`prepare`), and the modules that create
files set the mode explicitly as well (``backends.filesystem.files``, the identity schema,
the master key), since a umask can only take permissions away and an operator's umask of,
say, 0277 would otherwise leave the gateway unable to write what it created.

At start-up :func:`check_modes` looks at what is already there (written by an older
release, restored from a backup, or changed by hand) and logs one warning per kind of
path that group or others may read or write, never one per file. It does not change
modes itself: an operator may have widened them on purpose (a backup agent's group).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from backends.filesystem.file_ops import DIR_MODE, FILE_MODE, allocate, make_private_dir

__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "PRIVATE_UMASK",
    "SERVE_LOCK",
    "Busy",
    "Loose",
    "allocate",
    "alone",
    "check_modes",
    "make_private_dir",
    "prepare",
    "serving",
]

log = logging.getLogger("nfyio.datadir")

SERVE_LOCK = "serve.lock"
"""Locked shared by every ``serve`` on the data directory, exclusively by a command that
must run alone on it (``rotate-master-key``)."""

PRIVATE_UMASK = 0o077
_OTHERS = 0o077


class Busy(RuntimeError):
    """A gateway is serving from the data directory."""


def _lock_file(data_dir: Path) -> int:
    make_private_dir(data_dir)
    return os.open(data_dir / SERVE_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)


@contextlib.contextmanager
def serving(data_dir: Path) -> Iterator[None]:
    """Held while ``serve`` runs (workers forked inside share it). Waits, saying so, while
    a command that must run alone holds the data directory."""
    fd = _lock_file(data_dir)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("waiting: a maintenance command (rotate-master-key) holds %s", data_dir)
            fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def alone(data_dir: Path) -> Iterator[None]:
    """Run the block with no ``serve`` on this data directory, and none starting meanwhile.
    Raises :class:`Busy` when one is running. Gateways on other hosts sharing a
    PostgreSQL state store are not seen: stopping them is the operator's part."""
    fd = _lock_file(data_dir)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(f"a gateway is serving from {data_dir}: stop it first") from None
        yield
    finally:
        os.close(fd)


def prepare(data_dir: Path) -> list[Loose]:
    """Called once by ``nfyio-gateway serve`` before anything opens the data directory:
    umask 077 for this process (and the workers it forks), the directory created 0700,
    the modes of what is already there checked (warnings logged; returned for tests)."""
    os.umask(PRIVATE_UMASK)
    make_private_dir(data_dir)
    found = check_modes(data_dir)
    for loose in found:
        log.warning("%s", loose.message())
    return found


@dataclass
class Loose:
    """Paths of one kind that group or others may access."""

    kind: str
    example: str
    example_mode: int
    directories: bool
    count: int = 0

    def message(self) -> str:
        wanted, kind = ("700", "d") if self.directories else ("600", "f")
        noun = "path" if self.count == 1 else "paths"
        return (
            f"{self.count} {self.kind} {noun} can be read or written by group or others "
            f"(e.g. {self.example}, mode {self.example_mode:04o}); the gateway creates them "
            f"0{wanted}. To fix: find <data-dir> -type {kind} -exec chmod {wanted} {{}} +"
        )


# The kind of a path under the data directory, by its place (first match wins).
_KINDS: tuple[tuple[str, str], ...] = (
    ("storage/objects/", "object data"),
    ("storage/parts/", "multipart part"),
    ("storage/tmp/", "upload temp"),
    ("storage/meta/", "object metadata database"),
    ("storage/", "storage"),
    ("run/", "runtime"),
    ("identity.db", "identity database"),
    ("master.key", "master key"),
    ("previous-master-keys/", "previous master key"),
)


def _kind(relative: str, *, directory: bool) -> str:
    for prefix, kind in _KINDS:
        if relative == prefix.rstrip("/") or relative.startswith(prefix):
            return f"{kind} directory" if directory else f"{kind} file"
    return "directory" if directory else "file"


def _walk(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """(path relative to ``root``, lstat) of ``root`` and everything under it; symbolic
    links are reported, never followed."""
    yield "", os.lstat(root)
    stack = [root]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            relative = os.path.relpath(entry.path, root)
            yield relative, info
            if stat.S_ISDIR(info.st_mode):
                stack.append(Path(entry.path))


def check_modes(data_dir: Path) -> list[Loose]:
    """Every path under ``data_dir`` whose mode grants group or others anything, grouped
    by kind (the data directory itself, object files, part files, databases, ...)."""
    if not data_dir.exists():
        return []
    found: dict[str, Loose] = {}
    for relative, info in _walk(data_dir):
        mode = stat.S_IMODE(info.st_mode)
        if stat.S_ISLNK(info.st_mode) or not mode & _OTHERS:
            continue
        directory = stat.S_ISDIR(info.st_mode)
        kind = "data directory" if not relative else _kind(relative, directory=directory)
        loose = found.get(kind)
        if loose is None:
            loose = found[kind] = Loose(
                kind,
                example=str(data_dir / relative) if relative else str(data_dir),
                example_mode=mode,
                directories=directory,
            )
        loose.count += 1
    return sorted(found.values(), key=lambda item: item.kind)
