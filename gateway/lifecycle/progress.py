"""The sweeper's bookkeeping: where a sweep stands between passes (stored as JSON in the
state store), what one pass did, and the name a process holds the lease under."""

from __future__ import annotations

import json
import os
import secrets
import socket
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["DONE", "OBJECTS", "UPLOADS", "PassReport", "Progress", "holder_name"]

OBJECTS, UPLOADS, DONE = "objects", "uploads", "done"
"""The phases of one bucket's sweep: its objects (or versions), its uploads, finished."""


def holder_name() -> str:
    """This process's name on the lease: host, pid and a random part (pids repeat)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(slots=True)
class Progress:
    """Where the sweep stands (stored as JSON between passes)."""

    bucket: str | None = None
    """The bucket being swept; None: a new cycle starts with the first bucket."""
    phase: str = OBJECTS
    key_marker: str | None = None
    version_marker: str | None = None
    """The version id (objects phase) or upload id (uploads phase) to resume after."""
    carry: dict[str, Any] = field(default_factory=dict)
    """Versions phase: the key the page ended inside (``key``), when its newest version
    seen so far was written (``successor``, epoch seconds), how many noncurrent versions
    were seen (``noncurrent``), and its latest delete marker waiting to be known as the
    key's only version (``marker``: [version id, epoch seconds])."""
    attempts: int = 0
    """Passes in a row that stopped at this bucket on a transient store error (the next
    pass tries the same page again; ``sweeper.TRANSIENT_ATTEMPTS``)."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> Progress:
        if not text:
            return cls()
        try:
            return cls(**json.loads(text))
        except (TypeError, ValueError):
            return cls()


@dataclass(slots=True)
class PassReport:
    """What one pass did (logged; tests read it)."""

    swept: bool = False
    """Whether this process held the lease and swept."""
    entries: int = 0
    expired: int = 0
    """Current versions removed or hidden behind a delete marker."""
    removed_versions: int = 0
    removed_markers: int = 0
    aborted_uploads: int = 0
