from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gateway.identity.models import (
    MAX_MICROS,
    AccessKey,
    from_micros,
    parse_instant,
    to_micros,
    utc_instant,
)

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def make_key(**changes: object) -> AccessKey:
    fields: dict[str, object] = {
        "id": "ak_ABCDEFGHIJKLMNOPQRST",
        "name": "ci",
        "scopes": frozenset({"read:objects"}),
        "buckets": ("logs-*",),
        "created_at": T0,
        "expires_at": None,
        "revoked_at": None,
        "last_used_at": None,
        "owner": None,
    }
    fields.update(changes)
    return AccessKey(**fields)  # type: ignore[arg-type]


def test_active_until_expiry_instant() -> None:
    key = make_key(expires_at=T0 + timedelta(hours=1))
    assert key.is_active(T0)
    assert key.is_active(T0 + timedelta(minutes=59, seconds=59))
    assert not key.is_active(T0 + timedelta(hours=1))


def test_revoked_key_is_never_active() -> None:
    key = make_key(revoked_at=T0 + timedelta(days=1))
    assert not key.is_active(T0)


def test_principal_carries_scopes_buckets_and_expiry() -> None:
    key = make_key(expires_at=T0 + timedelta(hours=1))
    p = key.principal()
    assert (p.kind, p.subject, p.key_id) == ("key", key.id, key.id)
    assert p.scopes == key.scopes
    assert p.allows_bucket("logs-2030") and not p.allows_bucket("private")
    assert p.expires_at == key.expires_at


def test_access_key_is_frozen() -> None:
    key = make_key()
    with pytest.raises(AttributeError):
        key.name = "other"  # type: ignore[misc]


def test_micros_round_trip_is_exact_and_needs_aware_datetimes() -> None:
    when = datetime(2031, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)
    assert from_micros(to_micros(when)) == when
    with pytest.raises(ValueError, match="timezone-aware"):
        to_micros(datetime(2030, 1, 1))


@pytest.mark.parametrize(
    "text",
    [
        "9999-12-31T23:59:59-14:00",  # the year 10000 in UTC
        "0001-01-01T00:00:00+00:01",  # before the year 1 in UTC
        "2030-01-01T00:00:00",  # no time zone
        "2030-01-01",  # no time
        "tomorrow",
        "2030-01-01T00:00:00Z" + " " * 64,
        # ISO 8601 forms fromisoformat takes and RFC 3339 does not have
        "2030-W01-1T00:00:00Z",
        "2030-001T00:00:00Z",
        "20300101T000000Z",
        "2030-01-01T00:00Z",
        "2030-01-01T00:00:00,5Z",
    ],
)
def test_parse_instant_refuses_without_echoing(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_instant(text, "expires_at")
    assert text.strip() not in str(info.value) and "expires_at" in str(info.value)


def test_parse_instant_normalises_to_utc() -> None:
    parsed = parse_instant("9999-12-31T09:59:59-14:00")
    assert parsed == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) and parsed.tzinfo is UTC


def test_to_micros_refuses_what_from_micros_could_not_read() -> None:
    latest = datetime.max.replace(tzinfo=UTC)
    assert from_micros(to_micros(latest)) == latest
    with pytest.raises(ValueError):
        utc_instant(datetime(9999, 12, 31, 23, 0, tzinfo=timezone(-timedelta(hours=2))))
    assert from_micros(MAX_MICROS + 1) == latest
    assert from_micros(-(2**63)) == datetime.min.replace(tzinfo=UTC)
