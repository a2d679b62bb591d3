"""With direct writes on (``NFYIO_DIRECT_WRITES``) and fsync on, the bytes of a large
body past ``DIRECT_FROM`` are written past the page cache (O_DIRECT). Through boto3: a single PUT
and a multipart upload whose parts cross that offset come back byte for byte with the
ETags S3 gives, whole and ranged, and an overwrite that fails keeps the old object."""

from __future__ import annotations

import hashlib
import http.client
import io
import os
import time
from collections.abc import Iterator

import pytest
from boto3.s3.transfer import TransferConfig

from backends.filesystem.file_writer import BATCH, DIRECT_FROM
from tests.e2e.gateway_process import Gateway, start_gateway

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = start_gateway(
        tmp_path_factory.mktemp("direct") / "data",
        extra_env={"NFYIO_FSYNC": "true", "NFYIO_DIRECT_WRITES": "true"},
    )
    try:
        gw.client().create_bucket(Bucket="direct")
        yield gw
    finally:
        gw.stop()


def test_single_put_across_the_boundary(synced: Gateway) -> None:
    s3 = synced.client()
    data = os.urandom(DIRECT_FROM + 5 * BATCH + 4097)
    put = s3.put_object(Bucket="direct", Key="one", Body=data)
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert s3.get_object(Bucket="direct", Key="one")["Body"].read() == data
    first, last = DIRECT_FROM - 10, DIRECT_FROM + BATCH + 10
    ranged = s3.get_object(Bucket="direct", Key="one", Range=f"bytes={first}-{last}")
    assert ranged["Body"].read() == data[first : last + 1]


def test_multipart_parts_across_the_boundary(synced: Gateway) -> None:
    s3 = synced.client()
    part = 6 * MIB + 1  # above boto3's 5 MiB floor; every part crosses DIRECT_FROM
    data = os.urandom(2 * part + 12_345)
    config = TransferConfig(multipart_threshold=part, multipart_chunksize=part)
    s3.upload_fileobj(io.BytesIO(data), "direct", "multi", Config=config)
    head = s3.head_object(Bucket="direct", Key="multi")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-3"')
    out = io.BytesIO()
    s3.download_fileobj("direct", "multi", out)
    assert out.getvalue() == data


def test_a_body_cut_short_past_the_boundary_keeps_the_old_object(synced: Gateway) -> None:
    s3 = synced.client()
    s3.put_object(Bucket="direct", Key="kept", Body=b"old bytes")
    # A client that announces more than it sends, then hangs up, after DIRECT_FROM
    # plus a few batches: the server reads, writes past the page cache, then fails.
    size = DIRECT_FROM + 4 * BATCH
    presigned = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "direct", "Key": "kept"}, ExpiresIn=60
    )
    path = presigned.split(str(synced.s3_port), 1)[1]
    conn = http.client.HTTPConnection("127.0.0.1", synced.s3_port, timeout=30)
    conn.putrequest("PUT", path, skip_accept_encoding=True)
    conn.putheader("Content-Length", str(size + MIB))
    conn.endheaders()
    block = os.urandom(MIB)
    for _ in range(size // MIB):
        conn.send(block)
    conn.close()
    assert s3.get_object(Bucket="direct", Key="kept")["Body"].read() == b"old bytes"
    tmp = synced.data_dir / "storage" / "tmp"  # each process's own directory in it

    def temp_files() -> list[str]:
        return [str(p) for p in tmp.rglob("*") if p.is_file()]

    deadline = time.monotonic() + 10  # the server learns of the hang-up asynchronously
    while temp_files() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert temp_files() == []
