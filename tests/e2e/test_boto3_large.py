"""256 MiB through boto3 while the gateway's RSS stays flat (memory, never time, is
asserted). HTTP only: HTTPS would double the run time without exercising more memory
paths than the smaller aws-chunked tests already do."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
from boto3.s3.transfer import TransferConfig

from tests.e2e.gateway_process import Gateway

MIB = 1024 * 1024
SIZE = 256 * MIB
RSS_BOUND = 150 * MIB


class GeneratedFile:
    """A read-only, non-seekable file of ``size`` bytes made on the fly (never held whole)."""

    def __init__(self, size: int, seed: bytes) -> None:
        self._block = hashlib.shake_256(seed).digest(MIB)
        self._size = size
        self._pos = 0
        self.sha256 = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        remaining = self._size - self._pos
        if n < 0 or n > remaining:
            n = remaining
        out = bytearray()
        while len(out) < n:
            index, offset = divmod(self._pos + len(out), MIB)
            chunk = bytearray(self._block[offset : offset + n - len(out)])
            if offset < 8:
                stamp = index.to_bytes(8, "big")[offset:]
                chunk[: len(stamp)] = stamp[: len(chunk)]
            out += chunk
        self._pos += n
        data = bytes(out)
        self.sha256.update(data)
        return data


@contextmanager
def peak_rss(pid: int) -> Iterator[dict[str, int]]:
    process = psutil.Process(pid)
    result = {"baseline": process.memory_info().rss, "peak": 0}
    result["peak"] = result["baseline"]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            result["peak"] = max(result["peak"], process.memory_info().rss)
            stop.wait(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(4 * MIB):
            digest.update(block)
    return digest.hexdigest()


def test_large_multipart_upload_and_download(gateway: Gateway, tmp_path: Path) -> None:
    s3: Any = gateway.client()
    bucket = f"e2e-large-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    source = GeneratedFile(SIZE, b"multipart")
    config = TransferConfig(
        multipart_threshold=8 * MIB, multipart_chunksize=16 * MIB, max_concurrency=4
    )
    with peak_rss(gateway.pid()) as rss:
        s3.upload_fileobj(source, bucket, "big", Config=config)
        target = tmp_path / "down.bin"
        s3.download_file(bucket, "big", str(target), Config=config)
    growth = rss["peak"] - rss["baseline"]
    assert growth < RSS_BOUND, f"gateway RSS grew by {growth / MIB:.1f} MiB"
    head = s3.head_object(Bucket=bucket, Key="big")
    assert head["ContentLength"] == SIZE
    assert head["ETag"].endswith('-16"')
    assert target.stat().st_size == SIZE
    assert sha256_file(target) == source.sha256.hexdigest()
    target.unlink()
    s3.delete_object(Bucket=bucket, Key="big")


def test_large_single_put_from_file(gateway: Gateway, tmp_path: Path) -> None:
    s3: Any = gateway.client()
    bucket = f"e2e-large-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    path = tmp_path / "up.bin"
    generated = GeneratedFile(SIZE, b"single")
    with path.open("wb") as handle:
        while block := generated.read(8 * MIB):
            handle.write(block)
    with peak_rss(gateway.pid()) as rss:
        with path.open("rb") as body:
            put = s3.put_object(Bucket=bucket, Key="one", Body=body)
        got = s3.get_object(Bucket=bucket, Key="one")
        digest = hashlib.sha256()
        size = 0
        target = tmp_path / "down.bin"
        with target.open("wb") as out:
            for block in got["Body"].iter_chunks(4 * MIB):
                digest.update(block)
                size += len(block)
                out.write(block)
    growth = rss["peak"] - rss["baseline"]
    assert growth < RSS_BOUND, f"gateway RSS grew by {growth / MIB:.1f} MiB"
    assert size == SIZE
    assert digest.hexdigest() == generated.sha256.hexdigest()
    assert "-" not in put["ETag"]
    path.unlink()
    target.unlink()
    s3.delete_object(Bucket=bucket, Key="one")
