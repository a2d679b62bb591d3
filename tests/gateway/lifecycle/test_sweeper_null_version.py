"""A lifecycle deletion of ``null`` removes only the null version it listed.

``null`` names a place, not a version: in a suspended bucket a PUT replaces the key's
null version (or null delete marker) in place. A client writing between the sweeper's
listing and its deletion must keep what it wrote: the sweeper re-reads the null version
first (``Sweeper._null_unchanged``). The write is a real client's PUT, made when the
sweeper's listing returns (the one moment a concurrent write matters), on every backend
whose store keeps a null version apart from the others (moto's suspended PUT replaces
every version of the key, docs/upstream-backend.md: the filesystem and SeaweedFS here).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest

from backends.base import Backend
from backends.types import VersionsPage
from gateway.identity.store import IdentityStore
from tests.backends.test_contract import Env, code_of
from tests.gateway.lifecycle.test_sweeper import DAY, Time, configure, put, rule, sweeper

APART = pytest.mark.parametrize("env", ["filesystem", "seaweedfs"], indirect=True)
"""moto's suspended PUT replaces every version of the key and its DELETE leaves no marker."""


class WriteAfterListing:
    """``backend``, with ``write`` run once right after the sweeper's first version
    listing has been answered: a client's request arriving while the sweeper decides."""

    def __init__(self, backend: Backend, write: Callable[[], Awaitable[object]]) -> None:
        self.backend = backend
        self.write: Callable[[], Awaitable[object]] | None = write

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    async def list_object_versions(self, bucket: str, **kw: Any) -> VersionsPage:
        page = await self.backend.list_object_versions(bucket, **kw)
        if self.write is not None:
            write, self.write = self.write, None
            await write()
        return page


def racing(env: Env, write: Callable[[], Awaitable[object]]) -> Env:
    return Env(cast(Backend, WriteAfterListing(env.backend, write)), env.kind, env.part_size)


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

    sweep = sweeper(racing(env, client), state, now)
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

    sweep = sweeper(racing(env, client), state, Time())
    report = await sweep.step()
    assert report.removed_markers == 0
    assert await env.get("nullmk", "k") == b"just written"
    # a null marker still a marker at the deletion goes, whichever marker it is
    await b.delete_object("nullmk", "k")
    cast(WriteAfterListing, sweep.backend).write = lambda: b.delete_object("nullmk", "k")
    report = await sweep.step()
    assert report.removed_markers == 1
    if env.kind == "filesystem":  # SeaweedFS answers 204 to that DELETE and keeps the marker
        assert await listing(env, "nullmk") == []
    assert await code_of(b.head_object("nullmk", "k")) == "NoSuchKey"
