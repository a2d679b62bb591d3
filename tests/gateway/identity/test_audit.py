"""The audit log's table, on both databases: append, page, filter, prune, append-only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.identity.audit import AuditEvent, AuditQuery, new_event_id
from gateway.identity.schema import SCHEMA_VERSION
from gateway.identity.store import IdentityStore
from tests.gateway.identity.conftest import OpenStore
from tests.gateway.identity.undo import undo_migration_6

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def _event(
    seconds: float,
    action: str = "access_key.create",
    *,
    account: str | None = "acct_a",
    actor: str = "ak_actor",
    target: str = "ak_target",
) -> AuditEvent:
    when = T0 + timedelta(seconds=seconds)
    return AuditEvent(
        id=new_event_id(when),
        time=when,
        action=action,
        outcome="success",
        actor_type="key",
        actor_id=actor,
        actor_account=account,
        target_type="access_key",
        target_id=target,
        account_id=account,
        client_address="203.0.113.9",
        user_agent="tests",
        request_id="R1",
        details={"scopes": ["read:objects"], "nested": {"n": 1}},
    )


def test_event_ids_sort_by_time() -> None:
    earlier, later = T0, T0 + timedelta(microseconds=1)
    ids = [new_event_id(later), new_event_id(earlier), new_event_id(earlier)]
    assert sorted(ids)[-1] == ids[0]
    assert ids[1] < ids[2]  # the same microsecond: distinct, in the order they were made


async def test_append_and_read_back_every_field(store: IdentityStore) -> None:
    event = _event(0)
    await store.audit.append([event])
    page, cursor = await store.audit.page(AuditQuery())
    assert cursor is None
    assert page == [event]


async def test_pages_newest_first_with_cursor(store: IdentityStore) -> None:
    events = [_event(i) for i in range(7)]
    await store.audit.append(events[::2])
    await store.audit.append(events[1::2])  # written out of order, listed in time order
    seen: list[AuditEvent] = []
    cursor: str | None = None
    while True:
        page, cursor = await store.audit.page(AuditQuery(), limit=3, cursor=cursor)
        seen += page
        if cursor is None:
            break
    assert [e.id for e in seen] == [e.id for e in reversed(events)]
    forward, _ = await store.audit.page(AuditQuery(), limit=100, oldest_first=True)
    assert [e.id for e in forward] == [e.id for e in events]
    with pytest.raises(ValueError):
        await store.audit.page(AuditQuery(), cursor="not-a-cursor")


async def test_filters(store: IdentityStore) -> None:
    await store.audit.append(
        [
            _event(1, "access_key.create", target="ak_1"),
            _event(2, "access_key.revoke", target="ak_1"),
            _event(3, "user.create", target="usr_1", actor="usr_admin"),
            _event(4, "access_key.rotate", account="acct_b", target="ak_2"),
            _event(5, "access_keyz.odd", target="x"),
        ]
    )

    async def actions(**filters: object) -> list[str]:
        page, _ = await store.audit.page(AuditQuery(**filters), limit=100)  # type: ignore[arg-type]
        return [e.action for e in page]

    assert await actions(account="acct_b") == ["access_key.rotate"]
    assert await actions(action="access_key.*") == [
        "access_key.rotate",
        "access_key.revoke",
        "access_key.create",
    ]
    assert await actions(action="access_key.revoke") == ["access_key.revoke"]
    assert await actions(target="ak_1") == ["access_key.revoke", "access_key.create"]
    assert await actions(actor="usr_admin") == ["user.create"]
    window = {"since": T0 + timedelta(seconds=2), "until": T0 + timedelta(seconds=4)}
    assert await actions(**window) == ["user.create", "access_key.revoke"]
    assert await actions(account="acct_a", action="access_key.*", target="ak_1") == [
        "access_key.revoke",
        "access_key.create",
    ]


async def test_prune_deletes_only_older_events(store: IdentityStore) -> None:
    events = [_event(i * 3600) for i in range(5)]
    await store.audit.append(events)
    assert await store.audit.prune(T0 + timedelta(hours=2), batch=1) == 2
    page, _ = await store.audit.page(AuditQuery(), limit=10)
    assert [e.id for e in page] == [e.id for e in reversed(events[2:])]


async def test_events_cannot_be_changed(store: IdentityStore) -> None:
    event = _event(0)
    await store.audit.append([event])

    async def tamper(tx: object) -> None:
        await tx.execute(  # type: ignore[attr-defined]
            "UPDATE audit_events SET outcome = 'failure' WHERE id = ?", (event.id,)
        )

    with pytest.raises(Exception, match="append-only"):  # either driver's error
        await store.db.transaction(tamper)
    page, _ = await store.audit.page(AuditQuery())
    assert page[0].outcome == "success"


async def test_a_retried_batch_is_not_duplicated(
    store: IdentityStore, open_store: OpenStore
) -> None:
    events = [_event(1), _event(2)]
    await store.audit.append(events)
    other = await open_store()  # another worker, flushing the same ids again
    try:
        await other.audit.append([*events, _event(3)])
        page, _ = await other.audit.page(AuditQuery(), limit=10)
    finally:
        await other.close()
    assert len(page) == 3


async def test_a_version_5_database_is_upgraded(open_store: OpenStore) -> None:
    """Users made before migration 6 get no roles; the new tables start empty."""
    store = await open_store()
    try:
        user = await store.users.create("legacy", "password-1", ["read:objects"])
        await store.db.transaction(undo_migration_6)
    finally:
        await store.close()
    store = await open_store()
    try:
        versions = await store.db.fetch_all("SELECT version FROM schema_migrations")
        assert max(v[0] for v in versions) == SCHEMA_VERSION
        upgraded = await store.users.get(user.id)
        assert upgraded is not None and upgraded.roles == ()
        assert await store.audit.page(AuditQuery()) == ([], None)
        await store.audit.append([_event(0)])
        assert len((await store.audit.page(AuditQuery()))[0]) == 1
    finally:
        await store.close()
