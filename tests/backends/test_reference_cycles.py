"""The backends' hot operations leave no reference cycle of ours behind (``tests/cycles.py``):
a proxied answer and its llhttp parser held each other until the cyclic collector freed
them, ~20 us of CPU per proxied request (docs/performance.md, thirty-seventh sitting).

Their errors neither: a frame on a raised error's traceback that holds the error in a
local (the filesystem's ``error = no_such_key(key); raise error``, the upstream
translation's ``raise error from exc``) made a cycle on every 404 (docs/architecture.md,
"Errors let go of their tracebacks")."""

from __future__ import annotations

import pytest

from backends.errors import BackendError
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


async def test_missing_keys_and_buckets_leave_no_cycles(env: Env) -> None:
    backend = env.backend
    await backend.create_bucket("cycles")

    async def refused() -> None:
        for bucket, code in (("cycles", "NoSuchKey"), ("nobucket", "NoSuchBucket")):
            with pytest.raises(BackendError) as head:
                await backend.head_object(bucket, "missing")
            assert head.value.code == code
            with pytest.raises(BackendError) as get:
                await backend.get_object(bucket, "missing")
            assert get.value.code == code
            # upstream through aiobotocore (the lean client serves HEAD and GET)
            with pytest.raises(BackendError) as tags:
                await backend.get_object_tagging(bucket, "missing")
            assert tags.value.code == code
            del head, get, tags  # the test's own references: the errors go with the block

    await refused()  # imports, pools and memos settle first
    with cycles_of_ours() as found:
        for _ in range(ROUNDS):
            await refused()
    assert not found, f"left to the cyclic collector: {describe(found)}"
