"""A client's write racing the lifecycle sweeper is never deleted by it.

The sweeper decides on a listing and re-reads the object (``describe_object``: a HEAD
that needs no SSE-C key) before it deletes; a client's PUT can land after either. Two
places where it was lost:

- ``null`` names a place, not a version: in a suspended bucket a PUT replaces the key's
  null version (or null delete marker) in place, so a permanent deletion of ``null``
  decided on the listing removed what was written since. The sweeper re-reads the null
  version first (``Sweeper._null_unchanged``).
- The expiry of a current version (DeleteObject without a version id) after its HEAD
  deleted a PUT made between the two (never-versioned bucket) or replaced it with the
  null marker (suspended bucket). The delete is now conditional on the listed ETag
  (``Sweeper._expire_current``).

The write is a real client's PUT, made right after the backend answered the sweeper's
call named (``WriteAfter``): the one moment it matters. The tests of ``null`` run on the
backends whose store keeps a null version apart (moto's suspended PUT replaces every
version of the key and its DELETE leaves no marker, docs/upstream-backend.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest

from backends.base import Backend
from backends.s3 import S3Backend, UpstreamConfig
from gateway.identity.store import IdentityStore
from tests.backends.test_contract import Env, code_of
from tests.backends.upstream_server import UpstreamServer
from tests.gateway.lifecycle.test_sweeper import DAY, Time, configure, put, rule, sweeper

APART = pytest.mark.parametrize("env", ["filesystem", "seaweedfs"], indirect=True)
"""moto's suspended PUT replaces every version of the key and its DELETE leaves no marker."""


class WriteAfter:
    """``backend``, with ``write`` run once right after its method ``name`` answered the
    sweeper: a client's request arriving while the sweeper decides."""

    def __init__(self, backend: Backend, name: str, write: Callable[[], Awaitable[object]]) -> None:
        self.backend = backend
        self.name = name
        self.write: Callable[[], Awaitable[object]] | None = write

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.backend, name)
        if name != self.name:
            return method

        async def then_write(*args: Any, **kw: Any) -> Any:
            answer = await method(*args, **kw)
            if self.write is not None:
                write, self.write = self.write, None
                await write()
            return answer

        return then_write


def racing(env: Env, name: str, write: Callable[[], Awaitable[object]]) -> Env:
    return Env(cast(Backend, WriteAfter(env.backend, name, write)), env.kind, env.part_size)


async def listing(env: Env, bucket: str) -> list[tuple[str | None, bool, bool]]:
    page = await env.backend.list_object_versions(bucket)
    return [(v.info.version_id, v.delete_marker, v.is_latest) for v in page.versions]


@APART
async def test_a_null_version_rewritten_after_the_listing_is_kept(
    env: Env, state: IdentityStore
) -> None:
    b = env.backend
    await b.create_bucket("nullnc")
    await put(env, "nullnc", "k", b"before versioning")  # the null version
    await b.put_bucket_versioning("nullnc", "Enabled")
    newer = await put(env, "nullnc", "k", b"newer")  # null becomes noncurrent
    await b.put_bucket_versioning("nullnc", "Suspended")
    await configure(
        state,
        "nullnc",
        rule(
            "old",
            "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
            "</NoncurrentVersionExpiration>",
        ),
    )
    now = Time()
    now.offset = 3 * DAY

    async def client() -> None:
        await put(env, "nullnc", "k", b"just written")  # replaces the null version

    sweep = sweeper(racing(env, "list_object_versions", client), state, now)
    report = await sweep.step()
    assert report.removed_versions == 0
    assert await env.get("nullnc", "k") == b"just written"
    assert await listing(env, "nullnc") == [("null", False, True), (newer, False, False)]
    # the next pass lists the null version as it is now, current
    report = await sweep.step()
    assert report.removed_versions == 1  # the noncurrent version, not the null one
    assert await listing(env, "nullnc") == [("null", False, True)]
    assert await env.get("nullnc", "k") == b"just written"


@APART
async def test_a_null_marker_replaced_by_an_object_after_the_listing_is_kept(
    env: Env, state: IdentityStore
) -> None:
    b = env.backend
    await b.create_bucket("nullmk")
    await b.put_bucket_versioning("nullmk", "Suspended")
    await put(env, "nullmk", "k", b"old")
    await b.delete_object("nullmk", "k")  # the null marker replaces the null version
    assert await listing(env, "nullmk") == [("null", True, True)]
    await configure(
        state,
        "nullmk",
        rule(
            "m",
            "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>",
        ),
    )

    async def client() -> None:
        await put(env, "nullmk", "k", b"just written")

    sweep = sweeper(racing(env, "list_object_versions", client), state, Time())
    report = await sweep.step()
    assert report.removed_markers == 0
    assert await env.get("nullmk", "k") == b"just written"
    # a null marker still a marker at the deletion goes, whichever marker it is
    await b.delete_object("nullmk", "k")
    cast(WriteAfter, sweep.backend).write = lambda: b.delete_object("nullmk", "k")
    report = await sweep.step()
    assert report.removed_markers == 1
    if env.kind == "filesystem":  # SeaweedFS answers 204 to that DELETE and keeps the marker
        assert await listing(env, "nullmk") == []
    assert await code_of(b.head_object("nullmk", "k")) == "NoSuchKey"


@pytest.mark.parametrize("versioning", [None, "Suspended", "Enabled"])
async def test_a_current_version_rewritten_after_the_head_is_kept(
    env: Env, state: IdentityStore, versioning: str | None
) -> None:
    b = env.backend
    bucket = f"cur{(versioning or 'never').lower()}"
    await b.create_bucket(bucket)
    if versioning is not None:
        await b.put_bucket_versioning(bucket, versioning)
    await put(env, bucket, "k", b"old")
    await configure(state, bucket, rule("e", "<Expiration><Days>1</Days></Expiration>"))
    now = Time()
    now.offset = 2 * DAY

    async def client() -> None:
        await put(env, bucket, "k", b"just written")

    report = await sweeper(racing(env, "describe_object", client), state, now).step()
    assert report.expired == 0
    assert await env.get(bucket, "k") == b"just written"


async def test_a_store_that_does_not_decide_if_match_is_asked_without_it(
    moto_server: UpstreamServer, state: IdentityStore
) -> None:
    """An upstream store not configured to decide DeleteObject's ``If-Match``
    (``conditional_writes``) refuses the conditional delete (``NotImplemented``): the
    sweeper deletes as before, after its HEAD, rather than never expiring anything."""
    backend = S3Backend(
        UpstreamConfig(
            endpoint_url=moto_server.endpoint_url,
            access_key_id="contract-key",
            secret_access_key="contract-secret",
            bucket_prefix=f"t{uuid.uuid4().hex[:12]}-",
            conditional_writes=(),
        )
    )
    await backend.start()
    try:
        env = Env(backend, "s3", 5 * 1024 * 1024)
        await backend.create_bucket("plain")
        await put(env, "plain", "k", b"old")
        assert await code_of(backend.delete_object("plain", "k", if_match="x")) == "NotImplemented"
        await configure(state, "plain", rule("e", "<Expiration><Days>1</Days></Expiration>"))
        now = Time()
        now.offset = 2 * DAY
        report = await sweeper(env, state, now).step()
        assert report.expired == 1
        assert await code_of(backend.head_object("plain", "k")) == "NoSuchKey"
    finally:
        await backend.close()
