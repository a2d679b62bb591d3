"""A write the storage has no room for (full disk or quota, a file over the size limit):
503 ``ServiceUnavailable`` with Retry-After on S3 and the ``/v1`` API, the old object
intact, nothing partial left, and one log line per interval instead of a traceback per
request (which would fill the log's disk too).

The gateway runs with a file size limit (``prlimit --fsize``): a write past it fails with
EFBIG, through the same paths a full disk fails with ENOSPC.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from backends.errors import storage_full
from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import ADMIN
from tests.security.dos_util import start_limited

MiB = 1024 * 1024
LIMIT = 6 * MiB
"""Bytes one file may hold: the metadata and identity databases stay well below it."""
TOO_BIG = 7 * MiB


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    data = tmp_path_factory.mktemp("storage-full") / "data"
    running = start_limited(data, {"NFYIO_FSYNC": "true"}, fsize=LIMIT)
    yield running
    running.stop()


def _refusal(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str | None]:
    response = exc.value.response
    meta = response["ResponseMetadata"]
    return response["Error"]["Code"], meta["HTTPStatusCode"], meta["HTTPHeaders"].get("retry-after")


def test_a_put_without_room_is_503_and_keeps_the_old_object(gateway: Gateway) -> None:
    s3 = gateway.client()
    s3.create_bucket(Bucket="full-put")
    s3.put_object(Bucket="full-put", Key="k", Body=b"old")
    for _ in range(5):
        with pytest.raises(ClientError) as refused:
            s3.put_object(Bucket="full-put", Key="k", Body=os.urandom(TOO_BIG))
        assert _refusal(refused) == ("ServiceUnavailable", 503, "30")
    assert s3.get_object(Bucket="full-put", Key="k")["Body"].read() == b"old"
    assert gateway.temp_files() == []
    # room for this one: the same gateway writes again
    s3.put_object(Bucket="full-put", Key="k", Body=b"new")
    assert s3.get_object(Bucket="full-put", Key="k")["Body"].read() == b"new"
    log = gateway.log()
    assert "Traceback" not in log
    assert 1 <= log.count("storage full") <= 2, "one line per interval, not one per request"


def test_multipart_without_room_is_503_and_the_upload_stays(gateway: Gateway) -> None:
    s3 = gateway.client()
    s3.create_bucket(Bucket="full-parts")
    upload = s3.create_multipart_upload(Bucket="full-parts", Key="big")["UploadId"]
    with pytest.raises(ClientError) as refused:
        s3.upload_part(
            Bucket="full-parts", Key="big", UploadId=upload, PartNumber=1, Body=os.urandom(TOO_BIG)
        )
    assert _refusal(refused) == ("ServiceUnavailable", 503, "30")
    # parts that fit, whose concatenation does not
    parts = []
    for number, size in ((1, 5 * MiB), (2, 2 * MiB)):
        done = s3.upload_part(
            Bucket="full-parts",
            Key="big",
            UploadId=upload,
            PartNumber=number,
            Body=os.urandom(size),
        )
        parts.append({"PartNumber": number, "ETag": done["ETag"]})
    with pytest.raises(ClientError) as refused:
        s3.complete_multipart_upload(
            Bucket="full-parts", Key="big", UploadId=upload, MultipartUpload={"Parts": parts}
        )
    assert _refusal(refused) == ("ServiceUnavailable", 503, "30")
    listed = s3.list_parts(Bucket="full-parts", Key="big", UploadId=upload)["Parts"]
    assert [p["PartNumber"] for p in listed] == [1, 2]  # the upload can be completed later
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket="full-parts", Key="big")
    assert missing.value.response["Error"]["Code"] == "404"
    assert gateway.temp_files() == []
    s3.abort_multipart_upload(Bucket="full-parts", Key="big", UploadId=upload)
    assert "Traceback" not in gateway.log()


def test_a_rest_upload_without_room_is_a_503_envelope(gateway: Gateway) -> None:
    gateway.client().create_bucket(Bucket="full-rest")
    request = urllib.request.Request(
        f"{gateway.api_url}/v1/buckets/full-rest/objects/content?key=k",
        data=os.urandom(TOO_BIG),
        method="PUT",
        headers={**ADMIN, "Content-Type": "application/octet-stream"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 503
    assert refused.value.headers["Retry-After"] == "30"
    body = refused.value.read().decode()
    assert '"code": "ServiceUnavailable"' in body or '"code":"ServiceUnavailable"' in body
    assert gateway.temp_files() == []
    assert "Traceback" not in gateway.log()


def test_what_counts_as_no_room(tmp_path: Path) -> None:
    """A full disk or quota, a file over the size limit, SQLite's SQLITE_FULL; not other
    I/O errors, not a busy database."""
    conn = sqlite3.connect(tmp_path / "small.db")
    conn.execute("CREATE TABLE t (v BLOB)")
    conn.execute("PRAGMA max_page_count = 8")
    with pytest.raises(sqlite3.OperationalError) as full:
        for _ in range(100):
            conn.execute("INSERT INTO t VALUES (?)", (os.urandom(4096),))
    conn.close()
    assert storage_full(full.value) is not None
    for code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        refusal = storage_full(OSError(code, os.strerror(code)))
        assert refusal is not None and refusal.code == "ServiceUnavailable"
    assert storage_full(OSError(errno.EIO, os.strerror(errno.EIO))) is None
    assert storage_full(sqlite3.OperationalError("database is locked")) is None
    assert storage_full(ValueError("no room")) is None
