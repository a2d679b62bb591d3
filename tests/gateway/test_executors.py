"""Hashing runs on its own bounded pool; a full queue is refused at once."""

from __future__ import annotations

import asyncio
import threading

import pytest

from gateway.executors import Executors, HashQueueFull, install_default_executor


def _thread_name() -> str:
    return threading.current_thread().name


async def test_to_thread_inside_the_gate_runs_on_the_hashing_pool() -> None:
    executors = Executors(hash_threads=1, hash_queue=4)
    install_default_executor(asyncio.get_running_loop(), executors)
    try:
        inside = await executors.hashing.run(lambda: asyncio.to_thread(_thread_name))
        outside = await asyncio.to_thread(_thread_name)
    finally:
        executors.close()
    assert inside.startswith("hash")
    assert outside.startswith("asyncio")


async def test_beyond_threads_plus_queue_calls_are_refused() -> None:
    executors = Executors(hash_threads=1, hash_queue=1)
    release = asyncio.Event()

    async def hold() -> None:
        await release.wait()

    gate = executors.hashing
    try:
        running = [asyncio.create_task(gate.run(hold)) for _ in range(2)]
        await asyncio.sleep(0)
        assert gate.admitted == 2
        with pytest.raises(HashQueueFull) as refused:
            await gate.run(hold)
        assert refused.value.retry_after >= 1
        release.set()
        await asyncio.gather(*running)
        assert gate.admitted == 0
        await gate.run(hold)  # admitted again once drained
    finally:
        executors.close()
