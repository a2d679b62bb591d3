"""The sweeper's audit events against every backend and a real state store, through the
worker's real recorder: one event per object, version, delete marker or upload removed or
created, with the rule that matched; refused deletions as failures, once; the bucket
owner's account. The clock is the sweeper's ``now`` moved days ahead, as in
test_sweeper.py; the running gateway's events are in tests/e2e/test_lifecycle_audit.py."""

from __future__ import annotations

from backends import ObjectMeta
from backends.types import ObjectLock
from gateway.audit import AuditRecorder
from gateway.config import AuditConfig
from gateway.identity.audit import AuditEvent, AuditQuery
from gateway.identity.store import IdentityStore
from gateway.lifecycle.sweeper import Sweeper
from gateway.principal import SYSTEM_ACCOUNT_ID
from gateway.s3.bucket_facts import OWNER
from tests.backends.test_contract import Env, code_of
from tests.gateway.lifecycle.test_sweeper import DAY, Time, configure, put, rule, sweeper

SERVICE = {"actor_type": "service", "actor_id": "lifecycle", "actor_account": None}


def audited(env: Env, state: IdentityStore, now: Time, **config: object) -> Sweeper:
    recorder = AuditRecorder(state.audit, AuditConfig(**config))  # type: ignore[arg-type]
    return sweeper(env, state, now, audit=recorder)


async def events(state: IdentityStore, **query: str) -> list[AuditEvent]:
    """Oldest first: the order the sweeper acted in."""
    page, _ = await state.audit.page(
        AuditQuery(**query),  # type: ignore[arg-type]
        limit=1000,
        oldest_first=True,
    )
    return page


def actor(event: AuditEvent) -> dict[str, object]:
    return {
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "actor_account": event.actor_account,
    }


async def test_an_expired_object_is_an_event_with_its_rule(env: Env, state: IdentityStore) -> None:
    b = env.backend
    await b.create_bucket("aexp")
    await put(env, "aexp", "logs/a", b"12345")
    await put(env, "aexp", "keep/b")
    await state.bucket_settings.put("aexp", OWNER, "acct_owner")
    await configure(
        state, "aexp", rule("logs-30", "<Expiration><Days>1</Days></Expiration>", "logs/")
    )
    now = Time()
    sweep = audited(env, state, now)
    await sweep.step()
    assert await events(state, bucket="aexp") == []  # nothing due yet: nothing recorded
    now.offset = 2 * DAY
    await sweep.step()
    found = await events(state, bucket="aexp")
    assert len(found) == 1
    event = found[0]
    assert event.action == "lifecycle.object.expire"
    assert event.outcome == "success"
    assert actor(event) == SERVICE
    assert (event.target_type, event.target_id) == ("object", "aexp/logs/a")
    assert event.account_id == "acct_owner"
    assert event.client_address is None and event.request_id is None
    details = event.details
    assert (details["bucket"], details["key"], details["rule_id"]) == ("aexp", "logs/a", "logs-30")
    assert details["s3_operation"] == "S3.EXPIRE.OBJECT"
    assert details["size"] == 5
    assert details["sweeper"] == sweep.holder
    assert await code_of(b.head_object("aexp", "logs/a")) == "NoSuchKey"


async def test_versioned_buckets_markers_and_noncurrent_versions(
    env: Env, state: IdentityStore
) -> None:
    b = env.backend
    await b.create_bucket("aver")
    await b.put_bucket_versioning("aver", "Enabled")
    first = await put(env, "aver", "doc", b"1")
    second = await put(env, "aver", "doc", b"22")
    hidden = await put(env, "aver", "cur", b"333")
    alone = await put(env, "aver", "gone")
    await b.delete_object("aver", "gone")
    await b.delete_object("aver", "gone", version_id=alone)  # only its marker is left
    lonely = (await b.list_object_versions("aver", prefix="gone")).versions[0].info.version_id
    await configure(
        state,
        "aver",
        rule(
            "old-docs",
            "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
            "</NoncurrentVersionExpiration>",
            "doc",
        ),
        rule("current", "<Expiration><Days>1</Days></Expiration>", "cur"),
        rule(
            "markers",
            "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>",
            "gone",
        ),
    )
    now = Time()
    now.offset = 3 * DAY
    await audited(env, state, now).step()
    found = {e.target_id: e for e in await events(state, bucket="aver")}
    assert set(found) == {"aver/doc", "aver/cur", "aver/gone"}
    assert all(actor(e) == SERVICE and e.account_id == SYSTEM_ACCOUNT_ID for e in found.values())

    version = found["aver/doc"]
    assert version.action == "lifecycle.version.expire"
    assert (version.details["version_id"], version.details["rule_id"]) == (first, "old-docs")
    assert version.details["size"] == 1
    assert await code_of(b.head_object("aver", "doc", version_id=first)) in (
        "NoSuchVersion",
        "NoSuchKey",
    )
    assert (await b.head_object("aver", "doc")).version_id == second

    marker = found["aver/cur"]
    latest = (await b.list_object_versions("aver", prefix="cur")).versions[0]
    assert latest.delete_marker and latest.is_latest
    assert marker.action == "lifecycle.delete_marker.create"
    assert marker.details["version_id"] == latest.info.version_id
    assert marker.details["expired_version_id"] == hidden
    assert marker.details["rule_id"] == "current"
    assert marker.details["s3_operation"] == "S3.CREATE.DELETEMARKER"

    removed = found["aver/gone"]
    assert removed.action == "lifecycle.delete_marker.expire"
    assert (removed.details["version_id"], removed.details["rule_id"]) == (lonely, "markers")


async def test_an_aborted_upload_is_an_event(env: Env, state: IdentityStore) -> None:
    b = env.backend
    await b.create_bucket("aup")
    doomed = await b.create_multipart_upload("aup", "up/big", ObjectMeta())
    await b.create_multipart_upload("aup", "other/big", ObjectMeta())
    await configure(
        state,
        "aup",
        rule(
            "stale",
            "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>"
            "</AbortIncompleteMultipartUpload>",
            "up/",
        ),
    )
    now = Time()
    now.offset = 2 * DAY
    await audited(env, state, now).step()
    found = await events(state, action="lifecycle.*")
    assert [(e.action, e.target_type, e.target_id) for e in found] == [
        ("lifecycle.upload.abort", "upload", "aup/up/big")
    ]
    assert found[0].details["upload_id"] == doomed.upload_id
    assert found[0].details["rule_id"] == "stale"
    assert found[0].details["s3_operation"] == "S3.DELETE.UPLOAD"


async def test_a_refused_deletion_is_a_failure_recorded_once(
    env: Env, state: IdentityStore
) -> None:
    """A noncurrent version under a legal hold stays; the sweeper tries again every
    cycle, but the failure is one event."""
    b = env.backend
    await b.create_bucket("aheld", object_lock=True)
    held = await put(env, "aheld", "k", b"held", object_lock=ObjectLock(legal_hold=True))
    await put(env, "aheld", "k", b"new")
    await configure(
        state,
        "aheld",
        rule(
            "versions",
            "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
            "</NoncurrentVersionExpiration>",
        ),
    )
    now = Time()
    now.offset = 2 * DAY
    sweep = audited(env, state, now)
    for _ in range(3):  # three cycles (each pass covers the whole small bucket)
        report = await sweep.step()
        assert report.removed_versions == 0
    found = await events(state, bucket="aheld")
    assert len(found) == 1
    failure = found[0]
    assert (failure.action, failure.outcome) == ("lifecycle.version.expire", "failure")
    assert failure.details["error"] == "AccessDenied"
    assert failure.details["version_id"] == held
    assert failure.details["rule_id"] == "versions"
    assert (await b.head_object("aheld", "k", version_id=held)).size == 4
    # Lifted hold: the next cycle removes the version, and that is an event too.
    await b.put_object_legal_hold("aheld", "k", False, version_id=held)
    await sweep.step()
    found = await events(state, bucket="aheld")
    assert [(e.action, e.outcome) for e in found] == [
        ("lifecycle.version.expire", "failure"),
        ("lifecycle.version.expire", "success"),
    ]


async def test_no_events_when_the_audit_log_is_off(env: Env, state: IdentityStore) -> None:
    b = env.backend
    await b.create_bucket("aoff")
    await put(env, "aoff", "k")
    await configure(state, "aoff", rule("e", "<Expiration><Days>1</Days></Expiration>"))
    now = Time()
    now.offset = 2 * DAY
    report = await audited(env, state, now, enabled=False).step()
    assert report.expired == 1
    assert await events(state, bucket="aoff") == []
