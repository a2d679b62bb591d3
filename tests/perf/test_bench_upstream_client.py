"""The upstream backend's own CPU per operation, lean client against aiobotocore.

``S3Backend`` in this process against SeaweedFS in another; the process CPU time
(``time.process_time``) spent per backend call is what the gateway pays per proxied
request on top of its own request handling. Reported in ``extra_info`` and printed
(``-s``); nothing asserts on time.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any

import pytest

from backends import ObjectMeta
from backends.s3 import S3Backend, UpstreamConfig
from tests.services.seaweedfs import SeaweedFS

CONCURRENCY = 8
SMALL = bytes(range(256)) * 16  # 4 KiB


class Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        yield self._data

    @property
    def checksums(self) -> Mapping[str, str]:
        return {}


async def _cpu_per_call(count: int, call: Callable[[int], Awaitable[Any]]) -> float:
    """Microseconds of this process's CPU per call, ``CONCURRENCY`` calls in flight."""
    numbers = iter(range(count))

    async def worker() -> None:
        for i in numbers:
            await call(i)

    started = time.process_time()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return (time.process_time() - started) / count * 1e6


async def _measure(weed: SeaweedFS, *, fast_path: bool) -> dict[str, float]:
    backend = S3Backend(
        UpstreamConfig(
            endpoint_url=weed.endpoint_url,
            access_key_id=weed.access_key,
            secret_access_key=weed.secret_key,
            bucket_prefix=f"b{uuid.uuid4().hex[:8]}-",
            fast_path=fast_path,
        )
    )
    await backend.start()
    try:
        await backend.create_bucket("bench")
        n = 1000

        async def put(i: int) -> None:
            await backend.put_object(
                "bench", f"k{i:05d}", Body(SMALL), ObjectMeta(), size_hint=4096
            )

        async def get(i: int) -> None:
            read = await backend.get_object("bench", f"k{i % n:05d}")
            async for _ in read.body:
                pass

        async def head(i: int) -> None:
            await backend.head_object("bench", f"k{i % n:05d}")

        async def page(i: int) -> None:
            listed = await backend.list_objects("bench", max_keys=1000)
            assert len(listed.objects) == n

        return {
            "put_4k_us": await _cpu_per_call(n, put),
            "get_4k_us": await _cpu_per_call(2 * n, get),
            "head_us": await _cpu_per_call(2 * n, head),
            "list_1000_us": await _cpu_per_call(40, page),
        }
    finally:
        await backend.close()


@pytest.fixture(scope="module")
def weed(seaweedfs: SeaweedFS) -> Iterator[SeaweedFS]:
    yield seaweedfs


def test_upstream_client_cpu_per_operation(benchmark: Any, weed: SeaweedFS) -> None:
    results: dict[str, dict[str, float]] = {}

    def run() -> None:
        # interleaved: aiobotocore, lean, aiobotocore, lean
        for round_ in range(2):
            for name, fast in (("aiobotocore", False), ("lean", True)):
                measured = asyncio.run(_measure(weed, fast_path=fast))
                results[f"{name}-{round_}"] = measured

    benchmark.pedantic(run, rounds=1, iterations=1)
    print()
    for name, measured in results.items():
        line = "  ".join(f"{k}={v:,.0f}" for k, v in measured.items())
        print(f"{name:14} {line}")
        benchmark.extra_info[name] = {k: round(v) for k, v in measured.items()}
