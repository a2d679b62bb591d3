"""The state store (PostgreSQL) goes away and comes back: requests that need it answer
503 in each API's own shape, with ``Retry-After``, never 500; once it is back the same
requests succeed without a restart.

A PostgreSQL cluster of this test's own (it is shut down and started again), the real
``nfyio-gateway serve`` process, boto3 with retries off, plain HTTP for REST and OAuth.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.rest_util import ADMIN, bearer, call, make_key
from tests.e2e.s3util import client_error, expect_error
from tests.e2e.tenants import public_read
from tests.services.postgres import PostgresServer, start_postgres


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture
def gateway(tmp_path: Path, own_postgres: PostgresServer) -> Iterator[Gateway]:
    env = {
        "NFYIO_IDENTITY_URL": asyncio.run(own_postgres.fresh_url()),
        "NFYIO_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
    }
    gw = start_gateway(tmp_path / "data", extra_env=env)
    yield gw
    gw.stop()


def _token(gw: Gateway) -> tuple[int, dict[str, str], Any]:
    """A client-credentials grant for a client that does not exist."""
    form = {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}
    request = urllib.request.Request(
        gw.api_url + "/oauth/token",
        data=urllib.parse.urlencode(form).encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def test_requests_answer_503_while_postgres_is_down(
    gateway: Gateway, own_postgres: PostgresServer
) -> None:
    key = make_key(
        gateway, scopes=["read:buckets", "write:buckets", "read:objects", "write:objects"]
    )
    s3: Any = gateway.client(key["id"], key["secret"])  # retries off
    bucket = f"out-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"kept")

    own_postgres.pause()
    try:
        # S3: the access key is read from the database on every request (PostgreSQL
        # keeps no per-host key cache by default).
        with pytest.raises(ClientError) as refused:
            s3.get_object(Bucket=bucket, Key="k")
        error = refused.value.response
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert error["Error"]["Code"] == "ServiceUnavailable"
        assert error["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "5"

        # REST: the JSON envelope, with Retry-After.
        status, headers, body = call(
            gateway, "GET", "/v1/me", headers={"Authorization": f"Bearer {key['secret']}"}
        )
        assert status == 503, body
        assert json.loads(body)["error"]["code"] == "ServiceUnavailable"
        assert headers["Retry-After"] == "5"

        # OAuth: RFC 6749's temporarily_unavailable, with Retry-After.
        status, headers, answer = _token(gateway)
        assert (status, answer["error"]) == (503, "temporarily_unavailable")
        assert headers["Retry-After"] == "5"
        assert headers["Cache-Control"] == "no-store"

        # Readiness says why.
        status, _, body = call(gateway, "GET", "/ready")
        assert status == 503 and json.loads(body)["checks"]["state"] == "unavailable"
    finally:
        own_postgres.resume()

    # Back: the same requests succeed, nothing was lost, no restart.
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept"
    status, _, body = call(
        gateway, "GET", "/v1/me", headers={"Authorization": f"Bearer {key['secret']}"}
    )
    assert status == 200, body
    status, _, answer = _token(gateway)
    assert (status, answer["error"]) == (401, "invalid_client")
    assert call(gateway, "GET", "/ready", headers=ADMIN)[0] == 200
    assert "internal error" not in gateway.log().lower()  # no request took the 500 path


_GATEWAY_BACKENDS = (
    "SELECT pid, wait_event_type FROM pg_stat_activity WHERE application_name = 'nfyio-gateway'"
)
"""The gateway's own server connections (the test's have no application name)."""


def test_a_connection_lost_under_a_request_answers_503(
    gateway: Gateway, own_postgres: PostgresServer
) -> None:
    """PostgreSQL ends the gateway's connection (``pg_terminate_backend``: what a
    failover, a restart or an idle-session limit does): inside a transaction asyncpg
    reports a closed connection (an ``InterfaceError``), idle in the pool a protocol
    error (``InternalClientError``), and both were answered 500. They are outages."""
    url = gateway.env["NFYIO_IDENTITY_URL"]
    doomed = make_key(gateway, scopes=["read:objects"])

    async def revoke_while_its_connection_dies() -> tuple[int, dict[str, str], bytes]:
        conn = await asyncpg.connect(url)
        try:
            async with conn.transaction():
                # The key's row is locked: the revocation's transaction waits for it.
                await conn.execute(
                    "SELECT 1 FROM access_keys WHERE id = $1 FOR UPDATE", doomed["id"]
                )
                answer = asyncio.ensure_future(
                    asyncio.to_thread(
                        call, gateway, "DELETE", f"/v1/access-keys/{doomed['id']}", headers=ADMIN
                    )
                )
                waiting: list[int] = []
                while not waiting:  # until the gateway's transaction waits for the lock
                    await asyncio.sleep(0.01)
                    rows = await conn.fetch(_GATEWAY_BACKENDS)
                    waiting = [r["pid"] for r in rows if r["wait_event_type"] == "Lock"]
                await conn.execute("SELECT pg_terminate_backend($1)", waiting[0])
                return await answer
        finally:
            await conn.close()

    status, headers, body = asyncio.run(revoke_while_its_connection_dies())
    assert status == 503, body
    assert json.loads(body)["error"]["code"] == "ServiceUnavailable"
    assert headers["Retry-After"] == "5"
    # The same request once more: the pool made a new connection, no restart.
    status, _, body = call(gateway, "DELETE", f"/v1/access-keys/{doomed['id']}", headers=ADMIN)
    assert status == 204, body

    # Connections ended while they wait in the pool: the next requests on them.
    key = make_key(gateway, scopes=["read:buckets"])
    s3: Any = gateway.client(key["id"], key["secret"])  # retries off

    async def end_all() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'nfyio-gateway'"
            )
        finally:
            await conn.close()

    statuses: set[int] = set()
    for _ in range(5):
        asyncio.run(end_all())
        with ThreadPoolExecutor(4) as pool:
            for outcome in pool.map(lambda _: _list_status(s3), range(8)):
                statuses.add(outcome)
            for status, _, _ in pool.map(
                lambda _: call(gateway, "GET", "/v1/me", headers=bearer(key["secret"])), range(8)
            ):
                statuses.add(status)
    assert statuses <= {200, 503}, statuses
    assert s3.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "internal error" not in gateway.log().lower()


def _list_status(s3: Any) -> int:
    try:
        return int(s3.list_buckets()["ResponseMetadata"]["HTTPStatusCode"])
    except ClientError as exc:
        return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])


def test_a_bucket_deleted_while_the_state_store_fails_leaves_no_settings_behind(
    gateway: Gateway,
) -> None:
    """DeleteBucket removes the bucket from the backend, then its settings from the state
    store. When the second step failed (503), the client's retry found no bucket (404)
    and the settings stayed: the name was no one else's, it counted against its owner's
    bucket quota, and a bucket made again under it came back with the old policy (here,
    public). The retry now forgets what the gateway kept about a bucket that is gone."""
    url = gateway.env["NFYIO_IDENTITY_URL"]
    s3: Any = gateway.client(retries={"total_max_attempts": 1})  # the test retries itself
    bucket = f"gone-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": False,
            "IgnorePublicAcls": False,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )
    s3.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket))

    async def delete_while_the_store_fails() -> None:
        conn = await asyncpg.connect(url)
        try:
            async with conn.transaction():
                # Object ACL rows are forgotten first: that step waits for the lock.
                await conn.execute("LOCK TABLE object_acls IN ACCESS EXCLUSIVE MODE")
                answer = asyncio.ensure_future(
                    asyncio.to_thread(client_error, s3.delete_bucket, Bucket=bucket)
                )
                waiting: list[int] = []
                while not waiting:
                    await asyncio.sleep(0.01)
                    rows = await conn.fetch(_GATEWAY_BACKENDS)
                    waiting = [r["pid"] for r in rows if r["wait_event_type"] == "Lock"]
                await conn.execute("SELECT pg_terminate_backend($1)", waiting[0])
                refused = await answer
                assert refused.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        finally:
            await conn.close()

    asyncio.run(delete_while_the_store_fails())
    expect_error("NoSuchBucket", 404, s3.delete_bucket, Bucket=bucket)  # the retry
    s3.create_bucket(Bucket=bucket)
    expect_error("NoSuchBucketPolicy", 404, s3.get_bucket_policy, Bucket=bucket)
    expect_error(
        "NoSuchPublicAccessBlockConfiguration", 404, s3.get_public_access_block, Bucket=bucket
    )


def test_an_outage_is_logged_in_rate_limited_lines_without_tracebacks(
    tmp_path: Path, own_postgres: PostgresServer
) -> None:
    """While PostgreSQL is down, what keeps asking it (requests, the audit and
    ``last_used_at`` flushers, the lifecycle sweeper, readiness probes, asyncpg's own
    pool refilling its floor) logs as the store's outage does (``backends.outage``): a
    line when it meets the outage, at most one per 10 s, and one when the store answers
    it again, never a traceback. The old code logged a traceback on every audit flush
    (each second), every usage flush and every floor retry of asyncpg's pool, and a
    warning per readiness probe; then one line per kind and 10 s, and nothing when the
    store came back."""
    env = {
        "NFYIO_IDENTITY_URL": asyncio.run(own_postgres.fresh_url()),
        "NFYIO_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "NFYIO_AUDIT_FLUSH_INTERVAL": "0.05",
        # long enough that the use noted just before the outage is still pending when
        # it starts (at 0.1 s a loaded machine had flushed it first: no line, a timeout)
        "NFYIO_AUTH_USAGE_FLUSH_INTERVAL": "2",
        "NFYIO_LIFECYCLE_SWEEP_INTERVAL": "0.1",
    }
    gw = start_gateway(tmp_path / "data", extra_env=env)
    callers = ("audit", "last_used_at", "lifecycle", "readiness")
    whats = [f"{caller}: the state store" for caller in callers]
    try:
        key = make_key(gw, scopes=["read:buckets", "read:objects"])
        s3: Any = gw.client(key["id"], key["secret"])  # retries off
        s3.list_buckets()
        # Audit events pending when PostgreSQL goes: the audit table locked, an audited
        # change made (its flush waits for the lock), then the shutdown ends them both.
        locker = asyncio.new_event_loop()
        conn = locker.run_until_complete(asyncpg.connect(env["NFYIO_IDENTITY_URL"]))
        held = conn.transaction()
        locker.run_until_complete(held.start())
        locker.run_until_complete(conn.execute("LOCK TABLE audit_events IN EXCLUSIVE MODE"))
        make_key(gw, scopes=["read:buckets"])
        s3.list_buckets()  # a last_used_at pending when PostgreSQL goes
        own_postgres.pause()
        conn.terminate()
        locker.close()
        started = time.monotonic()
        try:
            # Until each caller met the outage (the first request leaves a last_used_at).
            for _ in range(600):
                expect_error("ServiceUnavailable", 503, s3.list_buckets)
                assert call(gw, "GET", "/ready")[0] == 503
                if all(f"{what} unavailable: " in gw.log() for what in whats):
                    break
                time.sleep(0.05)
            outage = time.monotonic() - started
        finally:
            own_postgres.resume()
        assert s3.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert call(gw, "GET", "/ready", headers=ADMIN)[0] == 200
        for _ in range(600):  # until each caller's next attempt succeeded
            if all(f"{what} available again after " in gw.log() for what in whats):
                break
            time.sleep(0.05)
    finally:
        gw.stop()
    log = gw.log()
    assert "Traceback" not in log and " ERROR " not in log, log
    for what in whats:
        starts, periodic, ends = _outage_lines(log, what)
        assert len(starts) == 1 and len(ends) == 1, (what, log)
        assert len(periodic) <= outage // 10, (what, log)
        assert log.index(starts[0]) < log.index(ends[0]), what


def _outage_lines(log: str, what: str) -> tuple[list[str], list[str], list[str]]:
    """The lines of ``what``'s outages (``backends.outage``): starts, periodic, ends."""
    lines = log.splitlines()
    return (
        [line for line in lines if f"{what} unavailable: " in line],
        [line for line in lines if f"{what} unavailable since " in line],
        [line for line in lines if f"{what} available again after " in line],
    )


def test_an_outage_is_a_line_when_it_starts_and_one_when_it_ends_never_one_per_request(
    gateway: Gateway, own_postgres: PostgresServer
) -> None:
    """PostgreSQL stopped and started again: one line when the outage starts, one when the
    store answers again ('... available again after D s (N failures)'), and in between no
    line per request. The old code logged nothing when the store came back."""
    key = make_key(gateway, scopes=["read:buckets"])
    s3: Any = gateway.client(key["id"], key["secret"])  # retries off
    s3.list_buckets()
    what = "the PostgreSQL state store"
    own_postgres.pause()
    started = time.monotonic()
    try:
        for _ in range(40):
            expect_error("ServiceUnavailable", 503, s3.list_buckets)
    finally:
        own_postgres.resume()
    outage = time.monotonic() - started
    assert s3.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
    log = gateway.log()
    starts, _, ends = _outage_lines(log, what)
    assert len(starts) == 1 and len(ends) == 1, log
    assert log.index(starts[0]) < log.index(ends[0])
    failures = int(ends[0].rsplit("(", 1)[1].split()[0])
    assert failures >= 40, ends
    # 40 refused requests: each kind of line (the outage's, the flushers') at most once
    # per 10 s, none per request
    kinds = Counter(
        re.sub(r"[0-9]+", "N", line.split(" ", 3)[3])
        for line in log.splitlines()
        if " nfyio.access " not in line and "more in the last" not in line
    )
    assert max(kinds.values()) <= 1 + outage // 10, kinds
