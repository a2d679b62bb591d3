"""``Inflight``: shutdown's wait for the requests being handled. It answers at once when
none is, waits for the last one to end (not for ones that begin after that moment), gives
up after its grace, and every waiter is woken."""

from __future__ import annotations

import asyncio

from gateway.state import Inflight


async def test_idle_answers_at_once() -> None:
    inflight = Inflight()
    assert await inflight.wait_idle(0.01)
    inflight.enter()
    inflight.leave()
    assert await inflight.wait_idle(0.01)


async def test_waits_for_the_last_request_and_its_grace() -> None:
    inflight = Inflight()
    inflight.enter()
    inflight.enter()
    assert not await inflight.wait_idle(0.01)  # both still running: the grace ends
    waiters = [asyncio.ensure_future(inflight.wait_idle(30)) for _ in range(2)]
    await asyncio.sleep(0)
    inflight.leave()
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)  # one still running
    inflight.leave()
    inflight.enter()  # a request that begins after the idle moment is not waited for
    assert await asyncio.gather(*waiters) == [True, True]
    # a later wait is for the requests running then
    later = asyncio.ensure_future(inflight.wait_idle(30))
    for _ in range(20):  # loop turns enough for a wait on the earlier moment to end
        await asyncio.sleep(0)
    assert not later.done()
    inflight.leave()
    assert await later
    assert inflight.count == 0
