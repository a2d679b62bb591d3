"""Runs ``python -m gateway.cli ...`` with the cyclic collector's work tallied per process.

Used by ``tests/perf/collector.py`` as the gateway's wrapper: ``python collector_probe.py
<python> -m gateway.cli serve ...``. Every process of the gateway (forked workers inherit
the callback and the handlers) tallies the time of each collection, collections per
generation and the objects freed; SIGUSR1 zeroes the tallies, SIGUSR2 appends them as one
JSON line (with the pid) to the file named by ``NFYIO_COLLECTOR_PROBE``.
"""

from __future__ import annotations

import gc
import json
import os
import runpy
import signal
import sys
import time
from types import FrameType
from typing import Any

_tally: dict[str, Any] = {}
_started = [0.0]


def _zero(*_: object) -> None:
    _tally.update(seconds=0.0, collections=[0, 0, 0], collected=0)


def _dump(_signum: int, _frame: FrameType | None) -> None:
    with open(os.environ["NFYIO_COLLECTOR_PROBE"], "a", encoding="utf-8") as out:
        out.write(json.dumps({**_tally, "pid": os.getpid()}) + "\n")


def _on_collection(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
        return
    _tally["seconds"] += time.perf_counter() - _started[0]
    _tally["collections"][info["generation"]] += 1
    _tally["collected"] += info["collected"]


def main() -> None:
    _zero()
    gc.callbacks.append(_on_collection)
    signal.signal(signal.SIGUSR1, _zero)
    signal.signal(signal.SIGUSR2, _dump)
    sys.argv = [sys.argv[3], *sys.argv[4:]]  # as ``python -m gateway.cli`` sees them
    runpy.run_module("gateway.cli", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
