"""Logging that an attacker cannot turn into a flood, and the process's descriptor budget.

- :class:`RateLimitedLog`: the first event of a kind is logged at once; further events of
  that kind within ``interval`` seconds are only counted, and one summary line reports
  the count when the interval is over (``flush``, called by the connection sweeper).
  For floods of events that each stand alone (refused connections, failed accepts, full
  disks); a dependency that is down and comes back (the state store, the upstream) is
  an outage: ``backends.outage.OutageLog`` logs its start, its course and its end.
- :func:`install_accept_error_handler`: asyncio reports a failed ``accept()`` (EMFILE
  "Too many open files", ENFILE, ENOBUFS, ENOMEM) through the loop's exception handler,
  with a traceback, and on Python 3.11 once per pending connection of the backlog (up to
  128 per wake-up). This handler turns them into :class:`RateLimitedLog` events. asyncio
  itself stops accepting on that socket for one second after such an error (its
  ``ACCEPT_RETRY_DELAY``); that is the back-off.
- :func:`raise_fd_limit`: the soft ``RLIMIT_NOFILE`` raised to the hard limit at start,
  as the Go runtime does, so connection caps, not the 1024 default, decide.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["RateLimitedLog", "install_accept_error_handler", "raise_fd_limit"]

_ACCEPT_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_ACCEPT_MESSAGE = "socket.accept() out of system resource"


@dataclass(slots=True)
class _Window:
    started: float
    suppressed: int = 0
    message: str = ""


class RateLimitedLog:
    """At most one line per kind and ``interval``, plus a count of what was left out."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 10.0,
        *,
        level: int = logging.WARNING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval = interval
        self._level = level
        self._clock = clock
        self._windows: dict[str, _Window] = {}

    def event(self, kind: str, message: str) -> None:
        now = self._clock()
        window = self._windows.get(kind)
        if window is not None and now - window.started < self._interval:
            window.suppressed += 1
            window.message = message
            return
        if window is not None:
            self._summary(kind, window)
        self._windows[kind] = _Window(now)
        self._logger.log(self._level, message)

    def flush(self) -> None:
        """Report and forget the windows that are over."""
        now = self._clock()
        for kind, window in list(self._windows.items()):
            if now - window.started >= self._interval:
                self._summary(kind, window)
                del self._windows[kind]

    def _summary(self, kind: str, window: _Window) -> None:
        if window.suppressed:
            self._logger.log(
                self._level,
                "%s: %d more in the last %.0f s (last: %s)",
                kind,
                window.suppressed,
                self._interval,
                window.message,
            )


def is_accept_exhaustion(context: dict[str, Any]) -> bool:
    exc = context.get("exception")
    return context.get("message") == _ACCEPT_MESSAGE or (
        isinstance(exc, OSError) and exc.errno in _ACCEPT_ERRNOS and "socket" in context
    )


def install_accept_error_handler(loop: asyncio.AbstractEventLoop, log: RateLimitedLog) -> None:
    """Route accept() resource errors to ``log``; everything else to the previous handler."""
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if is_accept_exhaustion(context):
            exc = context.get("exception")
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            log.event(
                "accept failed",
                f"accept failed: {reason}; not accepting on that port for 1 s "
                "(raise the descriptor limit or lower server.max_connections)",
            )
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


def raise_fd_limit() -> int:
    """Raise the soft descriptor limit to the hard one (when finite); return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return int(soft) if soft != resource.RLIM_INFINITY else 1 << 20
