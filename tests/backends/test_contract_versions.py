"""The versioning and Object Lock part of the backend contract, for every backend
(filesystem, and s3 in front of moto): the ``env`` fixture is conftest's, the helpers
test_contract's.

Where moto deviates from AWS S3 the test says so (docs/upstream-backend.md); the
filesystem backend is held to AWS's answers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backends import BackendError, CopySource, ObjectLock, ObjectLockConfig, ObjectMeta
from backends.types import COMPLIANCE, GOVERNANCE, DefaultRetention
from tests.backends.test_contract import Env, code_of, payload

DAY = timedelta(days=1)


async def _versioned(env: Env, bucket: str) -> None:
    await env.backend.create_bucket(bucket)
    await env.backend.put_bucket_versioning(bucket, "Enabled")


async def _put(env: Env, bucket: str, key: str, data: bytes, **kw: object) -> str:
    info = await env.backend.put_object(
        bucket,
        key,
        payload(data),
        ObjectMeta(),
        size_hint=len(data),
        **kw,  # type: ignore[arg-type]
    )
    assert info.version_id is not None
    return info.version_id


async def _error(awaitable: object) -> BackendError:
    try:
        await awaitable  # type: ignore[misc]
    except BackendError as exc:
        return exc
    raise AssertionError("no error")


async def _listing(env: Env, bucket: str, **kw: object) -> list[tuple[str, str | None, bool, bool]]:
    page = await env.backend.list_object_versions(bucket, **kw)  # type: ignore[arg-type]
    return [(v.info.key, v.info.version_id, v.is_latest, v.delete_marker) for v in page.versions]


async def test_versioning_state(env: Env) -> None:
    b = env.backend
    await b.create_bucket("state")
    assert await b.get_bucket_versioning("state") is None
    await b.put_bucket_versioning("state", "Enabled")
    assert await b.get_bucket_versioning("state") == "Enabled"
    await b.put_bucket_versioning("state", "Suspended")
    assert await b.get_bucket_versioning("state") == "Suspended"
    assert await code_of(b.get_bucket_versioning("nobucket")) == "NoSuchBucket"
    assert await code_of(b.put_bucket_versioning("nobucket", "Enabled")) == "NoSuchBucket"


async def test_versions_markers_and_undelete(env: Env) -> None:
    b = env.backend
    await _versioned(env, "vers")
    v1 = await _put(env, "vers", "k", b"one")
    v2 = await _put(env, "vers", "k", b"two!")
    assert len({v1, v2}) == 2
    assert (await b.head_object("vers", "k")).version_id == v2
    assert await env.get("vers", "k", version_id=v1) == b"one"
    deleted = await b.delete_object("vers", "k")
    assert deleted.delete_marker and deleted.delete_marker_version_id not in (None, v1, v2)
    marker = deleted.delete_marker_version_id
    for read in (b.get_object("vers", "k"), b.head_object("vers", "k")):
        error = await _error(read)
        assert error.code == "NoSuchKey"
        if env.kind != "seaweedfs":
            # SeaweedFS deviation: its 404 for a key whose latest version is a delete
            # marker carries no x-amz-delete-marker / x-amz-version-id headers.
            assert (error.extra["DeleteMarker"], error.extra["VersionId"]) == ("true", marker)
    if env.kind != "seaweedfs":
        # SeaweedFS deviation: HEAD of a marker's version id is a plain 404, not 405.
        error = await _error(b.head_object("vers", "k", version_id=marker))
        assert (error.code, error.extra["DeleteMarker"]) == ("MethodNotAllowed", "true")
    assert (await b.list_objects("vers")).objects == ()
    assert await _listing(env, "vers") == [
        ("k", marker, True, True),
        ("k", v2, False, False),
        ("k", v1, False, False),
    ]
    await b.delete_object("vers", "k", version_id=marker)
    assert await env.get("vers", "k") == b"two!"
    gone = await b.delete_object("vers", "k", version_id=v2)
    assert (gone.version_id, gone.delete_marker) == (v2, False)
    assert await env.get("vers", "k") == b"one"
    assert await code_of(b.get_object("vers", "k", version_id=v2)) == "NoSuchVersion"
    # a bucket holding only versions is not empty
    await b.delete_object("vers", "k")
    assert await code_of(b.delete_bucket("vers")) == "BucketNotEmpty"


async def test_suspended_null_version(env: Env) -> None:
    b = env.backend
    await _versioned(env, "susp")
    v1 = await _put(env, "susp", "k", b"kept")
    await b.put_bucket_versioning("susp", "Suspended")
    await env.put("susp", "k", b"null 1")
    await env.put("susp", "k", b"null 2")
    assert await env.get("susp", "k") == b"null 2"
    listed = await _listing(env, "susp")
    if env.kind == "s3":  # moto: a suspended PUT replaces every version of the key
        assert listed == [("k", "null", True, False)]
        return
    assert listed == [("k", "null", True, False), ("k", v1, False, False)]
    assert await env.get("susp", "k", version_id="null") == b"null 2"
    deleted = await b.delete_object("susp", "k")
    assert (deleted.delete_marker, deleted.delete_marker_version_id) == (True, "null")
    assert await _listing(env, "susp") == [("k", "null", True, True), ("k", v1, False, False)]


async def test_version_listing_pages(env: Env) -> None:
    b = env.backend
    await _versioned(env, "pages")
    written: dict[str, list[str]] = {}
    for key in ("a", "d/x", "d/y", "z"):
        written[key] = [await _put(env, "pages", key, str(i).encode()) for i in range(3)]
    await b.delete_object("pages", "d/y")
    full = await _listing(env, "pages")
    assert [k for k, _, _, _ in full] == ["a"] * 3 + ["d/x"] * 3 + ["d/y"] * 4 + ["z"] * 3
    assert [vid for k, vid, _, _ in full if k == "z"] == written["z"][::-1]
    # one entry per page, resumed from each page's markers, gives the same list
    paged: list[tuple[str, str | None, bool, bool]] = []
    key_marker = version_marker = None
    while True:
        page = await b.list_object_versions(
            "pages", key_marker=key_marker, version_id_marker=version_marker, max_keys=1
        )
        paged += [
            (v.info.key, v.info.version_id, v.is_latest, v.delete_marker) for v in page.versions
        ]
        if not page.is_truncated:
            break
        key_marker, version_marker = page.next_key_marker, page.next_version_id_marker
    assert paged == full
    rolled = await b.list_object_versions("pages", delimiter="/")
    assert rolled.common_prefixes == ("d/",)
    assert [v.info.key for v in rolled.versions] == ["a"] * 3 + ["z"] * 3
    after = await _listing(env, "pages", key_marker="a")
    assert after[0][0] == "d/x"
    inside = await _listing(env, "pages", key_marker="z", version_id_marker=written["z"][2])
    assert [vid for _, vid, _, _ in inside] == written["z"][1::-1]


async def test_copies_from_versions(env: Env) -> None:
    b = env.backend
    await _versioned(env, "copies")
    v1 = await _put(env, "copies", "src", b"a" * env.part_size)
    await _put(env, "copies", "src", b"b" * 10)
    copied = await b.copy_object(CopySource("copies", "src", v1), "copies", "dst")
    assert copied.version_id not in (None, v1)
    assert await env.get("copies", "dst") == b"a" * env.part_size
    upload = await b.create_multipart_upload("copies", "mp", ObjectMeta())
    part = await b.upload_part_copy(
        CopySource("copies", "src", v1), "copies", "mp", upload.upload_id, 1
    )
    done = await b.complete_multipart_upload("copies", "mp", upload.upload_id, [(1, part.etag)])
    assert done.version_id is not None
    assert await env.get("copies", "mp") == b"a" * env.part_size
    marker = (await b.delete_object("copies", "src")).delete_marker_version_id
    assert await code_of(b.copy_object(CopySource("copies", "src"), "copies", "x")) == "NoSuchKey"
    refused = await code_of(b.copy_object(CopySource("copies", "src", marker), "copies", "x"))
    # AWS: InvalidRequest, a delete marker cannot be a copy source (moto's NoSuchVersion
    # is described by a HEAD of the version); SeaweedFS deviation: NoSuchKey
    expected = {"seaweedfs": "NoSuchKey"}.get(env.kind, "InvalidRequest")
    assert refused == expected


async def test_delete_objects_reports_markers(env: Env) -> None:
    b = env.backend
    await _versioned(env, "dels")
    v1 = await _put(env, "dels", "a", b"1")
    await _put(env, "dels", "b", b"2")
    results = await b.delete_objects("dels", [("a", v1), ("b", None)])
    assert (results[0].version_id, results[0].delete_marker) == (v1, False)
    assert results[1].delete_marker and results[1].delete_marker_version_id


async def test_unknown_and_malformed_version_ids(env: Env) -> None:
    b = env.backend
    await _versioned(env, "ids")
    v1 = await _put(env, "ids", "k", b"1")
    unknown = v1[:-1] + ("A" if v1[-1] != "A" else "B")
    assert await code_of(b.get_object("ids", "k", version_id=unknown)) == "NoSuchVersion"
    assert await code_of(b.head_object("ids", "k", version_id=unknown)) == "NoSuchVersion"
    assert not (await b.delete_object("ids", "k", version_id=unknown)).delete_marker  # a no-op
    # moto looks any string up as an id; SeaweedFS deviation: so does SeaweedFS
    # (NoSuchVersion where AWS answers InvalidArgument for an id it cannot have issued)
    if env.kind not in ("s3", "seaweedfs"):
        assert await code_of(b.get_object("ids", "k", version_id="not an id")) == "InvalidArgument"
    assert await env.get("ids", "k") == b"1"


# -- Object Lock -----------------------------------------------------------------------------


async def test_object_lock_rules(env: Env) -> None:
    b = env.backend
    await b.create_bucket("worm", object_lock=True)
    assert await b.get_bucket_versioning("worm") == "Enabled"
    assert (await b.get_object_lock_configuration("worm")).default_retention is None
    assert await code_of(b.put_bucket_versioning("worm", "Suspended")) == "InvalidBucketState"
    until = datetime.now(UTC) + DAY
    gov = await _put(env, "worm", "g", b"g", object_lock=ObjectLock(GOVERNANCE, until))
    comp = await _put(env, "worm", "c", b"c", object_lock=ObjectLock(COMPLIANCE, until))
    head = await b.head_object("worm", "g")
    assert head.lock is not None and head.lock.mode == GOVERNANCE
    assert head.lock.retain_until is not None
    assert abs((head.lock.retain_until - until).total_seconds()) < 1
    assert await code_of(b.delete_object("worm", "g", version_id=gov)) == "AccessDenied"
    assert (
        await code_of(b.delete_object("worm", "c", version_id=comp, bypass_governance=True))
        == "AccessDenied"
    )
    # shortening: GOVERNANCE only with the bypass, COMPLIANCE never
    shorter = ObjectLock(GOVERNANCE, until - timedelta(hours=1))
    assert await code_of(b.put_object_retention("worm", "g", shorter)) == "AccessDenied"
    await b.put_object_retention("worm", "g", shorter, bypass_governance=True)
    assert (
        await code_of(
            b.put_object_retention(
                "worm", "c", ObjectLock(COMPLIANCE, until - DAY / 2), bypass_governance=True
            )
        )
        == "AccessDenied"
    )
    await b.put_object_retention("worm", "c", ObjectLock(COMPLIANCE, until + DAY))
    assert (await b.get_object_lock("worm", "c")).retain_until is not None
    # a marker is always allowed; deleting a GOVERNANCE version with the bypass too
    assert (await b.delete_object("worm", "g")).delete_marker
    await b.delete_object("worm", "g", version_id=gov, bypass_governance=True)
    # legal hold: nothing deletes the version until it is released
    held = await _put(env, "worm", "h", b"h", object_lock=ObjectLock(legal_hold=True))
    assert (await b.get_object_lock("worm", "h")).legal_hold is True
    assert (
        await code_of(b.delete_object("worm", "h", version_id=held, bypass_governance=True))
        == "AccessDenied"
    )
    await b.put_object_legal_hold("worm", "h", False)
    await b.delete_object("worm", "h", version_id=held)


async def test_default_retention_and_lock_needs_a_lock_bucket(env: Env) -> None:
    b = env.backend
    await b.create_bucket("deflock", object_lock=True)
    await b.put_object_lock_configuration(
        "deflock", ObjectLockConfig(DefaultRetention(GOVERNANCE, days=3))
    )
    config = await b.get_object_lock_configuration("deflock")
    assert config.default_retention == DefaultRetention(GOVERNANCE, days=3)
    await _put(env, "deflock", "k", b"x")
    lock = (await b.head_object("deflock", "k")).lock
    assert lock is not None and lock.mode == GOVERNANCE and lock.retain_until is not None
    assert abs(lock.retain_until - (datetime.now(UTC) + 3 * DAY)) < timedelta(minutes=2)
    await b.create_bucket("plain")
    lock_request = ObjectLock(GOVERNANCE, datetime.now(UTC) + DAY)
    refused = b.put_object("plain", "k", payload(b"x"), ObjectMeta(), object_lock=lock_request)
    assert await code_of(refused) == "InvalidRequest"
    await env.put("plain", "k", b"x")
    assert await code_of(b.get_object_lock("plain", "k")) == "InvalidRequest"
    assert await code_of(b.put_object_retention("plain", "k", lock_request)) == "InvalidRequest"
    assert await code_of(b.get_object_lock_configuration("plain")) == (
        "ObjectLockConfigurationNotFoundError"
    )
    assert await code_of(b.put_object_lock_configuration("plain", ObjectLockConfig())) == (
        "InvalidBucketState"
    )


@pytest.mark.parametrize("status", ["Enabled", "Suspended"])
async def test_never_versioned_answers_stay_as_before(env: Env, status: str) -> None:
    """Versions only appear once versioning was set: before, no version ids anywhere."""
    b = env.backend
    await b.create_bucket("before")
    info = await b.put_object("before", "k", payload(b"x"), ObjectMeta(), size_hint=1)
    assert info.version_id is None
    assert (await b.head_object("before", "k")).version_id is None
    assert not (await b.delete_object("before", "k")).delete_marker
    await env.put("before", "k", b"again")
    await b.put_bucket_versioning("before", status)
    assert await env.get("before", "k", version_id="null") == b"again"
    assert (await _listing(env, "before"))[0][1] == "null"
