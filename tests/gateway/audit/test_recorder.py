"""The worker's audit recorder over a real state store: batching, failures, retention,
the once-per-key events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.audit import AuditRecorder
from gateway.config import AuditConfig
from gateway.identity.audit import AuditEvent, AuditQuery, new_event_id
from gateway.identity.models import AccessKey
from gateway.identity.store import IdentityStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[IdentityStore]:
    opened = await IdentityStore.open(tmp_path / "data", b"m" * 32)
    yield opened
    await opened.close()


def _event(when: datetime, action: str = "user.create") -> AuditEvent:
    return AuditEvent(
        id=new_event_id(when), time=when, action=action, outcome="success", actor_type="key"
    )


async def _stored(store: IdentityStore) -> list[AuditEvent]:
    page, _ = await store.audit.page(AuditQuery(), limit=1000)
    return page


async def test_events_wait_in_memory_until_a_flush(store: IdentityStore, tmp_path: Path) -> None:
    file = tmp_path / "audit.jsonl"
    recorder = AuditRecorder(store.audit, AuditConfig(file=str(file)))
    now = datetime.now(UTC)
    recorder.record(_event(now))
    recorder.record(_event(now, "user.delete"))
    assert await _stored(store) == []
    assert recorder.pending == 2
    await recorder.flush()
    assert [e.action for e in await _stored(store)] == ["user.delete", "user.create"]
    lines = [json.loads(line) for line in file.read_text().splitlines()]
    assert [line["action"] for line in lines] == ["user.create", "user.delete"]
    assert file.stat().st_mode & 0o777 == 0o600


async def test_a_failed_flush_keeps_the_events(tmp_path: Path) -> None:
    store = await IdentityStore.open(tmp_path / "data", b"m" * 32)
    recorder = AuditRecorder(store.audit, AuditConfig())
    recorder.record(_event(datetime.now(UTC)))
    await store.close()
    with pytest.raises(RuntimeError):
        await recorder.flush()
    assert recorder.pending == 1


async def test_disabled_records_nothing(store: IdentityStore) -> None:
    recorder = AuditRecorder(store.audit, AuditConfig(enabled=False))
    recorder.record(_event(datetime.now(UTC)))
    await recorder.flush()
    assert await _stored(store) == []


async def test_retention(store: IdentityStore) -> None:
    now = datetime.now(UTC)
    recorder = AuditRecorder(store.audit, AuditConfig(retention_days=30))
    recorder.record(_event(now - timedelta(days=31), "old.event"))
    recorder.record(_event(now - timedelta(days=29), "kept.event"))
    await recorder.flush()
    assert await recorder.prune(now) == 1
    assert [e.action for e in await _stored(store)] == ["kept.event"]
    forever = AuditRecorder(store.audit, AuditConfig(retention_days=0))
    assert await forever.prune(now + timedelta(days=10_000)) == 0


async def test_once_per_key_events(store: IdentityStore) -> None:
    recorder = AuditRecorder(store.audit, AuditConfig(key_use_interval=3600))
    assert recorder.key_use_due("ak_1")
    assert not recorder.key_use_due("ak_1")
    assert recorder.key_use_due("ak_2")
    assert not AuditRecorder(store.audit, AuditConfig(key_use_interval=0)).key_use_due("ak_1")
    now = datetime.now(UTC)
    key = AccessKey(
        id="ak_old",
        name="old",
        scopes=frozenset(),
        buckets=None,
        created_at=now - timedelta(days=2),
        expires_at=now - timedelta(days=1),
        revoked_at=None,
        last_used_at=None,
        owner=None,
        account_id="acct_x",
    )
    recorder.key_expired(key, now)
    recorder.key_expired(key, now)
    await recorder.flush()
    (event,) = await _stored(store)
    assert event.action == "access_key.expired"
    assert event.account_id == "acct_x"
    assert event.details["expired_at"].startswith((now - timedelta(days=1)).date().isoformat())
