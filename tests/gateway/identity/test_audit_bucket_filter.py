"""The audit log's ``bucket`` filter on both databases: a bucket's own events and those of
its objects and uploads (what the lifecycle sweeper removed), never a neighbour's, nor an
id of another kind spelt like the bucket's name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.identity.audit import AuditEvent, AuditQuery, new_event_id
from gateway.identity.store import IdentityStore

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def _event(seconds: int, target_type: str, target_id: str) -> AuditEvent:
    when = T0 + timedelta(seconds=seconds)
    return AuditEvent(
        id=new_event_id(when),
        time=when,
        action="lifecycle.object.expire" if target_type != "bucket" else "bucket.create",
        outcome="success",
        actor_type="service",
        actor_id="lifecycle",
        target_type=target_type,
        target_id=target_id,
        account_id="acct_a",
    )


async def test_a_bucket_and_what_is_in_it(store: IdentityStore) -> None:
    mine = [
        ("bucket", "logs"),
        ("object", "logs/a"),
        ("object", "logs/Q1 report é.txt"),
        ("object", "logs/\U0001f600/emoji"),
        ("object", "logs//double"),
        ("upload", "logs/up/big"),
    ]
    others = [
        ("bucket", "logs-old"),  # "-" and "." sort before "/"
        ("object", "logs-old/a"),
        ("object", "logs.eu/a"),
        ("bucket", "logs0"),  # the first id past the range
        ("object", "logs0/a"),
        ("object", "log/a"),
        ("access_key", "logs"),  # a key id spelt like the bucket
        ("object", "other/logs/a"),
    ]
    events = [_event(i, kind, target) for i, (kind, target) in enumerate(mine + others)]
    await store.audit.append(events)

    page, _ = await store.audit.page(AuditQuery(bucket="logs"), limit=100, oldest_first=True)
    assert [(e.target_type, e.target_id) for e in page] == mine
    objects, _ = await store.audit.page(
        AuditQuery(bucket="logs", action="lifecycle.*"), limit=100, oldest_first=True
    )
    assert [e.target_id for e in objects] == [target for _, target in mine[1:]]
    paged, cursor = await store.audit.page(AuditQuery(bucket="logs"), limit=4)
    rest, end = await store.audit.page(AuditQuery(bucket="logs"), limit=4, cursor=cursor)
    assert end is None
    assert [e.target_id for e in paged + rest] == [target for _, target in reversed(mine)]
    none, _ = await store.audit.page(AuditQuery(bucket="nothing-here"), limit=10)
    assert none == []
