"""A data directory whose file system fills up: writes are refused (503), the gateway stays
up and serves what it holds.

The gateway runs on a file system of its own, a small tmpfs mounted in a private mount
namespace (``unshare --mount --map-root-user``: no privileges needed, nothing mounted
outside the gateway's process), which its own writes fill. A file size limit
(``test_storage_full.py``) only fails ``write``; a full file system also fails the
first store into a page of a memory-mapped file that has no block on the disk yet, and
the kernel answers that with SIGBUS, which kills the process.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway, start_gateway

MiB = 1024 * 1024
SIZE = "24m"


def _on_own_tmpfs(data_dir: Path) -> list[str]:
    """A command line prefix that runs the gateway with a ``SIZE`` tmpfs on ``data_dir``."""
    script = f'mount -t tmpfs -o size={SIZE},mode=0700 tmpfs "$0" && exec "$@"'
    return ["unshare", "--mount", "--map-root-user", "sh", "-c", script, str(data_dir)]


@pytest.fixture
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    data = tmp_path_factory.mktemp("full-fs") / "data"
    # the background writers (keys' last use, audit events) try often: each failure on
    # the full disk is a line of the log
    env = {
        "NFYIO_FSYNC": "true",
        "NFYIO_AUTH_USAGE_FLUSH_INTERVAL": "0.1",
        "NFYIO_AUDIT_FLUSH_INTERVAL": "0.05",
    }
    running = start_gateway(data, extra_env=env, wrapper=_on_own_tmpfs(data))
    yield running
    running.stop()


def _fill(s3: Any, bucket: str) -> None:
    """PUT objects of falling sizes (data files, then inline bodies: the metadata
    database) until each size is refused (503)."""
    n = 0
    for size in (MiB, 128 * 1024, 16 * 1024, 1024):
        for _ in range(64):
            n += 1
            try:
                s3.put_object(Bucket=bucket, Key=f"fill-{n}", Body=os.urandom(size))
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "ServiceUnavailable", exc.response
                break
        else:
            raise AssertionError(f"{SIZE} took 64 objects of {size} bytes")


def test_a_full_file_system_leaves_the_gateway_serving(gateway: Gateway) -> None:
    """Metrics live in memory-mapped files of the data directory: a new label set (the
    first 503 of an operation) grew one into a sparse page, and the store into it on a
    full disk killed the gateway."""
    s3 = gateway.client()
    s3.create_bucket(Bucket="full")
    s3.put_object(Bucket="full", Key="kept", Body=b"kept bytes")
    _fill(s3, "full")
    # operations (so label sets) not seen before, refused for want of room
    attempts: list[Callable[[], object]] = [
        lambda: s3.create_multipart_upload(Bucket="full", Key="upload"),
        lambda: s3.copy_object(Bucket="full", Key="copy", CopySource="full/kept"),
        lambda: s3.put_object_tagging(
            Bucket="full", Key="kept", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]}
        ),
        lambda: s3.put_object(Bucket="full", Key="kept", Body=os.urandom(2 * MiB)),
    ]
    for attempt in attempts:
        try:
            attempt()  # a few bytes may still fit in the database's journal
        except ClientError as exc:
            response = exc.response
            assert response["Error"]["Code"] == "ServiceUnavailable", response
            assert response["ResponseMetadata"]["HTTPStatusCode"] == 503
    # a scrape moves every tally into the value files now (else once a second)
    try:
        with urllib.request.urlopen(f"{gateway.api_url}/metrics", timeout=10) as scrape:
            status = scrape.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    assert status in (200, 503)
    assert gateway.process.poll() is None, gateway.log()[-3000:]
    assert s3.get_object(Bucket="full", Key="kept")["Body"].read() == b"kept bytes"
    assert "full" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    log = gateway.log()
    assert "status=500" not in log
    assert "Traceback" not in log, "one line per interval, not a traceback per attempt"


def test_deleting_makes_room_on_a_full_file_system(gateway: Gateway) -> None:
    """A delete writes to the metadata database too: on a full disk its journal could
    not grow, so every DeleteObject(s) and AbortMultipartUpload was refused and the
    only way to make room through S3 was closed. The reserve (``meta/reserve``) gives
    them room, and is taken back from the room they free."""
    s3 = gateway.client()
    s3.create_bucket(Bucket="room")
    s3.put_object(Bucket="room", Key="kept", Body=b"kept bytes")
    upload = s3.create_multipart_upload(Bucket="room", Key="upload")["UploadId"]
    s3.upload_part(Bucket="room", Key="upload", UploadId=upload, PartNumber=1, Body=os.urandom(MiB))
    for _ in range(2):  # the reserve is there again for the second time
        _fill(s3, "room")
        filled = [o["Key"] for o in s3.list_objects_v2(Bucket="room")["Contents"]]
        filled.remove("kept")
        s3.delete_object(Bucket="room", Key=filled.pop())
        done = s3.delete_objects(
            Bucket="room", Delete={"Objects": [{"Key": key} for key in filled]}
        )
        assert "Errors" not in done and len(done["Deleted"]) == len(filled)
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="room")["Contents"]] == ["kept"]
        s3.put_object(Bucket="room", Key="after", Body=os.urandom(MiB))  # room again
        s3.delete_object(Bucket="room", Key="after")
    _fill(s3, "room")
    s3.abort_multipart_upload(Bucket="room", Key="upload", UploadId=upload)
    assert s3.list_multipart_uploads(Bucket="room").get("Uploads", []) == []
    assert s3.get_object(Bucket="room", Key="kept")["Body"].read() == b"kept bytes"
    log = gateway.log()
    assert "status=500" not in log
    assert "Traceback" not in log, "one line per interval, not a traceback per attempt"
