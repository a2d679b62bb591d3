"""The audit log on the real gateway: who created a key, from where, who used it last;
sign-ins and their failures; refresh-token reuse; bucket settings changed over S3; an
account's admins see their account's events only; the CLI and the JSON-lines file.

The gateway writes events in batches (``audit.flush_interval``, 1 s); a listing first
writes what its own worker holds, so a single-worker gateway shows every event at once.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from botocore.exceptions import ClientError

from gateway.config import load_config
from gateway.identity.audit import AuditEvent, new_event_id
from gateway.identity.store import IdentityStore
from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.oauth_util import make_setup
from tests.e2e.rest_util import ADMIN, api_json, bearer, call, make_key
from tests.e2e.tenants import new_tenant
from tests.services.postgres import PostgresServer

UA = {"User-Agent": "audit-e2e/1.0 (tests)"}


def events(gateway: Gateway, headers: dict[str, str] | None = None, **query: str) -> Any:
    path = "/v1/audit-events?" + "&".join(f"{k}={v}" for k, v in query.items())
    return api_json(gateway, "GET", path, headers=headers or ADMIN)


def test_who_created_a_key_from_where_and_who_used_it_last(gateway: Gateway) -> None:
    status, headers, raw = call(
        gateway,
        "POST",
        "/v1/access-keys",
        headers={**ADMIN, **UA},
        body={"name": "trail", "scopes": ["read:buckets"]},
    )
    assert status == 201
    key = json.loads(raw)
    request_id = headers["X-Request-Id"]
    gateway.client(key["id"], key["secret"]).list_buckets()
    call(gateway, "POST", f"/v1/access-keys/{key['id']}/rotate", headers={**ADMIN, **UA})
    call(gateway, "DELETE", f"/v1/access-keys/{key['id']}", headers={**ADMIN, **UA})

    found = events(gateway, target=key["id"])["events"]
    assert [e["action"] for e in found] == [
        "access_key.revoke",
        "access_key.rotate",
        "access_key.use",
        "access_key.create",
    ]
    created = found[-1]
    assert created["outcome"] == "success"
    assert created["actor"] == {"type": "key", "id": gateway.access_key, "account": "acct_system"}
    assert created["target"] == {"type": "access_key", "id": key["id"]}
    assert created["client_address"] == "127.0.0.1"
    assert created["user_agent"] == UA["User-Agent"]
    assert created["request_id"] == request_id
    assert created["details"]["scopes"] == ["read:buckets"]
    used = found[-2]
    assert used["actor"]["id"] == key["id"]
    assert used["details"]["listener"] == "s3"
    assert "Boto3" in used["user_agent"]
    times = [e["time"] for e in found]
    assert times == sorted(times, reverse=True)


def test_sign_ins_their_failures_and_the_token_claims(gateway: Gateway) -> None:
    setup = make_setup(gateway)
    api_json(gateway, "PATCH", f"/v1/users/{setup.user_id}", body={"roles": ["editor", "ops"]})
    tokens = setup.login()
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["preferred_username"] == setup.username
    assert claims["roles"] == ["editor", "ops"]

    wrong = setup.token(
        grant_type="password", username=setup.username, password="nope-nope", **setup.creds()
    )
    assert wrong.status == 400
    typed = f"Secret-{uuid.uuid4().hex}"  # a password typed into the username field
    unknown = setup.token(grant_type="password", username=typed, password="x" * 10, **setup.creds())
    assert unknown.status == 400

    signins = events(gateway, action="auth.password.*", since="2000-01-01T00:00:00Z")["events"]
    mine = [e for e in signins if e["details"].get("client_id") == setup.client_id]
    assert [(e["action"], e["target"]["id"]) for e in mine] == [
        ("auth.password.failure", None),
        ("auth.password.failure", setup.user_id),
        ("auth.password.success", setup.user_id),
    ]
    assert mine[0]["details"]["reason"] == "invalid_credentials"
    assert mine[0]["actor"]["type"] == "anonymous"
    assert mine[1]["actor"] == {"type": "user", "id": setup.user_id, "account": "acct_system"}
    assert typed not in json.dumps(signins)


def test_refresh_token_reuse_revokes_the_family(gateway: Gateway) -> None:
    setup = make_setup(gateway)
    first = setup.login()["refresh_token"]
    assert (
        setup.token(grant_type="refresh_token", refresh_token=first, **setup.creds()).status == 200
    )
    reused = setup.token(grant_type="refresh_token", refresh_token=first, **setup.creds())
    assert reused.status == 400
    found = events(gateway, action="refresh_token.reuse_detected")["events"]
    mine = [e for e in found if e["details"]["user_id"] == setup.user_id]
    assert len(mine) == 1
    session = mine[0]["target"]["id"]
    revoked = events(gateway, action="session.revoke", target=session)["events"]
    assert revoked[0]["details"]["reason"] == "refresh_token_reused"
    assert first not in json.dumps(found + revoked)


def test_user_changes_are_events_of_their_own(gateway: Gateway) -> None:
    user = api_json(
        gateway,
        "POST",
        "/v1/users",
        body={
            "username": f"u-{uuid.uuid4().hex[:8]}",
            "password": "password-123",
            "scopes": ["read:buckets"],
        },
        expect=201,
    )
    api_json(
        gateway,
        "PATCH",
        f"/v1/users/{user['id']}",
        body={"disabled": True, "password": "password-456"},
    )
    api_json(
        gateway,
        "PATCH",
        f"/v1/users/{user['id']}",
        body={"disabled": False, "scopes": ["read:objects"]},
    )
    call(gateway, "DELETE", f"/v1/users/{user['id']}", headers=ADMIN)
    found = events(gateway, target=user["id"])["events"]
    assert [e["action"] for e in reversed(found)] == [
        "user.create",
        "user.disable",
        "user.password_change",
        "user.enable",
        "user.update",
        "user.delete",
    ]
    assert "password-123" not in json.dumps(found) and "password-456" not in json.dumps(found)


def test_bucket_settings_changed_over_s3(gateway: Gateway) -> None:
    owner = new_tenant(gateway, "aud")
    other = new_tenant(gateway, "aud")
    bucket = f"aud-{uuid.uuid4().hex[:10]}"
    s3 = owner.client()
    s3.create_bucket(Bucket=bucket)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{other.id}:root"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    with pytest.raises(ClientError):
        other.client().delete_bucket_policy(Bucket=bucket)

    mine = events(gateway, owner.headers, target=bucket)["events"]
    assert [(e["action"], e["outcome"]) for e in reversed(mine)] == [
        ("bucket.create", "success"),
        ("bucket.policy.put", "success"),
        ("bucket.versioning.put", "success"),
    ]
    assert mine[0]["actor"]["id"] == owner.key_id
    assert mine[0]["request_id"]
    attempts = events(gateway, other.headers, target=bucket)["events"]
    assert len(attempts) == 1
    assert attempts[0]["action"] == "bucket.policy.delete"
    assert attempts[0]["outcome"] == "failure"
    assert attempts[0]["details"]["error"] == "AccessDenied"
    # The root key sees both accounts' events.
    both = events(gateway, target=bucket)["events"]
    assert {e["account"] for e in both} == {owner.id, other.id}


def test_an_account_reads_its_own_log_only(gateway: Gateway) -> None:
    tenant = new_tenant(gateway, "aud")
    key = tenant.key(scopes=["read:buckets"])
    mine = events(gateway, tenant.headers)["events"]
    assert mine and {e["account"] for e in mine} == {tenant.id}
    assert key["id"] in {e["target"]["id"] for e in mine}
    status, _, raw = call(
        gateway, "GET", "/v1/audit-events?account=acct_system", headers=tenant.headers
    )
    assert status == 403
    status, _, raw = call(gateway, "GET", "/v1/audit-events", headers=bearer(key["secret"]))
    assert status == 403 and json.loads(raw)["error"]["code"] == "ScopeRequired"
    only = events(gateway, account=tenant.id)["events"]
    assert [e["id"] for e in only] == [e["id"] for e in events(gateway, tenant.headers)["events"]]
    assert any(e["action"] == "account.create" for e in only)


def test_pages_and_filters(gateway: Gateway) -> None:
    made = [make_key(gateway, scopes=["read:buckets"]) for _ in range(5)]
    since = min(m["created_at"] for m in made)
    pages: list[Any] = []
    cursor = ""
    while True:
        page = events(gateway, action="access_key.create", since=since, limit="2", cursor=cursor)
        pages.append(page["events"])
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    seen = [e["target"]["id"] for page in pages for e in page]
    assert set(m["id"] for m in made) <= set(seen)
    assert all(len(page) <= 2 for page in pages)
    for bad in ("action=Not%20An%20Action", "since=yesterday", "limit=0", "cursor=zzz"):
        status, _, raw = call(gateway, "GET", f"/v1/audit-events?{bad}", headers=ADMIN)
        assert status == 400, bad
        assert json.loads(raw)["error"]["code"] == "ValidationError"


def _cli(gateway: Gateway, *args: str) -> list[dict[str, Any]]:
    env = dict(gateway.env)
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "audit", *args, "--data-dir", str(gateway.data_dir)],
        capture_output=True,
        text=True,
        env=env,
        cwd=gateway.data_dir.parent,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_the_command_line_exports_and_tails_json_lines(gateway: Gateway) -> None:
    key = make_key(gateway, scopes=["read:buckets"])
    for _ in range(2):  # at least three events of this test's own, whatever ran before
        make_key(gateway, scopes=["read:buckets"])
    events(gateway)  # the listing writes the worker's pending events
    exported = _cli(gateway, "export", "--target", key["id"])
    assert [e["action"] for e in exported] == ["access_key.create"]
    assert exported[0]["target"]["id"] == key["id"]
    tail = _cli(gateway, "tail", "-n", "3")
    assert len(tail) == 3
    assert [e["id"] for e in tail] == sorted(e["id"] for e in tail)


async def _append_burst(gateway: Gateway, actor: str, count: int) -> None:
    """``count`` events written at once, as a lifecycle pass or a busy worker's flush
    writes them (one transaction through the state store, beside the running gateway)."""
    store = await IdentityStore.from_config(
        load_config(env={"NFYIO_DATA_DIR": str(gateway.data_dir)})
    )
    try:
        batch = []
        for _ in range(count):
            now = datetime.now(UTC)
            batch.append(
                AuditEvent(
                    id=new_event_id(now),
                    time=now,
                    action="access_key.use",
                    outcome="success",
                    actor_type="operator",
                    actor_id=actor,
                )
            )
        await store.audit.append(batch)
    finally:
        await store.close()


def test_tail_follow_prints_a_burst_and_what_follows_it(gateway: Gateway, tmp_path: Path) -> None:
    """``audit tail --follow`` re-reads a window behind the newest event it printed; it read
    one page of it, so after a burst of more than a page (1,000 events) every poll
    returned the same page, all seen: it printed nothing more, ever."""
    actor = f"burst-{uuid.uuid4().hex[:8]}"
    asyncio.run(_append_burst(gateway, actor, 1))  # what -n 1 prints before following
    output = tmp_path / "tail.jsonl"
    with output.open("w") as out:
        tail = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "audit",
                "tail",
                "-n",
                "1",
                "--follow",
                "--interval",
                "0.1",
                "--actor",
                actor,
                "--data-dir",
                str(gateway.data_dir),
            ],
            stdout=out,
            env=gateway.env,
            cwd=gateway.data_dir.parent,
        )

    def printed(at_least: int) -> list[str]:
        deadline = time.monotonic() + 60  # a wait for the poller, not a timed assertion
        lines = output.read_text().splitlines()
        while len(lines) < at_least and time.monotonic() < deadline:
            time.sleep(0.2)
            lines = output.read_text().splitlines()
        return [json.loads(line)["id"] for line in lines]

    try:
        assert len(printed(1)) == 1  # following now
        asyncio.run(_append_burst(gateway, actor, 1500))
        asyncio.run(_append_burst(gateway, actor, 1))
        ids = printed(1502)
    finally:
        tail.terminate()
        tail.wait(timeout=30)
    assert len(ids) == 1502
    assert len(set(ids)) == 1502
    assert ids == sorted(ids)


def test_events_also_go_to_a_json_lines_file(tmp_path: Path) -> None:
    log_file = tmp_path / "audit.jsonl"
    running = start_gateway(
        tmp_path / "data",
        extra_env={"NFYIO_AUDIT_FILE": str(log_file), "NFYIO_AUDIT_FLUSH_INTERVAL": "0.1"},
    )
    try:
        key = make_key(running, scopes=["read:buckets"])
        deadline = time.monotonic() + 10
        lines: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            if log_file.exists():
                lines = [json.loads(line) for line in log_file.read_text().splitlines()]
                if any(line["target"]["id"] == key["id"] for line in lines):
                    break
            time.sleep(0.1)
        assert any(line["action"] == "access_key.create" for line in lines)
        assert oct(log_file.stat().st_mode & 0o777) == "0o600"
        assert key["secret"] not in log_file.read_text()
    finally:
        running.stop()


def test_the_audit_log_in_postgresql_across_hosts(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    """Two gateways (hosts) on one PostgreSQL: a key made on one, used and revoked on
    the other; either host's listing shows the whole trail."""
    env = {
        "NFYIO_IDENTITY_URL": asyncio.run(postgres_server.fresh_url()),
        "NFYIO_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "NFYIO_AUDIT_FLUSH_INTERVAL": "0.1",
    }
    host_a = start_gateway(tmp_path / "a" / "data", extra_env=env)
    try:
        host_b = start_gateway(tmp_path / "b" / "data", extra_env=env)
        try:
            key = make_key(host_a, scopes=["read:buckets"])
            host_b.client(key["id"], key["secret"]).list_buckets()
            call(host_b, "DELETE", f"/v1/access-keys/{key['id']}", headers=ADMIN)
            deadline = time.monotonic() + 10
            actions: list[str] = []
            while time.monotonic() < deadline:
                actions = [e["action"] for e in events(host_a, target=key["id"])["events"]]
                if len(actions) == 3:
                    break
                time.sleep(0.1)
            assert actions == ["access_key.revoke", "access_key.use", "access_key.create"]
        finally:
            host_b.stop()
    finally:
        host_a.stop()


def test_an_expired_key_presented_is_an_event_once(gateway: Gateway) -> None:
    # Long enough that the key is made before it expires on a loaded machine (the API
    # refuses an expiry in the past); the rest of it is waited out.
    expires = datetime.now(UTC) + timedelta(seconds=5)
    key = make_key(gateway, scopes=["read:buckets"], expires_at=expires.isoformat())
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.5)
    for _ in range(3):
        with pytest.raises(ClientError):
            gateway.client(key["id"], key["secret"]).list_buckets()
        assert call(gateway, "GET", "/v1/me", headers=bearer(key["secret"]))[0] == 401
    found = events(gateway, target=key["id"], action="access_key.expired")["events"]
    assert len(found) == 1
    assert found[0]["outcome"] == "failure"
    assert found[0]["details"]["expired_at"].startswith(expires.strftime("%Y-%m-%dT%H:%M"))


def test_lifecycle_changes_are_events(gateway: Gateway) -> None:
    """A lifecycle configuration decides what the gateway deletes: setting and removing
    it are events, like the access settings."""
    owner = new_tenant(gateway, "aud")
    bucket = f"aud-{uuid.uuid4().hex[:10]}"
    s3 = owner.client()
    s3.create_bucket(Bucket=bucket)
    rule = {"ID": "e", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 30}}
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
    s3.delete_bucket_lifecycle(Bucket=bucket)
    mine = events(gateway, owner.headers, target=bucket)["events"]
    assert [(e["action"], e["outcome"]) for e in reversed(mine)] == [
        ("bucket.create", "success"),
        ("bucket.lifecycle.put", "success"),
        ("bucket.lifecycle.delete", "success"),
    ]
