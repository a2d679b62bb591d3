"""The object-tagging part of the backend contract, for every backend (filesystem, s3 in
front of moto, s3 in front of SeaweedFS): tags written with the object, changed in place
on a version, carried (or replaced) by copies and multipart uploads, counted on reads.

Where a store deviates from AWS S3 the test says so (docs/upstream-backend.md).
"""

from __future__ import annotations

from backends import CopySource, ObjectMeta
from tests.backends.test_contract import Env, code_of, payload

TAGS = (("colour", "blue"), ("size", "L"))


async def _put(env: Env, bucket: str, key: str, data: bytes, **kw: object) -> str | None:
    info = await env.backend.put_object(
        bucket,
        key,
        payload(data),
        ObjectMeta(),
        size_hint=len(data),
        **kw,  # type: ignore[arg-type]
    )
    return info.version_id


async def test_tags_written_with_the_object(env: Env) -> None:
    b = env.backend
    await b.create_bucket("tagged")
    await _put(env, "tagged", "k", b"data", tags=TAGS)
    assert (await b.get_object_tagging("tagged", "k")).tags == TAGS
    assert (await b.head_object("tagged", "k")).tag_count == 2
    read = await b.get_object("tagged", "k")
    await read.aclose()
    assert read.info.tag_count == 2
    await _put(env, "tagged", "plain", b"data")
    assert (await b.get_object_tagging("tagged", "plain")).tags == ()
    assert (await b.head_object("tagged", "plain")).tag_count == 0
    # a new write of the key replaces the tag set with its own
    await _put(env, "tagged", "k", b"again")
    assert (await b.get_object_tagging("tagged", "k")).tags == ()


async def test_put_and_delete_tagging_keep_the_data(env: Env) -> None:
    b = env.backend
    await b.create_bucket("retag")
    await _put(env, "retag", "k", b"payload", tags=TAGS)
    before = await b.head_object("retag", "k")
    await b.put_object_tagging("retag", "k", (("only", "one"),))
    assert (await b.get_object_tagging("retag", "k")).tags == (("only", "one"),)
    after = await b.head_object("retag", "k")
    assert (after.etag, after.size, after.tag_count) == (before.etag, before.size, 1)
    assert await env.get("retag", "k") == b"payload"
    await b.delete_object_tagging("retag", "k")
    assert (await b.get_object_tagging("retag", "k")).tags == ()
    assert (await b.head_object("retag", "k")).tag_count == 0
    # an empty tag set removes the tags as well
    await b.put_object_tagging("retag", "k", TAGS)
    await b.put_object_tagging("retag", "k", ())
    assert (await b.get_object_tagging("retag", "k")).tags == ()


async def test_tagging_missing_key_and_bucket(env: Env) -> None:
    b = env.backend
    await b.create_bucket("absent")
    assert await code_of(b.get_object_tagging("absent", "nope")) == "NoSuchKey"
    assert await code_of(b.put_object_tagging("absent", "nope", TAGS)) == "NoSuchKey"
    assert await code_of(b.delete_object_tagging("absent", "nope")) == "NoSuchKey"
    assert await code_of(b.get_object_tagging("no-such-bucket-x", "k")) == "NoSuchBucket"
    assert await code_of(b.put_object_tagging("no-such-bucket-x", "k", TAGS)) == "NoSuchBucket"


async def test_copy_keeps_or_replaces_tags(env: Env) -> None:
    b = env.backend
    await b.create_bucket("copies")
    await _put(env, "copies", "src", b"source", tags=TAGS)
    await b.copy_object(CopySource("copies", "src"), "copies", "kept")
    assert (await b.get_object_tagging("copies", "kept")).tags == TAGS
    await b.copy_object(CopySource("copies", "src"), "copies", "new", tags=(("fresh", "1"),))
    assert (await b.get_object_tagging("copies", "new")).tags == (("fresh", "1"),)
    await b.copy_object(CopySource("copies", "src"), "copies", "none", tags=())
    assert (await b.get_object_tagging("copies", "none")).tags == ()
    # metadata REPLACE with tags COPY: the source's tags stay
    await b.copy_object(
        CopySource("copies", "src"), "copies", "meta", meta=ObjectMeta(content_type="text/x")
    )
    assert (await b.get_object_tagging("copies", "meta")).tags == TAGS


async def test_multipart_upload_tags_the_object(env: Env) -> None:
    b = env.backend
    await b.create_bucket("mpu")
    upload = await b.create_multipart_upload("mpu", "big", ObjectMeta(), tags=TAGS)
    part = await b.upload_part("mpu", "big", upload.upload_id, 1, payload(b"x" * 10))
    await b.complete_multipart_upload("mpu", "big", upload.upload_id, [(1, part.etag)])
    assert (await b.get_object_tagging("mpu", "big")).tags == TAGS
    assert (await b.head_object("mpu", "big")).tag_count == 2


async def test_tags_belong_to_a_version(env: Env) -> None:
    b = env.backend
    await b.create_bucket("vtags")
    await b.put_bucket_versioning("vtags", "Enabled")
    v1 = await _put(env, "vtags", "k", b"one", tags=(("v", "1"),))
    v2 = await _put(env, "vtags", "k", b"two", tags=(("v", "2"),))
    assert v1 is not None and v2 is not None
    first = await b.get_object_tagging("vtags", "k", version_id=v1)
    assert first.tags == (("v", "1"),)
    assert first.version_id == v1
    latest = await b.get_object_tagging("vtags", "k")
    assert latest.tags == (("v", "2"),)
    if env.kind != "seaweedfs":  # SeaweedFS answers GetObjectTagging without VersionId
        assert latest.version_id == v2
    assert await b.put_object_tagging("vtags", "k", (("old", "yes"),), version_id=v1) == v1
    assert (await b.get_object_tagging("vtags", "k", version_id=v1)).tags == (("old", "yes"),)
    assert (await b.get_object_tagging("vtags", "k")).tags == (("v", "2"),)
    assert (await b.head_object("vtags", "k", version_id=v1)).tag_count == 1
    assert await b.delete_object_tagging("vtags", "k", version_id=v1) == v1
    assert (await b.get_object_tagging("vtags", "k", version_id=v1)).tags == ()
    assert (await b.get_object_tagging("vtags", "k")).tags == (("v", "2"),)
    # a write that pushes the latest version down keeps that version's tags
    await _put(env, "vtags", "k", b"three")
    assert (await b.get_object_tagging("vtags", "k", version_id=v2)).tags == (("v", "2"),)


async def test_tagging_a_delete_marker(env: Env) -> None:
    b = env.backend
    await b.create_bucket("markers")
    await b.put_bucket_versioning("markers", "Enabled")
    await _put(env, "markers", "k", b"data", tags=TAGS)
    gone = await b.delete_object("markers", "k")
    assert await code_of(b.get_object_tagging("markers", "k")) == "NoSuchKey"
    marker = gone.delete_marker_version_id
    assert marker is not None
    assert await code_of(b.get_object_tagging("markers", "k", version_id=marker)) in {
        "MethodNotAllowed",
        # moto and SeaweedFS answer a delete marker's id as a missing version
        *({"NoSuchVersion", "NoSuchKey"} if env.kind != "filesystem" else set()),
    }
