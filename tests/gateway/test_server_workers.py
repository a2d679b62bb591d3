"""The parent of ``--workers N`` says "ready" only once every worker listens."""

from __future__ import annotations

import multiprocessing
import os
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from gateway.server import _await_listening


def _listens_after(delay: float, listening: Connection) -> None:
    time.sleep(delay)
    listening.send(os.getpid())
    time.sleep(1.5)  # still serving


def _dies(_listening: Connection) -> None:
    os._exit(3)


def test_waits_for_the_slowest_worker() -> None:
    context = multiprocessing.get_context("fork")
    heard, listening = context.Pipe(duplex=False)
    processes: list[BaseProcess] = [
        context.Process(target=_listens_after, args=(delay, listening)) for delay in (0, 0.6)
    ]
    started = time.monotonic()
    for process in processes:
        process.start()
    assert _await_listening(heard, processes)
    assert time.monotonic() - started >= 0.6
    for process in processes:
        process.join()


def test_a_worker_that_dies_ends_the_wait() -> None:
    context = multiprocessing.get_context("fork")
    heard, listening = context.Pipe(duplex=False)
    processes: list[BaseProcess] = [
        context.Process(target=_listens_after, args=(0, listening)),
        context.Process(target=_dies, args=(listening,)),
    ]
    for process in processes:
        process.start()
    assert not _await_listening(heard, processes)
    for process in processes:
        process.join()
    assert processes[1].exitcode == 3
