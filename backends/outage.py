"""One dependency's outage in the log (the upstream store, the PostgreSQL state store).

An outage is three kinds of line, never one per request:

- ``<what> unavailable: <reason>`` at its first failure;
- ``<what> unavailable since <time> (<N> failures; last: <reason>)`` at most once per
  ``interval`` while failures go on (none while nothing asks: an idle gateway logs
  nothing more until something does);
- ``<what> available again after <duration> (<N> failures)`` once, at the first success
  after it (a request, a background flush, a readiness probe).

The success path costs one attribute test (``down_since is None``), so callers may report
every success. For the event loop's thread: the periodic line is a ``call_later`` timer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["OutageLog"]


class OutageLog:
    """The outage of ``what`` (a name for the log: "the upstream store"), if any."""

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        interval: float = 10.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._what = what
        self._interval = interval
        self._clock = clock
        self.down_since: float | None = None
        """``clock()`` at the outage's first failure; None while available."""
        self._since = ""
        self._failures = 0
        self._reported = 0
        self._last = ""
        self._timer: asyncio.TimerHandle | None = None

    def failed(self, reason: str) -> None:
        """A failure that says ``what`` is unavailable (``reason``: one line, no secret)."""
        self._last = reason
        if self.down_since is not None:
            self._failures += 1
            if self._timer is None:
                self._schedule()
            return
        self.down_since = self._clock()
        self._since = datetime.now(UTC).isoformat(timespec="seconds")
        self._failures = self._reported = 1
        self._logger.warning("%s unavailable: %s", self._what, reason)
        self._schedule()

    def available(self) -> None:
        """A success: ends the outage, if there is one (one line)."""
        if self.down_since is None:
            return
        lasted = self._clock() - self.down_since
        self.down_since = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._logger.warning(
            "%s available again after %.1f s (%d failures)", self._what, lasted, self._failures
        )

    def report(self) -> None:
        """The periodic line: when failures came since the last line (the timer's call)."""
        self._timer = None
        if self.down_since is None or self._failures == self._reported:
            return  # back, or nothing asked since: the next failure starts the timer again
        self._reported = self._failures
        self._logger.warning(
            "%s unavailable since %s (%d failures; last: %s)",
            self._what,
            self._since,
            self._failures,
            self._last,
        )
        self._schedule()

    def _schedule(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not on a loop (a command-line tool): the first and last lines only
        self._timer = loop.call_later(self._interval, self.report)
