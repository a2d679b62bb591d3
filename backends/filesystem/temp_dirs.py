"""Temp directories owned by running processes; removing what ended processes left there.

Every process that writes to a data directory receives bodies (and concatenates, copies,
makes the reserve) in a directory of its own, ``tmp/<owner>/`` (32 hex digits), and holds
an exclusive ``flock`` on it for as long as it runs. The kernel drops the lock when the
process ends, however it ends (SIGKILL, the OOM killer), so any other process can tell an
ended owner's directory from a running one's by trying the lock without waiting:
:func:`sweep` removes the directories whose lock it obtains, never one a process still
writes in. A directory is made as ``<owner>.new``, locked, then renamed to ``<owner>``,
so a sweep never sees an owner's directory before it is locked (a ``.new`` left by a
crash in that window goes at the next start-up recovery, which removes everything in
``tmp/`` but the directories whose lock is held: a sibling starting at the same moment
has its own before it takes the data directory's shared lock).

:class:`Trash` unlinks directories in the background: an upload's part directory after
its completion or abort, renamed into the process's own temp directory first, so what a
crash leaves of it is an ended owner's to sweep.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from backends.filesystem.file_ops import DIR_MODE

__all__ = ["OwnTemp", "Trash", "claim", "remove_if_ended", "sweep"]

_OWNER = re.compile(r"[0-9a-f]{32}")
_MAKING = ".new"


@dataclass(frozen=True, slots=True)
class OwnTemp:
    """This process's temp directory and the descriptor that holds its lock."""

    path: Path
    fd: int

    def release(self) -> None:
        """Remove the directory when it is empty and drop the lock (whatever is left in
        it, a background removal cut short, is then an ended owner's to sweep)."""
        try:
            with contextlib.suppress(OSError):
                os.rmdir(self.path)
        finally:
            os.close(self.fd)


_CLAIM_TRIES = 3


def claim(root: Path) -> OwnTemp:
    """Make and lock a temp directory of this process under ``root`` (blocking). A
    sibling's start-up recovery that looks in the moment between the making and the lock
    takes it for an ended owner's and removes it: then it is made again."""
    for _ in range(_CLAIM_TRIES - 1):
        with contextlib.suppress(FileNotFoundError, BlockingIOError):  # removed, or being so
            return _claim_once(root)
    return _claim_once(root)


def _claim_once(root: Path) -> OwnTemp:
    owner = os.urandom(16).hex()
    making = root / (owner + _MAKING)
    os.mkdir(making, DIR_MODE)
    os.chmod(making, DIR_MODE)  # mkdir's mode is reduced by the umask
    fd = os.open(making, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # only a sweep could hold it
        path = root / owner
        os.rename(making, path)
    except BaseException:
        os.close(fd)
        shutil.rmtree(making, ignore_errors=True)
        raise
    return OwnTemp(path, fd)


def sweep(root: Path, own: Path) -> list[str]:
    """Remove the temp directories under ``root`` of processes that have ended; return
    their owners (names). ``own`` (this process's) is passed over, and so is every directory whose
    lock another process holds. Blocking: one ``scandir`` and, per other process, an
    ``open`` and a ``flock`` attempt."""
    removed: list[str] = []
    mine = os.fspath(own)
    for entry in os.scandir(root):
        if entry.path == mine or not _OWNER.fullmatch(entry.name):
            continue
        if remove_if_ended(entry.path):
            removed.append(entry.name)
    return removed


def remove_if_ended(path: str) -> bool:
    """Remove the temp directory ``path`` if no running process holds its lock; whether it
    went. Start-up recovery asks this too: a sibling that starts at the same moment has
    its directory (locked) before it takes the data directory's shared lock, so being
    alone on ``meta/lock`` does not make every directory here an ended owner's."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False  # removed meanwhile (by another sweep), or not a directory
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its owner runs
        shutil.rmtree(path, ignore_errors=True)
        return True
    finally:
        os.close(fd)


class Trash:
    """Removes directory trees on a thread of its own, after the request that made them
    garbage has been answered: 10,000 part files take seconds to unlink, tens of seconds
    where each unlink discards the file's blocks (mount option ``discard``). One thread,
    so removals never take the I/O pool's threads from requests."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._closing = False
        self._lock = threading.Lock()  # ``remove`` is called from the I/O pool's threads

    def remove(self, path: str, then: Callable[[], None] | None = None) -> None:
        """Remove ``path`` and everything under it, then call ``then``, in the background."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="fs-trash")
            self._executor.submit(self._remove, path, then)

    def wait(self) -> None:
        """Block until every removal asked for so far has ended (tests; blocking)."""
        with self._lock:
            executor = self._executor
        if executor is not None:
            executor.submit(lambda: None).result()

    def close(self) -> None:
        """Cut short the removals under way and drop the queued ones: what they leave is
        in this process's temp directory, an ended owner's once its lock is dropped."""
        self._closing = True
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def _remove(self, path: str, then: Callable[[], None] | None) -> None:
        stack = [path]
        directories: list[str] = []
        while stack and not self._closing:
            directory = stack.pop()
            directories.append(directory)
            try:
                entries = list(os.scandir(directory))
            except OSError:
                continue
            for entry in entries:
                if self._closing:
                    return
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
        if self._closing:
            return
        for directory in reversed(directories):
            with contextlib.suppress(OSError):
                os.rmdir(directory)
        if then is not None:
            then()
