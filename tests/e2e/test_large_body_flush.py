"""Large bodies with fsync on (the default) are flushed while they arrive
(``backends.filesystem.file_writer.FLUSH_EVERY``): through the real gateway, a body of
several flush stretches is stored whole with its MD5 ETag, and a client that goes away
after a few stretches (flushes ran, one may still be running) leaves no temp file, no
descriptor open in the worker, and the object it was replacing intact."""

from __future__ import annotations

import hashlib
import http.client
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from backends.filesystem.file_writer import FLUSH_EVERY
from tests.e2e.gateway_process import Gateway, start_gateway, wait_until

MIB = 1024 * 1024


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    gw = start_gateway(tmp_path / "data", extra_env={"NFYIO_FSYNC": "true"})
    try:
        gw.client().create_bucket(Bucket="big")
        yield gw
    finally:
        gw.stop()


def _open_temp_files(gw: Gateway) -> list[str]:
    processes = [psutil.Process(gw.pid()), *psutil.Process(gw.pid()).children()]
    tmp = str(gw.data_dir / "storage" / "tmp")
    return [f.path for p in processes for f in p.open_files() if f.path.startswith(tmp)]


def test_a_body_of_several_flush_stretches_is_stored_whole(gateway: Gateway) -> None:
    s3: Any = gateway.client()
    body = os.urandom(3 * FLUSH_EVERY + 12_345)
    put = s3.put_object(Bucket="big", Key="k", Body=body)
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert s3.get_object(Bucket="big", Key="k")["Body"].read() == body
    assert gateway.temp_files() == []


def test_a_client_gone_after_some_flushes_leaves_nothing(gateway: Gateway) -> None:
    s3: Any = gateway.client()
    s3.put_object(Bucket="big", Key="k", Body=b"the old object")
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "big", "Key": "k"})
    conn = http.client.HTTPConnection("127.0.0.1", gateway.s3_port, timeout=60)
    conn.putrequest("PUT", url.split(str(gateway.s3_port), 1)[1], skip_accept_encoding=True)
    conn.putheader("Content-Length", str(8 * FLUSH_EVERY))
    conn.endheaders()
    sent = 0
    while sent < 3 * FLUSH_EVERY:
        conn.send(os.urandom(MIB))
        sent += MIB
    wait_until(
        lambda: any(p.stat().st_size >= 2 * FLUSH_EVERY for p in gateway.temp_files()),
        "the PUT's temp file past two flush stretches",
    )
    conn.close()
    wait_until(lambda: not gateway.temp_files(), "the temp file removed")
    wait_until(lambda: not _open_temp_files(gateway), "no temp file left open")
    assert s3.get_object(Bucket="big", Key="k")["Body"].read() == b"the old object"
