"""The backends' hot operations leave no reference cycle of ours behind (``tests/cycles.py``):
a proxied answer and its llhttp parser held each other until the cyclic collector freed
them, ~20 us of CPU per proxied request (docs/performance.md, thirty-seventh sitting)."""

from __future__ import annotations

from tests.backends.test_contract import Env, read_all
from tests.cycles import cycles_of_ours, describe

ROUNDS = 5
DATA = b"x" * 4096


async def test_object_reads_and_writes_leave_no_cycles(env: Env) -> None:
    backend = env.backend
    await backend.create_bucket("cycles")
    await env.put("cycles", "warm", DATA)  # imports, pools and memos settle first
    assert await env.get("cycles", "warm") == DATA
    with cycles_of_ours() as found:
        for i in range(ROUNDS):
            await env.put("cycles", f"k{i}", DATA)
            assert (await backend.head_object("cycles", f"k{i}")).size == len(DATA)
            assert await read_all(await backend.get_object("cycles", f"k{i}")) == DATA
            page = await backend.list_objects("cycles", prefix="k")
            assert len(page.objects) == i + 1
    assert not found, f"left to the cyclic collector: {describe(found)}"
