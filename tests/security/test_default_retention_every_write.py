"""Class: a write path that leaves a version outside its bucket's default retention.

A bucket's default retention protects every version written into it, whoever writes
it and however: PutObject, CopyObject, CompleteMultipartUpload (with a part copied in
too), a browser form (POST) and the REST API's upload. A path that skipped it would let
a key allowed to write and delete (``write:objects`` + ``delete:objects``, no
``bypass:governance``) write a version and remove it for good at once, or destroy a
protected one by way of that path. Each version any path makes carries the default
retention, and that key's DeleteObject / DeleteObjects of it is refused, the bypass
header sent along (it has no right to it).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.gateway_process import Gateway
from tests.e2e.post_util import post_form, presigned_post
from tests.e2e.rest_util import bearer, call, make_key
from tests.e2e.s3util import expect_error

WRITER = ["read:objects", "write:objects", "delete:objects", "read:buckets"]


def _versions_of_every_path(gateway: Gateway, writer: Any, secret: str, bucket: str) -> None:
    writer.put_object(Bucket=bucket, Key="put", Body=b"put")
    writer.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "put"})
    upload = writer.create_multipart_upload(Bucket=bucket, Key="multipart")["UploadId"]
    parts = [
        writer.upload_part(
            Bucket=bucket, Key="multipart", UploadId=upload, PartNumber=1, Body=b"m" * 5242880
        )["ETag"],
        writer.upload_part_copy(
            Bucket=bucket,
            Key="multipart",
            UploadId=upload,
            PartNumber=2,
            CopySource={"Bucket": bucket, "Key": "put"},
        )["CopyPartResult"]["ETag"],
    ]
    writer.complete_multipart_upload(
        Bucket=bucket,
        Key="multipart",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(parts)]},
    )
    posted = post_form(gateway, bucket, presigned_post(writer, bucket, "post"), b"posted")
    assert posted.status == 204, posted.body
    status, _, body = call(
        gateway,
        "PUT",
        f"/v1/buckets/{bucket}/objects/content?key=rest",
        headers={**bearer(secret), "Content-Type": "text/plain"},
    )
    assert status == 201, body


def test_every_write_path_takes_the_default_retention(gateway: Gateway, s3: Any) -> None:
    bucket = f"sec-default-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket=bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
        },
    )
    key = make_key(gateway, scopes=WRITER)
    writer = gateway.client(key["access_key_id"], key["secret_access_key"])
    _versions_of_every_path(gateway, writer, key["secret_access_key"], bucket)
    listed = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert sorted(v["Key"] for v in listed) == ["copy", "multipart", "post", "put", "rest"]
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    for version in listed:
        name, version_id = version["Key"], version["VersionId"]
        retention = s3.get_object_retention(Bucket=bucket, Key=name, VersionId=version_id)
        assert retention["Retention"]["Mode"] == "GOVERNANCE", name
        until = retention["Retention"]["RetainUntilDate"]
        assert abs((until - tomorrow).total_seconds()) < 600, name
        expect_error(
            "AccessDenied", 403, writer.delete_object, Bucket=bucket, Key=name,
            VersionId=version_id, BypassGovernanceRetention=True,
        )  # fmt: skip
    answer = writer.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in listed]},
        BypassGovernanceRetention=True,
    )
    assert answer.get("Deleted", []) == []
    assert {e["Code"] for e in answer["Errors"]} == {"AccessDenied"}
    assert len(s3.list_object_versions(Bucket=bucket)["Versions"]) == len(listed)
