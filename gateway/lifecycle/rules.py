"""A bucket's lifecycle configuration as values, and when its actions fall due.

The configuration is parsed once (``document.parse_lifecycle``) into these frozen values;
the S3 handlers (``x-amz-expiration``, ``x-amz-abort-date``) and the sweeper read them.

**Days.** AWS adds the rule's days to the object's creation time (or, for noncurrent
versions, to the time its successor was written; for uploads, to the initiation) and
rounds up to the next midnight UTC. Here a day lasts ``lifecycle.day_seconds`` (86,400
by default), and "midnight" is the next multiple of a day since the Unix epoch, so the
default is AWS's rule exactly and tests can make a day last a second. A date past what
``datetime`` holds (the year 9999: ``Days`` up to 2,147,483,647 are valid) is "never":
no header announces it and the sweeper never acts on it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from backends.types import Tags

__all__ = [
    "Clock",
    "LifecycleConfiguration",
    "LifecycleFilter",
    "Rule",
]


@dataclass(frozen=True, slots=True)
class Clock:
    """The length of a lifecycle day."""

    day_seconds: float = 86_400.0

    def due(self, start: datetime, days: int) -> datetime | None:
        """``start`` plus ``days`` days, rounded up to the next day boundary; None when
        that is past the year 9999 (never)."""
        day = self.day_seconds
        try:
            end = start.timestamp() + days * day
            return datetime.fromtimestamp(math.ceil(end / day) * day, UTC)
        except (OverflowError, OSError, ValueError):
            return None


@dataclass(frozen=True, slots=True)
class LifecycleFilter:
    """What a rule applies to: every predicate must hold. Sizes are exclusive bounds."""

    prefix: str = ""
    tags: Tags = ()
    greater_than: int | None = None
    less_than: int | None = None

    @property
    def needs_tags(self) -> bool:
        return bool(self.tags)

    @property
    def by_size(self) -> bool:
        return self.greater_than is not None or self.less_than is not None

    def matches_key(self, key: str) -> bool:
        return key.startswith(self.prefix)

    def matches_size(self, size: int) -> bool:
        if self.greater_than is not None and not size > self.greater_than:
            return False
        return self.less_than is None or size < self.less_than

    def matches_tags(self, tags: Iterable[tuple[str, str]]) -> bool:
        """Every tag of the filter, key and value, is among ``tags`` (more may be)."""
        if not self.tags:
            return True
        have = dict(tags)
        return all(have.get(key) == value for key, value in self.tags)

    def matches(self, key: str, size: int, tags: Iterable[tuple[str, str]] = ()) -> bool:
        return self.matches_key(key) and self.matches_size(size) and self.matches_tags(tags)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    enabled: bool
    filter: LifecycleFilter
    form: str
    """How the filter was written, so GetBucketLifecycleConfiguration gives it back as
    sent: ``legacy`` (a rule-level ``Prefix``), ``empty`` (``<Filter/>``), or the one
    element inside ``Filter`` (``Prefix``, ``Tag``, ``ObjectSizeGreaterThan``,
    ``ObjectSizeLessThan``, ``And``; ``And-without-Prefix`` for an ``And`` sent without
    ``Prefix``). An ``And``'s tags keep the order they were sent in."""
    expiration_days: int | None = None
    expiration_date: datetime | None = None
    expired_delete_marker: bool | None = None
    """``ExpiredObjectDeleteMarker`` as sent (None: absent; false: no action)."""
    noncurrent_days: int | None = None
    newer_noncurrent: int | None = None
    abort_days: int | None = None

    @property
    def expires(self) -> bool:
        """The rule expires current versions (``Days`` or ``Date``)."""
        return self.expiration_days is not None or self.expiration_date is not None

    def expiry(self, last_modified: datetime, clock: Clock) -> datetime | None:
        """When a current version written at ``last_modified`` expires under this rule."""
        if self.expiration_date is not None:
            return self.expiration_date
        if self.expiration_days is not None:
            return clock.due(last_modified, self.expiration_days)
        return None


@dataclass(frozen=True, slots=True)
class LifecycleConfiguration:
    rules: tuple[Rule, ...]

    @property
    def enabled(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.enabled)

    def expiration(
        self, key: str, size: int, last_modified: datetime, tags: Tags | None, clock: Clock
    ) -> tuple[datetime, Rule] | None:
        """The earliest expiry of a current version and the rule that sets it (the first
        listed among equals), or None. ``tags`` None: the object has none we know of, so
        rules filtering by tags do not apply."""
        best: tuple[datetime, Rule] | None = None
        for rule in self.enabled:
            if not rule.expires or not rule.filter.matches(key, size, tags or ()):
                continue
            if rule.filter.needs_tags and tags is None:
                continue
            when = rule.expiry(last_modified, clock)
            if when is not None and (best is None or when < best[0]):
                best = (when, rule)
        return best

    def needs_tags_for_expiration(self, key: str, size: int) -> bool:
        """Whether a rule that expires current versions could apply once tags are known."""
        return any(
            rule.expires
            and rule.filter.needs_tags
            and rule.filter.matches_key(key)
            and rule.filter.matches_size(size)
            for rule in self.enabled
        )

    def aborts_uploads_of(self, key: str) -> bool:
        """Whether an enabled rule aborts incomplete uploads of ``key``."""
        return any(r.abort_days is not None and r.filter.matches_key(key) for r in self.enabled)

    def abort(self, key: str, initiated: datetime, clock: Clock) -> tuple[datetime, Rule] | None:
        """When an upload of ``key`` begun at ``initiated`` is aborted, and by which rule
        (rules with abort actions filter by prefix only)."""
        best: tuple[datetime, Rule] | None = None
        for rule in self.enabled:
            if rule.abort_days is None or not rule.filter.matches_key(key):
                continue
            when = clock.due(initiated, rule.abort_days)
            if when is not None and (best is None or when < best[0]):
                best = (when, rule)
        return best
