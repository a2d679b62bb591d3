"""The s3 backend with ``request_checksum_calculation`` and ``response_checksum_validation``
set to ``when_supported`` (aiobotocore computes a CRC32 for every upload and checks the
store's on reads), in front of moto, driven by boto3.

A body above ``spool_threshold`` is streamed upstream (``streams.UploadBody``): botocore
cannot compute its CRC before sending (it would ``seek`` and ``tell`` the body), so the
CRC goes as an aws-chunked trailer (``client._checksum_as_trailer``). Before, every such
PutObject and UploadPart was a 500 (``'UploadBody' object has no attribute 'tell'``).

A body botocore checks against the store's checksum is checked by the read that finds its
end; the gateway makes that read before the last chunk goes (``streams.DownloadBody``).
Before, it never did (it stops at ``Content-Length``), and a body failing its checksum was
served as whole.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.e2e.conftest import upstream_direct, upstream_env
from tests.e2e.gateway_process import Gateway, start_gateway
from tests.e2e.scripted_store import ScriptedStore, StoreRequest, gateway_before

SPOOL_THRESHOLD = 64 * 1024
"""Bodies above it are streamed (the default, 8 MiB, would make the test slow)."""


@pytest.fixture(scope="module")
def checksum_gateway(
    tmp_path_factory: pytest.TempPathFactory, moto_upstream: str
) -> Iterator[Gateway]:
    env = upstream_env(moto_upstream)
    env["NFYIO_UPSTREAM_REQUEST_CHECKSUM_CALCULATION"] = "when_supported"
    env["NFYIO_UPSTREAM_RESPONSE_CHECKSUM_VALIDATION"] = "when_supported"
    env["NFYIO_UPSTREAM_SPOOL_THRESHOLD"] = str(SPOOL_THRESHOLD)
    running = start_gateway(tmp_path_factory.mktemp("gw-when-supported") / "data", extra_env=env)
    try:
        yield running
    finally:
        running.stop()


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_streamed_and_spooled_uploads_carry_a_crc_the_store_checked(
    checksum_gateway: Gateway, moto_upstream: str
) -> None:
    s3 = checksum_gateway.client()
    direct = upstream_direct(
        moto_upstream,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    bucket = f"crc-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    small = b"spooled body"
    large = bytes(range(256)) * (3 * SPOOL_THRESHOLD // 256) + b"tail"
    for key, data in (("small", small), ("large", large)):
        s3.put_object(Bucket=bucket, Key=key, Body=data)
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data
        ranged = s3.get_object(Bucket=bucket, Key=key, Range="bytes=3-9")
        assert ranged["Body"].read() == data[3:10]
        # the CRC the store keeps is the one of the bytes: it went with the upload
        stored = direct.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert stored.get("ChecksumCRC32") == _crc32(data)

    part = b"p" * (2 * SPOOL_THRESHOLD)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="parts")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="parts", UploadId=upload, PartNumber=1, Body=part)[
        "ETag"
    ]
    assert etag.strip('"') == hashlib.md5(part).hexdigest()
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="parts",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert s3.get_object(Bucket=bucket, Key="parts")["Body"].read() == part
    assert "Traceback" not in checksum_gateway.log()


def test_a_streamed_upload_that_fails_its_md5_leaves_the_old_object(
    checksum_gateway: Gateway,
) -> None:
    s3 = checksum_gateway.client(request_checksum_calculation="when_required")
    bucket = f"crc-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"the old object")
    data = b"n" * (2 * SPOOL_THRESHOLD)
    wrong = base64.b64encode(hashlib.md5(b"other bytes").digest()).decode()
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket, Key="k", Body=data, ContentMD5=wrong)
    assert refused.value.response["Error"]["Code"] == "BadDigest"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"the old object"


# -- response_checksum_validation: a store whose checksum does not match its body ----------

OBJECTS = {"small": b"0123456789", "large": bytes(range(256)) * 4096}
"""``<name>-good`` is served with its CRC32, ``<name>-bad`` with another one."""


class _ObjectStore(ScriptedStore):
    """Answers HeadBucket (no bucket yet) and CreateBucket itself, and an object request
    with what ``serve`` makes of it: the status, the headers besides ETag and
    Last-Modified, the body."""

    def answer(self, request: StoreRequest) -> bool:
        self.read_body(request)
        if len(request.segments) == 1:  # HeadBucket (none yet), CreateBucket
            status = b"404 Not Found" if request.method == "HEAD" else b"200 OK"
            self.sock.sendall(b"HTTP/1.1 %s\r\nContent-Length: 0\r\n\r\n" % status)
            return True
        status, head, data = self.serve(request)
        head = (
            b'ETag: "0123456789abcdef0123456789abcdef"\r\n'
            b"Last-Modified: Sat, 05 Dec 2026 10:00:00 GMT\r\n" + head
        )
        self.sock.sendall(
            b"HTTP/1.1 %s\r\nContent-Length: %d\r\n%s\r\n%s"
            % (status, len(data), head, b"" if request.method == "HEAD" else data)
        )
        return True

    def serve(self, request: StoreRequest) -> tuple[bytes, bytes, bytes]:
        raise NotImplementedError


class _CorruptingStore(_ObjectStore):
    def serve(self, request: StoreRequest) -> tuple[bytes, bytes, bytes]:
        name, _, kind = request.segments[1].partition("-")
        data = OBJECTS[name]
        spec = request.headers.get("range", "")
        if spec:  # bytes=a-b: no checksum, as S3 answers a range
            first, _, last = spec.removeprefix("bytes=").partition("-")
            head = b"Content-Range: bytes %s-%s/%d\r\n" % (
                first.encode(),
                last.encode(),
                len(data),
            )
            return b"206 Partial Content", head, data[int(first) : int(last) + 1]
        checksum = _crc32(data if kind == "good" else b"other bytes")
        return b"200 OK", b"x-amz-checksum-crc32: %s\r\n" % checksum.encode(), data


def test_a_body_that_fails_the_stores_checksum_never_reaches_the_client_whole(
    tmp_path: Path,
) -> None:
    env = {"NFYIO_UPSTREAM_RESPONSE_CHECKSUM_VALIDATION": "when_supported"}
    with gateway_before(_CorruptingStore, tmp_path / "data", extra_env=env) as (gw, _):
        s3 = gw.client(response_checksum_validation="when_required")
        s3.create_bucket(Bucket="crc")
        for name, data in OBJECTS.items():
            assert s3.get_object(Bucket="crc", Key=f"{name}-good")["Body"].read() == data
            ranged = s3.get_object(Bucket="crc", Key=f"{name}-bad", Range="bytes=2-6")
            assert ranged["Body"].read() == data[2:7]
        # small: found before the answer started, an S3 error
        with pytest.raises(ClientError) as refused:
            s3.get_object(Bucket="crc", Key="small-bad")
        assert refused.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        # large: found before the last chunk went, the download is cut
        got = s3.get_object(Bucket="crc", Key="large-bad")
        assert got["ContentLength"] == len(OBJECTS["large"])
        with pytest.raises(BotoCoreError):
            got["Body"].read()
        log = gw.log()
        assert "does not match its checksum" in log
        assert "Traceback" not in log


class _WholeChecksumOnRanges(_ObjectStore):
    """A store that sends the whole object's CRC32 with a range of it too: Ceph RGW
    before ceph/ceph#61901, s3s, and S3 itself for ``bytes=0-`` of a multipart object
    with a composite checksum (boto/botocore#3346). The checksum does not describe the
    partial body, so it cannot be checked against it."""

    def serve(self, request: StoreRequest) -> tuple[bytes, bytes, bytes]:
        whole = OBJECTS[request.segments[1]]
        head = b"x-amz-checksum-crc32: %s\r\n" % _crc32(whole).encode()
        spec = request.headers.get("range", "")
        if not spec:
            return b"200 OK", head, whole
        first, _, last = spec.removeprefix("bytes=").partition("-")
        end = int(last) if last else len(whole) - 1
        head += b"Content-Range: bytes %d-%d/%d\r\n" % (int(first), end, len(whole))
        return b"206 Partial Content", head, whole[int(first) : end + 1]


def test_a_range_is_not_checked_against_the_whole_objects_checksum(tmp_path: Path) -> None:
    env = {"NFYIO_UPSTREAM_RESPONSE_CHECKSUM_VALIDATION": "when_supported"}
    with gateway_before(_WholeChecksumOnRanges, tmp_path / "data", extra_env=env) as (gw, _):
        s3 = gw.client(response_checksum_validation="when_required")
        s3.create_bucket(Bucket="crc")
        for name, data in OBJECTS.items():
            assert s3.get_object(Bucket="crc", Key=name)["Body"].read() == data
            for spec, part in (("bytes=2-6", data[2:7]), ("bytes=1-", data[1:])):
                ranged = s3.get_object(Bucket="crc", Key=name, Range=spec)
                assert ranged["ResponseMetadata"]["HTTPStatusCode"] == 206, (name, spec)
                assert ranged["Body"].read() == part, (name, spec)
        assert "does not match its checksum" not in gw.log()
