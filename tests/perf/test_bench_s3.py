"""Server benchmarks (``make bench``): the real gateway, a load generator on the same machine.

Workloads from the design brief: 4 KiB PUT, 4 KiB GET, HEAD, ListObjectsV2 pages of 1,000
keys on a 10,000-key bucket, and a large PUT/GET. Each reports requests (or MB) per second
in ``extra_info``; nothing here asserts on time. The load generator authenticates with
``X-API-Key`` so that signing in Python does not eat the CPU the server is measured on;
SigV4 verification alone is measured by ``test_bench_sigv4.py``.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.gateway_process import Gateway, start_gateway

CONCURRENCY = 32
SMALL = os.urandom(4096)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workers = str(min(2, os.cpu_count() or 1))
    gw = start_gateway(
        Path(tmp_path_factory.mktemp("bench")) / "data",
        extra_env={"NFYIO_FSYNC": "true", "NFYIO_SERVER_ACCESS_LOG": "false"},
        extra_args=["--workers", workers],
    )
    yield gw
    gw.stop()


def _run_load(
    gw: Gateway, total: int, make: Callable[[aiohttp.ClientSession, int], Awaitable[None]]
) -> float:
    """Run ``total`` requests with ``CONCURRENCY`` in flight; return requests per second."""

    async def main() -> float:
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        headers = {"X-API-Key": gw.secret_key}
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
            counter = iter(range(total))

            async def worker() -> None:
                for i in counter:
                    await make(session, i)

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
            return total / (time.perf_counter() - started)

    return asyncio.run(main())


async def _expect(response: aiohttp.ClientResponse, status: int = 200) -> None:
    await response.read()
    assert response.status == status, response.status


def _bucket(gw: Gateway) -> str:
    name = f"bench-{uuid.uuid4().hex[:10]}"
    gw.client().create_bucket(Bucket=name)
    return name


def _report(benchmark: Any, name: str, rate: float, unit: str = "req/s") -> None:
    benchmark.extra_info[name] = round(rate, 1)
    benchmark.extra_info["unit"] = unit
    print(f"\n{name}: {rate:,.0f} {unit}")


def test_small_put_get_head(benchmark: Any, server: Gateway) -> None:
    bucket = _bucket(server)
    base = f"{server.s3_url}/{bucket}"
    n = 5000

    async def put(session: aiohttp.ClientSession, i: int) -> None:
        async with session.put(f"{base}/k{i}", data=SMALL) as r:
            await _expect(r)

    async def get(session: aiohttp.ClientSession, i: int) -> None:
        async with session.get(f"{base}/k{i % n}") as r:
            await _expect(r)

    async def head(session: aiohttp.ClientSession, i: int) -> None:
        async with session.head(f"{base}/k{i % n}") as r:
            await _expect(r)

    def run() -> None:
        _report(benchmark, "put_4k", _run_load(server, n, put))
        _report(benchmark, "get_4k", _run_load(server, n * 2, get))
        _report(benchmark, "head", _run_load(server, n * 2, head))

    benchmark.pedantic(run, rounds=1, iterations=1)


def test_list_pages(benchmark: Any, server: Gateway) -> None:
    bucket = _bucket(server)
    base = f"{server.s3_url}/{bucket}"

    async def put(session: aiohttp.ClientSession, i: int) -> None:
        async with session.put(f"{base}/dir{i % 10}/key-{i:06d}", data=b"x") as r:
            await _expect(r)

    _run_load(server, 10_000, put)

    async def page(session: aiohttp.ClientSession, i: int) -> None:
        start = f"dir{i % 9}/key-{(i * 7919) % 9000:06d}"
        async with session.get(f"{base}?list-type=2&max-keys=1000&start-after={start}") as r:
            await _expect(r)

    def run() -> None:
        _report(benchmark, "list_v2_1000", _run_load(server, 600, page))

    benchmark.pedantic(run, rounds=1, iterations=1)


def test_large_put_get(benchmark: Any, server: Gateway, tmp_path: Path) -> None:
    bucket = _bucket(server)
    size = 256 * 1024 * 1024
    block = os.urandom(1024 * 1024)

    async def transfer() -> tuple[float, float]:
        url = f"{server.s3_url}/{bucket}/large"
        headers = {"X-API-Key": server.secret_key}

        async def body() -> Any:
            for _ in range(size // len(block)):
                yield block

        async with aiohttp.ClientSession(headers=headers) as session:
            started = time.perf_counter()
            async with session.put(url, data=body(), headers={"Content-Length": str(size)}) as r:
                await _expect(r)
            put_rate = size / (time.perf_counter() - started) / 1e6
            started = time.perf_counter()
            async with session.get(url) as r:
                async for _ in r.content.iter_chunked(1024 * 1024):
                    pass
            get_rate = size / (time.perf_counter() - started) / 1e6
        return put_rate, get_rate

    def run() -> None:
        put_rate, get_rate = asyncio.run(transfer())
        _report(benchmark, "put_256MiB", put_rate, "MB/s")
        _report(benchmark, "get_256MiB", get_rate, "MB/s")

    benchmark.pedantic(run, rounds=1, iterations=1)


def _fill_versions(storage: Path, buckets: dict[str, tuple[int, int]]) -> None:
    """Write (keys x versions per key) version rows straight into a data directory, in
    large transactions (no bodies: a listing never opens them)."""
    from backends.filesystem import FilesystemBackend
    from backends.filesystem.metadb import ObjectRow, now_us
    from backends.filesystem.versions import bucket_state, write_version

    async def fill() -> None:
        fs = FilesystemBackend(storage, fsync=False)
        await fs.start()
        try:
            for bucket, (keys, versions) in buckets.items():
                await fs.create_bucket(bucket)
                await fs.put_bucket_versioning(bucket, "Enabled")
                for v in range(versions):
                    with fs.db.write() as conn:
                        state = bucket_state(conn, bucket)
                        assert state is not None
                        for k in range(keys):
                            row = ObjectRow(
                                f"dir{k % 10}/key-{k:06d}".encode(),
                                1,
                                "0cc175b9c0f1b6a831c399e269772661",
                                now_us(),
                                '{"content_type":"binary/octet-stream"}',
                                "{}",
                                None,
                                f"{v:08x}{k:024x}",
                            )
                            write_version(conn, bucket, state, row, None)
        finally:
            await fs.close()

    asyncio.run(fill())


def test_list_versions_pages(benchmark: Any, tmp_path: Path) -> None:
    """ListObjectVersions pages of 1,000 entries from random key markers, on 10k and on
    100k versions (100 per key): the page rate must not depend on the total."""
    data = tmp_path / "data"
    _fill_versions(data / "storage", {"v10k": (100, 100), "v100k": (1000, 100)})
    workers = str(min(2, os.cpu_count() or 1))
    gw = start_gateway(
        data,
        extra_env={"NFYIO_FSYNC": "true", "NFYIO_SERVER_ACCESS_LOG": "false"},
        extra_args=["--workers", workers],
    )

    def pages(bucket: str, keys: int) -> Callable[[aiohttp.ClientSession, int], Awaitable[None]]:
        async def page(session: aiohttp.ClientSession, i: int) -> None:
            k = (i * 7919) % (keys - 10)
            marker = f"dir{k % 10}/key-{k:06d}"
            url = f"{gw.s3_url}/{bucket}?versions&max-keys=1000&key-marker={marker}"
            async with session.get(url) as r:
                await _expect(r)

        return page

    def run() -> None:
        _report(benchmark, "list_versions_1000_10k", _run_load(gw, 300, pages("v10k", 100)))
        _report(benchmark, "list_versions_1000_100k", _run_load(gw, 300, pages("v100k", 1000)))

    try:
        benchmark.pedantic(run, rounds=1, iterations=1)
    finally:
        gw.stop()
