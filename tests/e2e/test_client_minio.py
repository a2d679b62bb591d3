"""minio-py (the MinIO Python SDK) against the gateway with its defaults: urllib3, path-style
requests, Signature V4 with the payload's SHA-256 over HTTP and `UNSIGNED-PAYLOAD` over
HTTPS, its own multipart uploads, `start-after` beside the continuation token on every
ListObjectsV2 page.
"""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from minio.commonconfig import ENABLED, REPLACE, ComposeSource, CopySource, Tags
from minio.datatypes import PostPolicy
from minio.deleteobjects import DeleteObject
from minio.error import S3Error
from minio.versioningconfig import VersioningConfig

from tests.e2e.clients import BIG, PART, TREE, minio_client
from tests.e2e.gateway_process import Gateway
from tests.e2e.post_util import post_form
from tests.e2e.s3util import unique, urlopen


def test_objects_listing_copy_compose_tags_and_presigned(
    client_gateway: Gateway, tmp_path: Path
) -> None:
    mc = minio_client(client_gateway)
    bucket = unique("minio")
    mc.make_bucket(bucket)
    assert mc.bucket_exists(bucket)
    big = os.urandom(BIG)
    # length -1: minio-py streams it as a multipart upload of PART-sized parts
    mc.put_object(bucket, "big", io.BytesIO(big), -1, part_size=PART)
    for key, body in TREE.items():
        mc.put_object(bucket, f"tree/{key}", io.BytesIO(body), len(body))
    mc.put_object(
        bucket,
        "meta",
        io.BytesIO(b"m"),
        1,
        content_type="text/x-test",
        metadata={"color": "blue"},
    )

    with mc.get_object(bucket, "big") as response:
        assert response.read() == big
    with mc.get_object(bucket, "big", offset=PART - 10, length=20) as response:
        assert response.read() == big[PART - 10 : PART + 10]
    stat = mc.stat_object(bucket, "meta")
    assert stat.size == 1 and stat.content_type == "text/x-test" and stat.metadata is not None
    assert stat.metadata["x-amz-meta-color"] == "blue"

    assert [o.object_name for o in mc.list_objects(bucket)] == ["big", "meta", "tree/"]
    recursive = [o.object_name for o in mc.list_objects(bucket, prefix="tree/", recursive=True)]
    assert recursive == sorted(f"tree/{key}" for key in TREE)
    after = [o.object_name for o in mc.list_objects(bucket, recursive=True, start_after="meta")]
    assert after == recursive

    mc.copy_object(bucket, "copy", CopySource(bucket, "meta"))
    copied = mc.stat_object(bucket, "copy").metadata
    assert copied is not None and copied["x-amz-meta-color"] == "blue"
    # compose: a multipart upload whose parts are UploadPartCopy of the sources
    mc.compose_object(
        bucket, "composed", [ComposeSource(bucket, "big"), ComposeSource(bucket, "big")]
    )
    with mc.get_object(bucket, "composed") as response:
        assert response.read() == big + big

    tags = Tags.new_object_tags()
    tags["team"] = "blue"
    mc.set_object_tags(bucket, "copy", tags)
    assert dict(mc.get_object_tags(bucket, "copy") or {}) == {"team": "blue"}

    url = mc.presigned_get_object(bucket, "meta", expires=timedelta(minutes=5))
    fetched = urlopen(client_gateway, url)
    assert (fetched.status, fetched.body) == (200, b"m")
    url = mc.presigned_put_object(bucket, "presigned", expires=timedelta(minutes=5))
    assert urlopen(client_gateway, url, "PUT", b"put through a presigned URL").status == 200
    with mc.get_object(bucket, "presigned") as response:
        assert response.read() == b"put through a presigned URL"

    (tmp_path / "file").write_bytes(big)
    mc.fput_object(bucket, "file", str(tmp_path / "file"), part_size=PART)
    mc.fget_object(bucket, "file", str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == big

    everything = [DeleteObject(o.object_name) for o in mc.list_objects(bucket, recursive=True)]
    assert list(mc.remove_objects(bucket, everything)) == []
    assert list(mc.list_objects(bucket, recursive=True)) == []
    mc.remove_bucket(bucket)
    assert not mc.bucket_exists(bucket)


def test_errors_and_versions(client_gateway: Gateway) -> None:
    mc = minio_client(client_gateway)
    bucket = unique("minio")
    mc.make_bucket(bucket)
    try:
        mc.stat_object(bucket, "missing")
        raise AssertionError("stat of a missing key succeeded")
    except S3Error as error:
        assert error.code == "NoSuchKey"
    try:
        mc.make_bucket(bucket)
        raise AssertionError("a second make_bucket succeeded")
    except S3Error as error:
        assert error.code == "BucketAlreadyOwnedByYou"

    mc.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    assert mc.get_bucket_versioning(bucket).status == ENABLED
    first = mc.put_object(bucket, "k", io.BytesIO(b"one"), 3).version_id
    second = mc.put_object(bucket, "k", io.BytesIO(b"two"), 3).version_id
    assert first and second and first != second
    versions = [(o.version_id, o.is_latest) for o in mc.list_objects(bucket, include_version=True)]
    assert versions == [(second, "true"), (first, "false")]
    with mc.get_object(bucket, "k", version_id=first) as response:
        assert response.read() == b"one"
    mc.remove_object(bucket, "k")  # a delete marker on top
    try:
        mc.stat_object(bucket, "k")
        raise AssertionError("stat under a delete marker succeeded")
    except S3Error as error:
        assert error.code == "NoSuchKey"
    with mc.get_object(bucket, "k", version_id=second) as response:
        assert response.read() == b"two"


def test_copy_with_replaced_metadata_and_tags_and_a_presigned_post_policy(
    client_gateway: Gateway,
) -> None:
    """``copy_object`` with ``metadata_directive=REPLACE``: the copy gets the request's
    metadata and Content-Type, and without a Content-Type S3's default (AWS resets it too);
    ``tagging_directive=REPLACE`` replaces the tags, ``COPY`` keeps them.
    ``presigned_post_policy``: a browser form minio-py signs, its conditions enforced."""
    mc = minio_client(client_gateway)
    bucket = unique("minio")
    mc.make_bucket(bucket)
    tags = Tags.new_object_tags()
    tags["team"] = "blue"
    mc.put_object(
        bucket, "src", io.BytesIO(b"hello"), 5, content_type="text/x-a", metadata={"a": "1"}
    )
    mc.set_object_tags(bucket, "src", tags)

    new_tags = Tags.new_object_tags()
    new_tags["kind"] = "copy"
    mc.copy_object(
        bucket,
        "replaced",
        CopySource(bucket, "src"),
        metadata={"Content-Type": "text/x-new", "b": "2"},
        metadata_directive=REPLACE,
        tags=new_tags,
        tagging_directive=REPLACE,
    )
    stat = mc.stat_object(bucket, "replaced")
    assert stat.content_type == "text/x-new" and stat.metadata is not None
    assert stat.metadata.get("x-amz-meta-b") == "2" and "x-amz-meta-a" not in stat.metadata
    assert dict(mc.get_object_tags(bucket, "replaced") or {}) == {"kind": "copy"}

    mc.copy_object(
        bucket, "bare", CopySource(bucket, "src"), metadata={"c": "3"}, metadata_directive=REPLACE
    )
    bare = mc.stat_object(bucket, "bare")
    assert bare.content_type == "binary/octet-stream"
    assert dict(mc.get_object_tags(bucket, "bare") or {}) == {"team": "blue"}
    with mc.get_object(bucket, "bare") as response:
        assert response.read() == b"hello"

    policy = PostPolicy(bucket, datetime.now(UTC) + timedelta(minutes=5))
    policy.add_starts_with_condition("key", "uploads/")
    policy.add_content_length_range_condition(1, 1024)
    form = mc.presigned_post_policy(policy)
    sent = post_form(client_gateway, bucket, {**form, "key": "uploads/a b.txt"}, b"posted")
    assert sent.status == 204, sent.body
    with mc.get_object(bucket, "uploads/a b.txt") as response:
        assert response.read() == b"posted"
    refused = post_form(client_gateway, bucket, {**form, "key": "elsewhere.txt"}, b"posted")
    assert refused.status == 403 and b"<Code>AccessDenied</Code>" in refused.body
    too_big = post_form(client_gateway, bucket, {**form, "key": "uploads/big"}, b"x" * 2000)
    assert too_big.status == 400 and b"<Code>EntityTooLarge</Code>" in too_big.body
