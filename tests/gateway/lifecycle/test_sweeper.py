"""The lifecycle sweeper against every backend (filesystem, s3 over moto, s3 over
SeaweedFS) and a real state store. The clock is the sweeper's ``now``, moved days ahead,
never a sleep; the end-to-end tests (tests/e2e/test_lifecycle_sweeper.py) shorten the day
through the configuration instead."""

from __future__ import annotations

import asyncio
import http.client
import http.server
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from backends import ObjectMeta
from backends.base import Backend
from backends.s3 import S3Backend, UpstreamConfig
from gateway.identity.store import IdentityStore
from gateway.lifecycle.rules import Clock
from gateway.lifecycle.sweeper import (
    LEASE,
    LEASE_BUCKET,
    LIFECYCLE,
    PROGRESS,
    TRANSIENT_ATTEMPTS,
    Progress,
    Sweeper,
)
from tests.backends.test_contract import Env, code_of, payload
from tests.backends.upstream_server import MOTO_CONDITIONAL_WRITES, UpstreamServer

DAY = timedelta(days=1)
NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


class Time:
    """The sweeper's clock: real time moved by ``offset``."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def lifecycle(*rules: str) -> str:
    return f"<LifecycleConfiguration {NS}>{''.join(rules)}</LifecycleConfiguration>"


def rule(rule_id: str, body: str, prefix: str = "") -> str:
    return (
        f"<Rule><ID>{rule_id}</ID><Filter><Prefix>{prefix}</Prefix></Filter>"
        f"<Status>Enabled</Status>{body}</Rule>"
    )


def sweeper(env: Env, state: IdentityStore, now: Time, **kw: object) -> Sweeper:
    options: dict[str, object] = {
        "clock": Clock(),
        "interval": 1.0,
        "batch": 1000,
        "lease_seconds": 60.0,
        "now": now,
        **kw,
    }
    return Sweeper(env.backend, state.bucket_settings, state.object_acls, **options)  # type: ignore[arg-type]


async def put(env: Env, bucket: str, key: str, data: bytes = b"x", **kw: object) -> str | None:
    info = await env.backend.put_object(
        bucket,
        key,
        payload(data),
        ObjectMeta(),
        size_hint=len(data),
        **kw,  # type: ignore[arg-type]
    )
    return info.version_id


async def keys(env: Env, bucket: str) -> list[str]:
    return [o.key for o in (await env.backend.list_objects(bucket)).objects]


async def configure(state: IdentityStore, bucket: str, *rules: str) -> None:
    await state.bucket_settings.put(bucket, LIFECYCLE, lifecycle(*rules))


async def test_expiration_in_days_removes_what_the_filter_covers(
    env: Env, state: IdentityStore
) -> None:
    await env.backend.create_bucket("exp")
    for key in ("logs/a", "logs/b", "keep/c"):
        await put(env, "exp", key)
    await put(env, "exp", "logs/big", b"y" * 100)
    await configure(
        state,
        "exp",
        rule("logs", "<Expiration><Days>1</Days></Expiration>", "logs/"),
    )
    now = Time()
    sweep = sweeper(env, state, now)
    report = await sweep.step()
    assert report.swept and report.expired == 0
    assert await keys(env, "exp") == ["keep/c", "logs/a", "logs/b", "logs/big"]
    now.offset = 2 * DAY
    report = await sweep.step()
    assert report.expired == 3
    assert await keys(env, "exp") == ["keep/c"]


async def test_size_and_tag_filters(env: Env, state: IdentityStore) -> None:
    await env.backend.create_bucket("filters")
    await put(env, "filters", "small", b"x")
    await put(env, "filters", "large", b"x" * 200)
    await put(env, "filters", "tagged", b"x" * 200, tags=(("class", "tmp"),))
    await configure(
        state,
        "filters",
        rule(
            "small",
            "<Expiration><Days>1</Days></Expiration>",
        ).replace(
            "<Filter><Prefix></Prefix></Filter>",
            "<Filter><ObjectSizeLessThan>100</ObjectSizeLessThan></Filter>",
        ),
        rule("tmp", "<Expiration><Days>1</Days></Expiration>").replace(
            "<Filter><Prefix></Prefix></Filter>",
            "<Filter><Tag><Key>class</Key><Value>tmp</Value></Tag></Filter>",
        ),
    )
    now = Time()
    now.offset = 2 * DAY
    await sweeper(env, state, now).step()
    assert await keys(env, "filters") == ["large"]


async def test_date_in_the_past_expires_at_once(env: Env, state: IdentityStore) -> None:
    await env.backend.create_bucket("dated")
    await put(env, "dated", "k")
    await configure(
        state, "dated", rule("d", "<Expiration><Date>2020-01-01T00:00:00Z</Date></Expiration>")
    )
    await sweeper(env, state, Time()).step()
    assert await keys(env, "dated") == []


async def test_versioned_expiration_adds_a_delete_marker(env: Env, state: IdentityStore) -> None:
    b = env.backend
    await b.create_bucket("vexp")
    await b.put_bucket_versioning("vexp", "Enabled")
    version = await put(env, "vexp", "k", b"data")
    await configure(state, "vexp", rule("e", "<Expiration><Days>1</Days></Expiration>"))
    now = Time()
    now.offset = 2 * DAY
    report = await sweeper(env, state, now).step()
    assert report.expired == 1
    assert await code_of(b.head_object("vexp", "k")) == "NoSuchKey"
    # the data is still there as a noncurrent version
    assert (await b.head_object("vexp", "k", version_id=version)).size == 4
    page = await b.list_object_versions("vexp")
    assert [(v.delete_marker, v.is_latest) for v in page.versions] == [(True, True), (False, False)]


async def test_noncurrent_versions_beyond_the_newest_kept(env: Env, state: IdentityStore) -> None:
    b = env.backend
    await b.create_bucket("nonc")
    await b.put_bucket_versioning("nonc", "Enabled")
    versions = [await put(env, "nonc", "k", str(i).encode()) for i in range(6)]
    await configure(
        state,
        "nonc",
        rule(
            "n",
            "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
            "<NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration>",
        ),
    )
    now = Time()
    sweep = sweeper(env, state, now)
    await sweep.step()
    assert len((await b.list_object_versions("nonc")).versions) == 6  # not a day old yet
    now.offset = 3 * DAY
    report = await sweep.step()
    assert report.removed_versions == 3
    left = [v.info.version_id for v in (await b.list_object_versions("nonc")).versions]
    assert left == list(reversed(versions))[:3]  # the current one and two noncurrent


async def test_expired_object_delete_markers_are_removed(env: Env, state: IdentityStore) -> None:
    b = env.backend
    await b.create_bucket("markers")
    await b.put_bucket_versioning("markers", "Enabled")
    alone = await put(env, "markers", "alone")
    await b.delete_object("markers", "alone")
    await b.delete_object("markers", "alone", version_id=alone)  # only the marker is left
    await put(env, "markers", "hidden")
    await b.delete_object("markers", "hidden")  # a marker over a version: not expired
    await configure(
        state,
        "markers",
        rule(
            "m",
            "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>",
        ),
    )
    report = await sweeper(env, state, Time()).step()
    assert report.removed_markers == 1
    page = await b.list_object_versions("markers")
    assert [(v.info.key, v.delete_marker) for v in page.versions] == [
        ("hidden", True),
        ("hidden", False),
    ]


async def test_incomplete_uploads_are_aborted(env: Env, state: IdentityStore) -> None:
    b = env.backend
    await b.create_bucket("uploads")
    doomed = await b.create_multipart_upload("uploads", "up/big", ObjectMeta())
    kept = await b.create_multipart_upload("uploads", "other/big", ObjectMeta())
    await configure(
        state,
        "uploads",
        rule(
            "a",
            "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>"
            "</AbortIncompleteMultipartUpload>",
            "up/",
        ),
    )
    now = Time()
    now.offset = 2 * DAY
    report = await sweeper(env, state, now).step()
    assert report.aborted_uploads == 1
    left = [u.upload_id for u in (await b.list_multipart_uploads("uploads")).uploads]
    assert left == [kept.upload_id]
    assert doomed.upload_id not in left


async def test_passes_are_bounded_and_resume_in_another_process(
    env: Env, state: IdentityStore
) -> None:
    b = env.backend
    await b.create_bucket("bounded")
    for i in range(7):
        await put(env, "bounded", f"k{i}")
    await configure(state, "bounded", rule("e", "<Expiration><Days>1</Days></Expiration>"))
    now = Time()
    now.offset = 2 * DAY
    first = sweeper(env, state, now, batch=3, holder="first")
    report = await first.step()
    assert (report.entries, report.expired) == (3, 3)
    assert len(await keys(env, "bounded")) == 4
    progress = Progress.from_json(await state.bucket_settings.get(LEASE_BUCKET, PROGRESS))
    assert progress.bucket == "bounded" and progress.key_marker == "k2"
    # another process cannot sweep while the first holds the lease...
    second = sweeper(env, state, now, batch=3, holder="second")
    assert (await second.step()).swept is False
    # ...and goes on where the first stopped once its lease is stale
    now.offset += timedelta(minutes=5)
    report = await second.step()
    assert report.swept and report.expired == 3
    assert await keys(env, "bounded") == ["k6"]
    await second.step()
    assert await keys(env, "bounded") == []


async def test_disabled_rules_and_other_buckets_are_left_alone(
    env: Env, state: IdentityStore
) -> None:
    b = env.backend
    await b.create_bucket("off")
    await b.create_bucket("unconfigured")
    await put(env, "off", "k")
    await put(env, "unconfigured", "k")
    await configure(
        state,
        "off",
        rule("e", "<Expiration><Days>1</Days></Expiration>").replace("Enabled", "Disabled"),
    )
    now = Time()
    now.offset = 5 * DAY
    await sweeper(env, state, now).step()
    assert await keys(env, "off") == ["k"]
    assert await keys(env, "unconfigured") == ["k"]


class SlowStore:
    """The backend, with every ``delete_object`` taking ``delay`` seconds (a store far
    away): a pass over a few entries outlasts a third of a short lease."""

    def __init__(self, backend: Any, delay: float) -> None:
        self._backend = backend
        self.delay = delay
        self.deleting = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    async def delete_object(self, *args: Any, **kwargs: Any) -> Any:
        self.deleting.set()
        await asyncio.sleep(self.delay)
        return await self._backend.delete_object(*args, **kwargs)


async def test_a_long_pass_renews_its_lease_and_stops_when_it_is_taken(
    env: Env, state: IdentityStore
) -> None:
    """A pass that outlasts a third of the lease renews it; one that finds the lease taken
    (its renewal came too late: a stalled host) stops at once and writes no progress, so
    two sweepers never work through the same entries side by side."""
    b = env.backend
    await b.create_bucket("slow")
    for i in range(6):
        await put(env, "slow", f"k{i}")
    await configure(state, "slow", rule("e", "<Expiration><Days>1</Days></Expiration>"))
    now = Time()
    now.offset = 2 * DAY
    slow = SlowStore(b, delay=0.6)  # lease 3 s: renewed every second
    first = sweeper(env, state, now, holder="first", lease_seconds=3.0)
    first.backend = cast(Backend, slow)
    second = sweeper(env, state, now, holder="second", lease_seconds=3.0)
    # Renewed: another process trying all through the pass (3.6 s) never gets the lease.
    passing = asyncio.create_task(first.step())
    await slow.deleting.wait()  # the first holds the lease and is under way
    taken: list[bool] = []
    while not passing.done():
        taken.append((await second.step()).swept)
        await asyncio.sleep(0.25)
    report = await passing
    assert report.expired == 6 and await keys(env, "slow") == []
    assert taken and not any(taken)

    # Taken mid-pass (written as a claim by another holder would be): the pass stops.
    for i in range(6):
        await put(env, "slow", f"k{i}")
    await state.bucket_settings.release(LEASE_BUCKET, LEASE, "first")
    slow.deleting.clear()
    passing = asyncio.create_task(first.step())
    await slow.deleting.wait()
    await state.bucket_settings.put(LEASE_BUCKET, LEASE, "second", now=now())
    report = await passing
    assert report.swept and 0 < report.expired < 6
    assert len(await keys(env, "slow")) == 6 - report.expired
    stored = await state.bucket_settings.get(LEASE_BUCKET, PROGRESS)
    assert stored is None or Progress.from_json(stored).key_marker is None  # none written


class FaultyProxy:
    """An HTTP proxy in front of moto that answers S3's ``503 SlowDown`` to every request
    naming ``failing`` in its path (a store throttling one bucket, or restarting), and
    forwards the rest."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream).netloc
        self.failing: str | None = None
        self.refused = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if proxy.failing is not None and proxy.failing in self.path:
                    proxy.refused += 1
                    answer = (
                        b"<Error><Code>SlowDown</Code><Message>Reduce your rate</Message></Error>"
                    )
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    return
                upstream = http.client.HTTPConnection(proxy.upstream, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                finally:
                    upstream.close()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("transfer-encoding", "content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_a_transient_store_error_is_retried_the_next_pass_not_next_cycle(
    moto_server: UpstreamServer, state: IdentityStore
) -> None:
    """A store's ``SlowDown`` (or ``ServiceUnavailable``, ...) while a pass sweeps a bucket
    skipped that bucket for the whole cycle (17 hours over a million objects) and lost its
    place in it. The pass now stops there; the next one tries the same page again, and
    only a bucket failing ``TRANSIENT_ATTEMPTS`` passes in a row is skipped for the cycle,
    so one bucket failing for good never holds up the others."""
    proxy = FaultyProxy(moto_server.endpoint_url)
    prefix = f"t{uuid.uuid4().hex[:12]}-"
    options: dict[str, Any] = {
        "access_key_id": "contract-key",
        "secret_access_key": "contract-secret",
        "bucket_prefix": prefix,
        "conditional_writes": MOTO_CONDITIONAL_WRITES,
    }
    writer = S3Backend(UpstreamConfig(endpoint_url=moto_server.endpoint_url, **options))
    swept = S3Backend(UpstreamConfig(endpoint_url=proxy.endpoint_url, **options))
    await writer.start()
    await swept.start()
    try:
        env = Env(writer, "s3", 0)
        expire = rule("e", "<Expiration><Days>1</Days></Expiration>")
        for bucket in ("flaky", "later", "stuck"):
            await writer.create_bucket(bucket)
            await put(env, bucket, "old")
            await configure(state, bucket, expire)
        now = Time()
        now.offset = 2 * DAY
        sweep = Sweeper(
            swept, state.bucket_settings, state.object_acls,
            clock=Clock(), interval=1.0, batch=1, lease_seconds=60.0, now=now,
        )  # fmt: skip

        proxy.failing = f"/{prefix}flaky"
        await sweep.step()
        assert proxy.refused > 0
        proxy.failing = None
        await sweep.step()  # the next pass: the same bucket, from where it was
        assert await keys(env, "flaky") == []

        # a bucket failing pass after pass is skipped for the cycle after the last attempt:
        # the next cycle comes round to the first bucket again
        proxy.failing, proxy.refused = f"/{prefix}stuck", 0
        await put(env, "flaky", "new")
        passes = 0
        while await keys(env, "flaky") and passes < 10 * TRANSIENT_ATTEMPTS:
            await sweep.step()
            passes += 1
        assert await keys(env, "flaky") == []
        assert await keys(env, "later") == []
        assert await keys(env, "stuck") == ["old"]
        assert proxy.refused >= TRANSIENT_ATTEMPTS
    finally:
        await swept.close()
        await writer.close()
        proxy.close()
