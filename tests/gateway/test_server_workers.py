"""The parent of ``--workers N`` says "ready" only once every worker listens."""

from __future__ import annotations

import multiprocessing
import os
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event

from gateway.server import MAX_RESTARTS, _await_listening, _supervise


def _listens_after(delay: float, listening: Connection, done: Event) -> None:
    time.sleep(delay)
    listening.send(os.getpid())
    # Still serving until the test is done with it: a worker that left on its own after a
    # fixed time could be gone before a slowly started sibling listens, ending the wait.
    done.wait(60)


def _dies(_listening: Connection) -> None:
    os._exit(3)


def test_waits_for_the_slowest_worker() -> None:
    context = multiprocessing.get_context("fork")
    heard, listening = context.Pipe(duplex=False)
    done = context.Event()
    processes: list[BaseProcess] = [
        context.Process(target=_listens_after, args=(delay, listening, done)) for delay in (0, 0.6)
    ]
    started = time.monotonic()
    for process in processes:
        process.start()
    try:
        assert _await_listening(heard, processes)
        assert time.monotonic() - started >= 0.6
    finally:
        done.set()
        for process in processes:
            process.join()


def test_a_worker_that_dies_ends_the_wait() -> None:
    context = multiprocessing.get_context("fork")
    heard, listening = context.Pipe(duplex=False)
    done = context.Event()
    processes: list[BaseProcess] = [
        context.Process(target=_listens_after, args=(0, listening, done)),
        context.Process(target=_dies, args=(listening,)),
    ]
    for process in processes:
        process.start()
    try:
        assert not _await_listening(heard, processes)
    finally:
        done.set()
        for process in processes:
            process.join()
    assert processes[1].exitcode == 3


def test_workers_found_dead_together_are_replaced_and_counted() -> None:
    """Workers already dead when the supervisor looks (every one of them: the OOM killer
    can take them all at once, and replacements can die before the next look) are each
    replaced and counted; past ``MAX_RESTARTS`` the supervisor stops, failed. It used to
    find no worker running and return as if the gateway had been stopped (exit 0)."""
    context = multiprocessing.get_context("fork")
    heard, listening = context.Pipe(duplex=False)
    spawned: list[BaseProcess] = []

    def spawn() -> BaseProcess:
        process = context.Process(target=_dies, args=(listening,))
        process.start()
        process.join()  # dead before the supervisor looks
        spawned.append(process)
        return process

    processes = [spawn(), spawn()]
    stops: list[bool] = []
    failed = _supervise(
        processes, spawn, heard, stop=lambda: stops.append(True), stopping=lambda: bool(stops)
    )
    assert failed and stops == [True]
    assert len(spawned) == 2 + MAX_RESTARTS  # each exit replaced until the limit
    assert all(process.exitcode == 3 for process in spawned)
