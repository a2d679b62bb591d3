"""When lifecycle actions fall due and which objects a rule covers."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.lifecycle.rules import Clock, LifecycleConfiguration, LifecycleFilter, Rule

T = datetime(2014, 1, 15, 10, 30, tzinfo=UTC)


def test_days_round_up_to_the_next_midnight() -> None:
    clock = Clock()
    # AWS's example: created 1/15/2014 10:30 UTC, 3 days -> 1/19/2014 00:00 UTC
    assert clock.due(T, 3) == datetime(2014, 1, 19, tzinfo=UTC)
    # created 00:05 on January 2, one day -> eligible at 00:00 on January 4
    assert clock.due(datetime(2014, 1, 2, 0, 5, tzinfo=UTC), 1) == datetime(2014, 1, 4, tzinfo=UTC)
    assert clock.due(datetime(2014, 1, 2, tzinfo=UTC), 1) == datetime(2014, 1, 3, tzinfo=UTC)


def test_short_days_for_tests() -> None:
    clock = Clock(day_seconds=2.0)
    start = datetime.fromtimestamp(1001.5, UTC)
    assert clock.due(start, 1) == datetime.fromtimestamp(1004, UTC)


def test_filters() -> None:
    both = LifecycleFilter("logs/", (("team", "a"),), greater_than=10, less_than=100)
    assert both.matches("logs/x", 50, [("team", "a"), ("other", "b")])
    assert not both.matches("logs/x", 50, [("team", "b")])
    assert not both.matches("logs/x", 10, [("team", "a")])  # bounds exclude their values
    assert not both.matches("logs/x", 100, [("team", "a")])
    assert not both.matches("data/x", 50, [("team", "a")])
    assert LifecycleFilter().matches("anything", 0)


def _rule(rule_id: str, **kw: object) -> Rule:
    return Rule(rule_id, True, kw.pop("filter", LifecycleFilter()), "empty", **kw)  # type: ignore[arg-type]


def test_earliest_expiration_wins_and_tags_must_be_known() -> None:
    clock = Clock()
    config = LifecycleConfiguration(
        (
            _rule("long", expiration_days=30),
            _rule("short", expiration_days=2, filter=LifecycleFilter(prefix="tmp/")),
            _rule("tagged", expiration_days=1, filter=LifecycleFilter(tags=(("x", "1"),))),
            Rule("off", False, LifecycleFilter(), "empty", expiration_days=1),
        )
    )
    when, rule = config.expiration("doc", 5, T, (), clock) or (None, None)
    assert rule is not None and rule.id == "long" and when == datetime(2014, 2, 15, tzinfo=UTC)
    found = config.expiration("tmp/a", 5, T, (), clock)
    assert found is not None and found[1].id == "short"
    found = config.expiration("tmp/a", 5, T, (("x", "1"),), clock)
    assert found is not None and found[1].id == "tagged"
    assert config.needs_tags_for_expiration("any", 1)
    found = config.expiration("tmp/a", 5, T, None, clock)  # tags unknown: tag rules skipped
    assert found is not None and found[1].id == "short"


def test_abort_by_prefix() -> None:
    config = LifecycleConfiguration(
        (_rule("a", abort_days=7, filter=LifecycleFilter(prefix="up/")),)
    )
    found = config.abort("up/big", T, Clock())
    assert found is not None and found[0] == datetime(2014, 1, 23, tzinfo=UTC)
    assert config.abort("down/big", T, Clock()) is None
